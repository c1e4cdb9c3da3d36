"""Pairwise comparison of runs (``transeval compare``) and judge agreement (``transeval agreement``).

``compare``: the answers of model X and baseline Y to the same questions of a judged task, judged by a pairwise
rubric (FastChat ``pair-v2``, turn 2 with ``pair-v2-multi-turn``) in both orders, through the same cache,
parser and store as every judgment; saved under ``<runs>/comparisons/<X>__vs__<Y>/``. With three or more models,
all pairs are judged and a Bradley-Terry rating with bootstrap CIs is fitted from every verdict (Chatbot Arena's
method, :func:`transeval.harness.stats.winrate.bradley_terry`).

``agreement``: two judgments of the same samples (two judges, two rubric versions, a judge and a human-labels
file), or two leaderboards (rank correlation).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.core.records import Conversation, Judgment, TaskScores

COMPARISONS = "comparisons"


def safe_name(model: str) -> str:
    """A folder-safe form of a model name (path separators and odd characters become '_')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")[:120] or "model"


def _answers_by_model(root: Path, tasks: set[str] | None) -> dict[str, dict[str, list[Conversation]]]:
    """Model name -> task -> conversations (the newest run of each model and task wins)."""
    from transeval.harness.judging.pipeline import run_conversations
    from transeval.harness.judging.store import find_runs

    out: dict[str, dict[str, list[Conversation]]] = {}
    for run in find_runs(root):  # newest first
        if COMPARISONS in run.results_path.parts:
            continue
        for task in run.tasks:
            if (tasks and task not in tasks) or task in out.get(run.model, {}):
                continue
            convs = run_conversations(run, task)
            if convs:
                out.setdefault(run.model, {})[task] = convs
    return out


def resolve_model(name: str, known: Sequence[str]) -> str:
    """A model as the board shows it: the exact name, else the one name ending with / containing ``name``.

    Raises:
        TransevalError: for no match or an ambiguous one (listing the candidates).
    """
    if name in known:
        return name
    hits = [m for m in known if m.endswith(name)] or [m for m in known if name in m]
    if len(hits) == 1:
        return hits[0]
    what = "matches several models" if hits else "matches no model"
    raise TransevalError(f"'{name}' {what} (models: {', '.join(sorted(hits or known))})", field="--model")


def compare_runs(root: Path, models: Sequence[str], baseline: str | None, tasks: set[str] | None = None,
                 rubric: str = "pair-v2", judge_model: str | None = None) -> dict[str, Any]:
    """Judge model(s) against a baseline (or every pair of models) on their shared questions.

    Returns:
        A JSON-ready report: per task, per pair the win/tie/loss counts, win rate with CI, LC win rate, per
        category and per turn; Bradley-Terry ratings when three or more models are compared.

    Raises:
        TransevalError: for unknown models, no shared questions, or an invalid rubric.
    """
    from transeval.harness.judging.pipeline import judge_task
    from transeval.harness.stats.winrate import PairVerdict, bradley_terry
    from transeval.judges.client import check_endpoint
    from transeval.judges.config import resolve_settings
    from transeval.judges.grade import MetricJob, check_rubrics
    from transeval.judges.rubric import load_rubric

    if load_rubric(rubric).kind != "pairwise":
        raise TransevalError(f"rubric '{rubric}' is not a pairwise rubric", field="--rubric")
    answers = _answers_by_model(root, tasks)
    known = sorted(answers)
    chosen = [resolve_model(m, known) for m in models]
    base = resolve_model(baseline, known) if baseline else None
    pairs = [(m, base) for m in chosen if m != base] if base else [
        (a, b) for i, a in enumerate(chosen) for b in chosen[i + 1:]]
    if not pairs:
        raise TransevalError("give --model X --baseline Y, or two or more --model", field="--model")
    settings = resolve_settings(judge_model)
    check_endpoint(settings)
    report: dict[str, Any] = {"rubric": rubric, "judge_model": settings.model, "tasks": {}}
    for task in sorted({t for m in [*chosen, *([base] if base else [])] for t in answers[m]}):
        verdicts: list[PairVerdict] = []
        for x, y in pairs:
            if task not in answers[x] or task not in answers[y]:
                continue
            theirs = {c.question.question_id: c for c in answers[y][task]}
            convs = [replace(c, question=replace(c.question, baselines={
                y: tuple(t.answer or "" for t in theirs[c.question.question_id].turns)}))
                for c in answers[x][task] if c.question.question_id in theirs]
            if not convs:
                continue
            jobs = [MetricJob("win_rate", rubric, y)]
            check_rubrics(convs, jobs)
            folder = root / COMPARISONS / f"{safe_name(x)}__vs__{safe_name(y)}"
            outcome = judge_task(convs, jobs, settings, folder, "pairwise")
            s = outcome.scores["win_rate"]
            report["tasks"].setdefault(task, {})[f"{x} vs {y}"] = _pair_summary(x, y, s)
            lengths = {(c.question.question_id, k): (len(t.answer or ""), len(c.question.baselines[y][k] or ""))
                       for c in convs for k, t in enumerate(c.turns) if k < len(c.question.baselines[y])}
            cats = {c.question.question_id: c.question.category for c in convs}
            for j in outcome.judgments:
                if j.pair is None:
                    continue
                la, lb = lengths.get((j.sample_id, j.turn), (None, None))
                verdicts.append(PairVerdict(j.sample_id, cats.get(j.sample_id, ""), j.turn, x, y, j.pair.first,
                                            j.pair.second, la, lb))
            print(_pair_line(task, x, y, s))
        if len({m for v in verdicts for m in (v.model_a, v.model_b)}) >= 3:
            ratings = bradley_terry(verdicts)
            report["tasks"][task]["bradley_terry"] = {m: asdict(r) for m, r in ratings.items()}
            out = root / COMPARISONS / f"bradley_terry_{task}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report["tasks"][task]["bradley_terry"], indent=2, ensure_ascii=False),
                           encoding="utf-8")
            print(f"{task}: Bradley-Terry ratings (95% bootstrap CI) -> {out}")
            for m, r in ratings.items():
                ci = f"[{r.ci_low:.0f}, {r.ci_high:.0f}]" if r.ci_low is not None and r.ci_high is not None else ""
                print(f"  {r.rating:7.0f} {ci:>14}  {m}")
    if not report["tasks"]:
        raise TransevalError("the models share no judged task with answers to the same questions", file=root)
    return report


def _pair_summary(x: str, y: str, s: TaskScores) -> dict[str, Any]:
    p = s.pairwise
    return {"model": x, "baseline": y, "wins": p.wins if p else 0, "ties": p.ties if p else 0,
            "losses": p.losses if p else 0, "win_rate_adjusted": s.overall.mean, "ci_low": s.overall.ci_low,
            "ci_high": s.overall.ci_high, "lc_win_rate": p.lc_win_rate if p else None, "n_unscored":
            s.n_total - s.n_scored, "per_category": {k: asdict(v) for k, v in s.per_category.items()},
            "per_turn": {k: asdict(v) for k, v in s.per_turn.items()}}


def _pair_line(task: str, x: str, y: str, s: TaskScores) -> str:
    p = s.pairwise
    if p is None or s.overall.mean is None:
        return f"{task}: {x} vs {y}: no verdicts ({s.n_total - s.n_scored} unscored)"
    ci = f" [{s.overall.ci_low:.2f}, {s.overall.ci_high:.2f}]" if s.overall.ci_low is not None else ""
    lc = f", LC {p.lc_win_rate:.2f}" if p.lc_win_rate is not None else ""
    return (f"{task}: {x} vs {y}: win {p.wins} / tie {p.ties} / loss {p.losses}, win rate (ties half) "
            f"{s.overall.mean:.2f}{ci}{lc}")


# ------------------------------------------------------------------------------------------------ agreement


def _judgments_of(path: Path, metric: str) -> list[Judgment]:
    from transeval.harness.judging.store import merge_judgments, read_judgments

    files = sorted(path.rglob("judgments_*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise TransevalError("no judgments_*.jsonl here", file=path)
    found = [j for f in files for j in merge_judgments(read_judgments(f)) if j.metric == metric]
    if not found:
        raise TransevalError(f"no judgments of metric '{metric}'", file=path)
    return found


def _side(path: Path, metric: str) -> dict[tuple[str, int], tuple[float | None, str | None, str | None]]:
    """(sample, turn) -> (score, winner, category) from a judgments file/folder or a labels file."""
    from transeval.harness.stats.agreement import read_labels

    if not path.exists():
        raise TransevalError("not found", file=path)
    if path.is_dir() or path.name.startswith("judgments_"):
        out: dict[tuple[str, int], tuple[float | None, str | None, str | None]] = {}
        for j in _judgments_of(path, metric):
            winner = {"model": "model_a", "baseline": "model_b", "tie": "tie"}.get(
                j.pair.winner or "") if j.pair else None
            out[(j.sample_id, j.turn)] = (None if j.pair else j.score, winner, None)
        return out
    return {(lab.sample_id, lab.turn): (lab.score, lab.winner, lab.category) for lab in read_labels(path)}


def agreement(a: Path, b: Path, metric: str = "score", leaderboard: bool = False,
              column: str = "overall") -> dict[str, Any]:
    """Agreement of two judgments of the same samples, or rank correlation of two leaderboards (CSV).

    Raises:
        TransevalError: when the inputs share no samples or cannot be read.
    """
    from transeval.harness.stats.agreement import (
        rank_correlation,
        read_leaderboard_csv,
        score_agreement,
        verdict_agreement,
    )

    if leaderboard:
        rc = rank_correlation(read_leaderboard_csv(a, column), read_leaderboard_csv(b, column))
        return {"kind": "leaderboard", **asdict(rc)}
    left, right = _side(a, metric), _side(b, metric)
    keys = sorted(set(left) & set(right))
    if not keys:
        raise TransevalError(f"no (sample_id, turn) in common with {b}", file=a)
    if any(left[k][1] is not None for k in keys) or any(right[k][1] is not None for k in keys):
        va = verdict_agreement([left[k][1] for k in keys], [right[k][1] for k in keys])
        return {"kind": "pairwise", "n_common": len(keys), **asdict(va)}
    cats = [left[k][2] or right[k][2] or "" for k in keys]
    sa = score_agreement([left[k][0] for k in keys], [right[k][0] for k in keys],
                         categories=cats if any(cats) else None)
    return {"kind": "scores", "n_common": len(keys), **json.loads(json.dumps(asdict(sa), default=str))}


def print_agreement(report: dict[str, Any]) -> None:
    """A short human-readable summary on stdout."""
    def fmt(v: Any) -> str:
        return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    keys = {"leaderboard": ("n", "spearman", "kendall", "only_in_a", "only_in_b"),
            "pairwise": ("n_common", "n", "with_tie", "n_without_tie", "without_tie"),
            "scores": ("n_common", "n", "exact", "within_1", "cohen_kappa", "spearman")}[report["kind"]]
    print("  ".join(f"{k}={fmt(report.get(k))}" for k in keys), file=sys.stdout)
    for cat, sub in (report.get("per_category") or {}).items():
        print(f"  {cat}: " + "  ".join(f"{k}={fmt(sub.get(k))}" for k in ("n", "exact", "within_1", "cohen_kappa")))
