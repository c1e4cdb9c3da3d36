"""The tables behind the board's plots (pure data, no ``st.*``); every plot shows its table one click away."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from transeval.core.errors import TransevalError
from transeval.dashboard.data import Board, chance_level, latest, leaf_tasks, lm_eval_metrics, num
from transeval.harness.judging.store import read_scores

SAFETY_METRICS = ("refusal_rate", "refusal_rate_judge", "wrong_language_rate", "switching_rate")


def _chosen(board: Board, models: Sequence[str] | None) -> pd.DataFrame:
    rows = latest(board.rows)
    return rows if not models else rows[rows["model"].isin(models)]


def categories(board: Board, task: str, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Per-category mean judge score of a judged task (MT-bench: 8 categories, for the radar)."""
    out = []
    rows = _chosen(board, models)
    for _, r in rows[(rows["task"] == task) & (rows["metric"] == "score") & (rows["status"] == "ok")].iterrows():
        run = next(x for x in board.runs if str(x.results_path) == r["run"])
        try:
            s = read_scores(run.scores_path(task)).get("score")
        except TransevalError:
            continue
        for cat, est in (s.per_category.items() if s else []):
            out.append({"model": r["alias"], "category": cat, "score": est.mean, "ci_low": est.ci_low,
                        "ci_high": est.ci_high, "n": est.n})
    return pd.DataFrame(out, columns=["model", "category", "score", "ci_low", "ci_high", "n"])


def sub_metrics(board: Board, prefix: str, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Turn (``turn``) or aspect rows of judged tasks: model, task, part, score, CI."""
    rows = _chosen(board, models)
    rows = rows[rows["metric"].str.startswith("score/")]
    parts = rows["metric"].str.split("/").str[1]
    rows = rows[parts.str.startswith("turn")] if prefix == "turn" else rows[~parts.str.startswith("turn")]
    return pd.DataFrame({"model": rows["alias"], "task": rows["task"], "part": rows["metric"].str.split("/").str[1],
                         "score": rows["score"], "ci_low": rows["ci_low"], "ci_high": rows["ci_high"],
                         "judge": rows["judge"]}).reset_index(drop=True)


def knowledge(board: Board, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Accuracy per subject (leaf task) of multiple-choice tasks, with the chance level."""
    out = []
    rows = _chosen(board, models)
    seen = set()
    for _, r in rows[rows["headline"] & rows["chance"].notna()].iterrows():
        run = next(x for x in board.runs if str(x.results_path) == r["run"])
        for leaf in leaf_tasks(run, str(r["task"])):
            if (r["model"], leaf) in seen:
                continue
            seen.add((r["model"], leaf))
            m = next((x for x in lm_eval_metrics(run, leaf) if x["headline"]), None)
            if m is None:
                continue
            out.append({"model": r["alias"], "group": r["task"], "subject": leaf, "metric": m["metric"],
                        "score": m["score"], "ci_low": m["ci_low"], "ci_high": m["ci_high"],
                        "chance": chance_level(run, leaf)})
    return pd.DataFrame(out, columns=["model", "group", "subject", "metric", "score", "ci_low", "ci_high", "chance"])


def safety(board: Board, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Refusal, wrong-language and switching rates per model, task and language."""
    rows = _chosen(board, models)
    base = rows["metric"].str.split(" ").str[0].str.split("/").str[0]
    rows = rows[base.isin(SAFETY_METRICS) | rows["metric"].str.endswith(SAFETY_METRICS)]
    return pd.DataFrame({"model": rows["alias"], "task": rows["task"], "language": rows["language"],
                         "metric": rows["metric"], "rate": rows["score"], "ci_low": rows["ci_low"],
                         "ci_high": rows["ci_high"], "n": rows["n_total"]}).reset_index(drop=True)


def win_rates(board: Board) -> pd.DataFrame:
    """Pairwise win rates (ties count half) with their Wilson intervals, one row per comparison and task."""
    comp = board.comparisons[board.comparisons["wins"].notna()]
    names = dict(zip(board.rows["model"], board.rows["alias"], strict=True))
    df = comp.assign(pair=[f"{names.get(a, a)} vs {names.get(b, b)}" for a, b in
                           zip(comp["model_a"], comp["model_b"], strict=True)])
    return df[["pair", "task", "metric", "win_rate", "ci_low", "ci_high", "wins", "ties", "losses", "lc_win_rate",
               "judge"]].reset_index(drop=True)


def has_numbers(df: pd.DataFrame, column: str) -> bool:
    """Whether a plot table has anything to draw."""
    return not df.empty and any(num(v) is not None for v in df[column])
