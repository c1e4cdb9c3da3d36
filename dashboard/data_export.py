r"""Static leaderboard export (Markdown, HTML, LaTeX, CSV) for a paper or README, and safe CSV downloads.

An export is the page's leaderboard (:func:`transeval.dashboard.data_table.leader_table`, the same columns and
the same ``--metrics`` choice) with the page's caveats under it: demo judge, mixed judges, partial runs, the
judges behind each task, what n and ± mean, which metrics are lower-is-better and what was never judged.

Every text cell is made inert for its format: CSV cells that a spreadsheet would evaluate as a formula get a
leading ``'`` (OWASP "CSV Injection": cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return);
LaTeX escapes its ten special characters plus ``<``, ``>``, ``|``, ``"`` and brackets (a row starting with ``[``
would otherwise be read as ``\\[length]``); Markdown escapes its punctuation and writes ``&``, ``<``, ``>`` as
entities; HTML escapes everything with :func:`html.escape`.
"""

from __future__ import annotations

import csv
import html
import io
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
from transeval.core.errors import TransevalError
from transeval.dashboard.data import Board, load_board
from transeval.dashboard.data_table import LeaderTable, leader_table

FORMATS = (".md", ".html", ".tex", ".csv")
#: First characters a spreadsheet reads as a formula (OWASP CSV Injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: object) -> object:
    """A CSV cell a spreadsheet shows as text: strings starting like a formula get a leading ``'``."""
    if isinstance(cell, str) and cell.startswith(FORMULA_START):
        return "'" + cell
    return cell


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell and header :func:`neutralise` d (numbers stay numbers)."""
    out = df.copy()
    out.columns = [str(neutralise(str(c))) for c in df.columns]
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = [neutralise(v) for v in out[col]]
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV of ``df`` safe to open in a spreadsheet (every download on the board goes through this)."""
    return safe_frame(df).to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC).encode("utf-8")


def export_frame(table: LeaderTable) -> pd.DataFrame:
    """The leaderboard as text cells (``6.10 ±0.60 (160) · 5% unscored``), the full model name beside the alias."""
    cells = table.cells
    out = pd.DataFrame({"model": cells["alias"], "full name": cells["model"]})
    for c in table.columns:
        out[c.label] = cells[c.label]
    return out


def _md(cell: object) -> str:
    text = str(cell).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\`*_[]|~":
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.splitlines()) if "\n" in text or "\r" in text else text


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
        "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
        ">": r"\textgreater{}", "|": r"\textbar{}", '"': r"\textquotedbl{}", "[": "{[}", "]": "{]}",
        "†": r"$^\dagger$", "±": r"$\pm$", "↓": r"$\downarrow$", "–": "--", "—": "---", "\n": " ", "\r": " "}


def _tex(cell: object) -> str:
    return "".join(_TEX.get(c, c) for c in str(cell))


def render_table(table: LeaderTable, suffix: str) -> str:
    """The leaderboard and its caveats as Markdown, HTML, LaTeX or CSV text."""
    df = export_frame(table)
    cols = list(df.columns)
    notes = list(table.caveats)
    if suffix == ".md":
        lines = ["| " + " | ".join(_md(c) for c in cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(_md(v) for v in row) + " |" for row in df.itertuples(index=False)]
        return "\n".join(lines) + "\n\n" + "\n".join(f"- {_md(n)}" for n in notes) + "\n"
    if suffix == ".html":
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                       for row in df.itertuples(index=False))
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>transeval leaderboard</title></head>"
                f"<body><table border=\"1\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<ul>{items}</ul></body></html>\n")
    if suffix == ".tex":
        lines = [r"\begin{tabular}{" + "l" * len(cols) + "}", r"\hline",
                 " & ".join(_tex(c) for c in cols) + r" \\", r"\hline"]
        lines += [" & ".join(_tex(v) for v in row) + r" \\" for row in df.itertuples(index=False)]
        lines += [r"\hline", r"\end{tabular}", "", r"\begin{itemize}\footnotesize"]
        lines += [r"\item " + _tex(n) for n in notes]
        lines += [r"\end{itemize}"]
        return "\n".join(lines) + "\n"
    if suffix == ".csv":
        buf = io.StringIO()
        safe_frame(df).to_csv(buf, index=False, quoting=csv.QUOTE_NONNUMERIC)
        buf.write("\n")
        safe_frame(pd.DataFrame({"note": notes})).to_csv(buf, index=False, quoting=csv.QUOTE_NONNUMERIC)
        return buf.getvalue()
    raise ValueError(f"unknown export format {suffix!r} (use {', '.join(FORMATS)})")


def render(board: Board, suffix: str, metrics: Iterable[str] | None = None,
           models: Sequence[str] | None = None) -> str:
    """The leaderboard of ``board`` (columns ``metrics``, default the first screen's) in the ``suffix`` format."""
    return render_table(leader_table(board, metrics, models), suffix)


def write_export(root: Path, out: Path, metrics: Iterable[str] | None = None) -> Path:
    """Write the leaderboard of the runs folder ``root`` to ``out`` (format by suffix) and return ``out``.

    Raises:
        TransevalError: for a missing folder, an unknown suffix or an unknown metric.
    """
    if not root.is_dir():
        raise TransevalError("no such folder", file=root)
    if out.suffix.lower() not in FORMATS:
        raise TransevalError(f"unknown export format (use {', '.join(FORMATS)})", file=out)
    board = load_board(root)
    for p in board.problems:
        print(f"transeval: warning: {p.file}: {p.message}", file=sys.stderr)
    if board.rows.empty:
        raise TransevalError("no runs with numbers to export in this folder", file=root)
    text = render(board, out.suffix.lower(), metrics)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
