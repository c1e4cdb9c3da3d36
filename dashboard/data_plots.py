"""The tables behind the board's plots (pure data, no ``st.*``); every plot shows its table one click away.

Rules every plot table follows (tested): one row per (chart, x, model), so a bar is never a sum of rows (values
of different tasks are never stacked); a chart holds one task unless its values share a scale (rates in [0, 1]
of several tasks, each labelled with its task); n is the n the interval was computed on.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import pandas as pd
from transeval.core.errors import TransevalError
from transeval.core.records import SAFETY_METRICS as SAFETY_FAMILY
from transeval.dashboard.data import (
    Board,
    chance_level,
    latest,
    leaf_tasks,
    lm_eval_metrics,
    lower_is_better,
    num,
    win_rate_rows,
)
from transeval.harness.judging.store import read_scores

#: Rates drawn on the safety and language chart (all in [0, 1], so several tasks can share one chart).
SAFETY_METRICS = (*SAFETY_FAMILY, "refusal_rate_judge", "wrong_language_rate", "switching_rate")
#: Fewest categories for a radar; with fewer, bars.
RADAR_MIN = 3


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


def sub_metric_tasks(board: Board, prefix: str, models: Sequence[str] | None = None) -> list[str]:
    """Tasks that have turn (``turn``) or aspect sub-metrics of their judge score (one chart each)."""
    rows = _sub_rows(board, prefix, models)
    parts = rows.groupby("task")["metric"].nunique() if not rows.empty else pd.Series(dtype=int)
    return sorted(parts.index.astype(str), key=lambda t: (-int(parts[t]), t))  # most parts (turns) first


def _sub_rows(board: Board, prefix: str, models: Sequence[str] | None) -> pd.DataFrame:
    rows = _chosen(board, models)
    rows = rows[rows["metric"].str.startswith("score/") & (rows["role"] == "part")]
    parts = rows["metric"].str.split("/").str[1]
    return rows[parts.str.startswith("turn")] if prefix == "turn" else rows[~parts.str.startswith("turn")]


def sub_metrics(board: Board, prefix: str, models: Sequence[str] | None = None, task: str | None = None
                ) -> pd.DataFrame:
    """Turn (``turn``) or aspect rows of one judged task's score: model, task, part, score, CI and its n.

    Without ``task``: the task with the most parts (a chart never mixes tasks: their bars would stack).
    ``n`` is what the interval was computed on (scored items of that turn), ``n_total`` that turn's items.
    """
    rows = _sub_rows(board, prefix, models)
    if task is None:
        task = next(iter(sub_metric_tasks(board, prefix, models)), None)
    rows = rows[rows["task"] == task]
    return pd.DataFrame({"model": rows["alias"], "task": rows["task"], "part": rows["metric"].str.split("/").str[1],
                         "score": rows["score"], "ci_low": rows["ci_low"], "ci_high": rows["ci_high"],
                         "n": rows["n_scored"], "n_total": rows["n_total"],
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
    """Safety, refusal, wrong-language and switching rates: one bar per (task · metric, model), never summed.

    All are rates in [0, 1], so tasks share a chart; each bar is labelled with its task and metric (``label``)
    and lower-is-better rates carry ``↓``. ``n`` is the number of answers the rate and its interval are over.
    """
    rows = _chosen(board, models)
    rows = rows[rows["metric"].isin(SAFETY_METRICS)]
    labels = [f"{t} · {m}{' ↓' if lower_is_better(str(m)) else ''}" for t, m in
              zip(rows["task"], rows["metric"], strict=True)]
    return pd.DataFrame({"model": rows["alias"], "task": rows["task"], "language": rows["language"],
                         "metric": rows["metric"], "label": labels, "rate": rows["score"],
                         "ci_low": rows["ci_low"], "ci_high": rows["ci_high"],
                         "n": rows["n_scored"]}).reset_index(drop=True)


def use_radar(cats: pd.DataFrame) -> bool:
    """A radar only with at least :data:`RADAR_MIN` categories (one category is a filled disk): else bars."""
    return cats["category"].nunique() >= RADAR_MIN


def palette(n: int) -> list[str]:
    """``n`` distinct colours (hex): Tableau-10 first, then evenly spaced hues in three lightness bands."""
    base = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
            "#bab0ac"]
    out = base[:n]
    extra = n - len(out)
    for i in range(max(extra, 0)):
        hue = (i * 0.618033988749895) % 1.0  # golden-ratio steps: neighbours far apart on the wheel
        light = (0.35, 0.55, 0.72)[i % 3]
        r, g, b = colorsys.hls_to_rgb(hue, light, 0.65)
        colour = f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"
        while colour in out:  # rounding can collide: nudge
            r = min(1.0, r + 1 / 255)
            colour = f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"
        out.append(colour)
    return out


def win_rates(board: Board) -> pd.DataFrame:
    """Pairwise win rates (ties count half) with their Wilson intervals, one row per comparison and task.

    Win rates only: the language and refusal checks of a comparison folder are not win rates, and a
    helpfulness win rate on a harmful-prompt set is left out.
    """
    comp = win_rate_rows(board.comparisons)
    names = dict(zip(board.rows["model"], board.rows["alias"], strict=True))
    df = comp.assign(pair=[f"{names.get(a, a)} vs {names.get(b, b)}" for a, b in
                           zip(comp["model_a"], comp["model_b"], strict=True)])
    return df[["pair", "task", "metric", "win_rate", "ci_low", "ci_high", "wins", "ties", "losses", "lc_win_rate",
               "n_scored", "swap_inconsistency", "judge"]].reset_index(drop=True)


def has_numbers(df: pd.DataFrame, column: str) -> bool:
    """Whether a plot table has anything to draw."""
    return not df.empty and any(num(v) is not None for v in df[column])
