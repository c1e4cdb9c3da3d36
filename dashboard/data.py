"""Pure data functions of the leaderboard: run folders -> DataFrames. No ``st.*`` here."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from transeval.harness.store import Run, find_runs, read_jsonl, read_judgments, read_scores

LEADERBOARD_COLUMNS = [
    "model", "task", "metric", "score", "ci_low", "ci_high", "n_scored", "n_total", "turn1", "turn2", "judge",
    "date", "run",
]


@dataclass(frozen=True)
class TurnView:
    """One turn of one sample as shown on the board (all text shown as plain text)."""

    question: str
    answer: str | None
    raw: str
    prompt: str
    score: float | None
    reason: str | None
    explanation: str
    note: str | None


@dataclass(frozen=True)
class SampleView:
    """One question with the model's turns and the judge's verdicts."""

    question_id: str
    category: str
    turns: tuple[TurnView, ...]

    @property
    def mean_score(self) -> float | None:
        """Mean of the scored turns (None if none is scored)."""
        scores = [t.score for t in self.turns if t.score is not None]
        return sum(scores) / len(scores) if scores else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not math.isnan(float(value)) else None


def _lm_eval_row(run: Run, task: str) -> dict[str, Any] | None:
    """A row for a task lm-eval scored itself (first numeric metric, CI from its stderr)."""
    res = (run.results.get("results") or {}).get(task) or {}
    for key, value in res.items():
        if "," not in key or "_stderr" in key or key.startswith("bypass") or _num(value) is None:
            continue
        metric = key.split(",")[0]
        se = _num(res.get(key.replace(metric, f"{metric}_stderr", 1)))
        v = float(value)
        n = (run.results.get("n-samples") or {}).get(task, {}).get("effective")
        return {"metric": metric, "score": v, "ci_low": None if se is None else v - 1.96 * se,
                "ci_high": None if se is None else v + 1.96 * se, "n_scored": n, "n_total": n}
    return None


def leaderboard(root: Path) -> pd.DataFrame:
    """One row per (run, task): the judged score with its 95% CI, or lm-eval's own first metric."""
    rows = []
    for run in find_runs(root):
        for task in run.tasks:
            base = {"model": run.model, "task": task, "date": run.date_id, "run": str(run.results_path)}
            if run.scores_path(task).exists():
                s = read_scores(run.scores_path(task))
                rows.append({
                    **base, "metric": "judge score (1-10)", "score": s.overall.mean, "ci_low": s.overall.ci_low,
                    "ci_high": s.overall.ci_high, "n_scored": s.n_scored, "n_total": s.n_total,
                    "turn1": s.per_turn.get("turn1").mean if "turn1" in s.per_turn else None,  # type: ignore[union-attr]
                    "turn2": s.per_turn.get("turn2").mean if "turn2" in s.per_turn else None,  # type: ignore[union-attr]
                    "judge": s.judge_model,
                })
            elif (row := _lm_eval_row(run, task)) is not None:
                rows.append({**base, **row})
            else:
                rows.append({**base, "metric": "not judged yet", "score": None})
    df = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    return df.sort_values(["task", "score"], ascending=[True, False], na_position="last").reset_index(drop=True)


def run_by_results_path(root: Path, results_path: str) -> Run:
    """The run whose results file is ``results_path``."""
    for run in find_runs(root):
        if str(run.results_path) == results_path:
            return run
    raise KeyError(results_path)


def category_table(run: Run, task: str) -> pd.DataFrame:
    """Per-category mean and CI of a judged task."""
    if not run.scores_path(task).exists():
        return pd.DataFrame(columns=["category", "score", "ci_low", "ci_high", "n"])
    s = read_scores(run.scores_path(task))
    rows = [{"category": c, "score": e.mean, "ci_low": e.ci_low, "ci_high": e.ci_high, "n": e.n}
            for c, e in s.per_category.items()]
    rows += [{"category": f"({t})", "score": e.mean, "ci_low": e.ci_low, "ci_high": e.ci_high, "n": e.n}
             for t, e in s.per_turn.items()]
    return pd.DataFrame(rows)


def samples(run: Run, task: str) -> list[SampleView]:
    """Every sample of a judged task with its answers and judgments (empty if there is no samples log)."""
    from transeval.harness.mtbench import conversation_from_sample

    path = run.samples_path(task)
    if not path.exists():
        return []
    verdicts = {}
    if run.judgments_path(task).exists():
        verdicts = {(j.sample_id, j.turn): j for j in read_judgments(run.judgments_path(task))}
    out = []
    for _lineno, rec in read_jsonl(path):
        doc = rec.get("doc") or {}
        if "judge" not in doc:
            continue
        conv = conversation_from_sample(doc, (rec.get("filtered_resps") or [""])[0])
        turns = []
        for t, question in enumerate(conv.question.turns):
            out_t = conv.turns[t] if t < len(conv.turns) else None
            j = verdicts.get((conv.question.question_id, t))
            turns.append(TurnView(
                question=question, answer=out_t.answer if out_t else None, raw=out_t.raw if out_t else "",
                prompt=out_t.prompt if out_t else "", score=j.score if j else None,
                reason=(j.reason if j else "not judged yet"), explanation=j.explanation if j else "",
                note=out_t.note if out_t else None,
            ))
        out.append(SampleView(conv.question.question_id, conv.question.category, tuple(turns)))
    return out
