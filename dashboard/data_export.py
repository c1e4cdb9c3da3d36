"""Static leaderboard export (Markdown, HTML, LaTeX) for a paper or README: no server (pure data)."""

from __future__ import annotations

import html

import pandas as pd
from transeval.dashboard.data import Board, column_metrics, fmt, wide

FORMATS = (".md", ".html", ".tex")


def export_table(board: Board) -> pd.DataFrame:
    """The leaderboard as text cells: ``score [low, high]`` per task (one rounding rule) and suite averages."""
    table = wide(board)
    metrics = column_metrics(board, table)
    out = pd.DataFrame({"model": table.get("alias", pd.Series(dtype=str)), "full name": table.get("model")})
    for col in table.columns:
        if " · " not in col or col.endswith((" CI", " n", " avg n")):
            continue
        m = metrics.get(col, "")
        if col.endswith(" · avg"):
            out[col] = [f"{fmt(v, m)} ({n})" if fmt(v) != "–" else "–" for v, n in
                        zip(table[col], table[col + " n"], strict=True)]
            continue
        out[col] = [fmt(v, m) + (f" {ci}" if ci and ci != "–" else "") + (" †" if n and "/" not in str(n) else "")
                    for v, ci, n in zip(table[col], table[col + " CI"], table[col + " n"], strict=True)]
    out["partial"] = ["yes" if p else "" for p in table.get("partial", [])]
    return out


def _md(cell: object) -> str:
    text = str(cell)
    for ch in "\\`*_[]<>|":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", " ")


def _tex(cell: object) -> str:
    repl = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "†": r"$^\dagger$"}
    return "".join(repl.get(c, c) for c in str(cell))


NOTE = ("score [95% CI]; proportions in %, other scores to 2 decimals; a suite's avg is over its complete members "
        "(k/m); † = not judged yet; partial = run limited with --limit.")


def render(board: Board, suffix: str) -> str:
    """The leaderboard as Markdown (``.md``), HTML (``.html``) or LaTeX (``.tex``) text."""
    df = export_table(board)
    cols = list(df.columns)
    if suffix == ".md":
        lines = ["| " + " | ".join(_md(c) for c in cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(_md(v) for v in row) + " |" for row in df.itertuples(index=False)]
        return "\n".join(lines) + f"\n\n{_md(NOTE)}\n"
    if suffix == ".html":
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                       for row in df.itertuples(index=False))
        return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>transeval leaderboard</title></head>"
                f"<body><table border=\"1\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<p>{html.escape(NOTE)}</p></body></html>\n")
    if suffix == ".tex":
        lines = [r"\begin{tabular}{" + "l" * len(cols) + "}", r"\hline",
                 " & ".join(_tex(c) for c in cols) + r" \\", r"\hline"]
        lines += [" & ".join(_tex(v) for v in row) + r" \\" for row in df.itertuples(index=False)]
        lines += [r"\hline", r"\end{tabular}", "% " + NOTE]
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown export format {suffix!r} (use {', '.join(FORMATS)})")
