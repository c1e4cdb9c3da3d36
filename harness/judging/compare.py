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
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.core.records import Conversation, TaskScores

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
            folder.mkdir(parents=True, exist_ok=True)
            (folder / COMPARISON_FILE).write_text(json.dumps({"model": x, "baseline": y}),
                                                  encoding="utf-8")
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
            s.n_total - s.n_scored, "unscored_share": (s.n_total - s.n_scored) / s.n_total if s.n_total else None,
            "swap_inconsistency": s.swap_inconsistency, "n_empty": s.n_empty, "judge_model": s.judge_model,
            "rubrics": list(s.rubrics), "per_category": {k: asdict(v) for k, v in s.per_category.items()},
            "per_turn": {k: asdict(v) for k, v in s.per_turn.items()}}


def _pair_line(task: str, x: str, y: str, s: TaskScores) -> str:
    p = s.pairwise
    if p is None or s.overall.mean is None:
        return f"{task}: {x} vs {y}: no verdicts ({s.n_total - s.n_scored} unscored)"
    ci = f" [{s.overall.ci_low:.2f}, {s.overall.ci_high:.2f}]" if s.overall.ci_low is not None else ""
    lc = f", LC {p.lc_win_rate:.2f}" if p.lc_win_rate is not None else ""
    swap = f"swap inconsistency {s.swap_inconsistency:.1%}" if s.swap_inconsistency is not None else ""
    unscored = f"unscored {(s.n_total - s.n_scored) / s.n_total:.1%}" if s.n_total else ""
    empty = f"{s.n_empty} empty answers" if s.n_empty else ""
    judge = "; ".join(filter(None, [f"judge {s.judge_model}", swap, unscored, empty]))
    return (f"{task}: {x} vs {y}: win {p.wins} / tie {p.ties} / loss {p.losses}, win rate (ties half) "
            f"{s.overall.mean:.2f}{ci}{lc} ({judge})")


# ------------------------------------------------------------------------------------------------ agreement


COMPARISON_FILE = "comparison.json"  # in each comparisons/<X>__vs__<Y>/ folder: which model is which


@dataclass(frozen=True)
class Vote:
    """One judge's verdict (or score) on one comparison, keyed as FastChat's ``compute_agreement.py`` keys it.

    Attributes:
        sample_id: The question.
        turn: 0-based turn.
        models: The model pair in name order (a winner is oriented to it), the one model graded, or None when
            the source does not say which models (it then matches any models of the other side).
        judge: Who gave it (a judge model, ``expert_0``, ...).
        score: A numeric grade (single grading), else None.
        winner: "model_a" (the first of ``models``), "model_b" or "tie" for a pairwise verdict, else None.
        category: The question's category, if known.
    """

    sample_id: str
    turn: int
    models: tuple[str, ...] | None
    judge: str
    score: float | None
    winner: str | None
    category: str | None = None


def _vote(sample_id: str, turn: int, model_a: str | None, model_b: str | None, judge: str, score: float | None,
          winner: str | None, category: str | None = None) -> Vote:
    """A vote with its pair in name order (FastChat's order-normalised key) and the winner turned with it."""
    if model_a is None:
        return Vote(sample_id, turn, None, judge, score, winner, category)
    if model_b is None:
        return Vote(sample_id, turn, (safe_name(model_a),), judge, score, winner, category)
    a, b = safe_name(model_a), safe_name(model_b)
    if a > b:
        a, b = b, a
        winner = {"model_a": "model_b", "model_b": "model_a"}.get(winner or "", winner)
    return Vote(sample_id, turn, (a, b), judge, score, winner, category)


def _models_of(file: Path) -> tuple[str | None, str | None]:
    """The models behind a judgments file: a comparison folder's record, else its run's model name."""
    record = file.parent / COMPARISON_FILE
    if record.is_file():
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            return str(data["model"]), str(data["baseline"])
        except (ValueError, KeyError, TypeError):
            return None, None
    for results in sorted(file.parent.glob("results_*.json"), reverse=True):
        try:
            name = json.loads(results.read_text(encoding="utf-8")).get("model_name")
        except (ValueError, AttributeError):
            continue
        if name:
            return str(name), None
    return None, None


def _side(path: Path, metric: str) -> list[Vote]:
    """Every vote in a judgments file/folder or a labels file (MT-bench human judgments included)."""
    from transeval.harness.judging.store import merge_judgments, read_judgments
    from transeval.harness.stats.agreement import read_labels

    if not path.exists():
        raise TransevalError("not found", file=path)
    if path.is_dir() or path.name.startswith("judgments_"):
        files = sorted(path.rglob("judgments_*.jsonl")) if path.is_dir() else [path]
        if not files:
            raise TransevalError("no judgments_*.jsonl here", file=path)
        votes = []
        for f in files:
            model, default_other = _models_of(f)
            for j in merge_judgments(read_judgments(f)):
                if j.metric != metric:
                    continue
                if j.pair is not None:
                    winner = {"model": "model_a", "baseline": "model_b", "tie": "tie"}.get(j.pair.winner or "")
                    other = j.pair.baseline or default_other
                    votes.append(_vote(j.sample_id, j.turn, model, other if model else None, j.judge_model, None,
                                       winner))
                else:
                    votes.append(_vote(j.sample_id, j.turn, model, None, j.judge_model, j.score, None))
        if not votes:
            raise TransevalError(f"no judgments of metric '{metric}'", file=path)
        return votes
    return [_vote(lab.sample_id, lab.turn, lab.model, lab.model_b, lab.judge or path.name, lab.score, lab.winner,
                  lab.category) for lab in read_labels(path)]


def _matched(left: Sequence[Vote], right: Sequence[Vote]) -> list[tuple[tuple[Any, ...], Vote, Vote]]:
    """Every (left vote, right vote) on the same comparison.

    The same question, turn and model pair (either side's unknown models match any); each left judge's vote
    against each right judge's vote (as FastChat pairs GPT-4's one vote with every human vote).
    """
    by_item: dict[tuple[str, int], list[Vote]] = defaultdict(list)
    for v in right:
        by_item[(v.sample_id, v.turn)].append(v)
    out = []
    for lv in left:
        for rv in by_item.get((lv.sample_id, lv.turn), ()):
            if lv.models is None or rv.models is None or lv.models == rv.models:
                out.append(((lv.sample_id, lv.turn, lv.models or rv.models), lv, rv))
    return out


def agreement(a: Path, b: Path, metric: str = "score", leaderboard: bool = False,
              column: str = "overall") -> dict[str, Any]:
    """Agreement of two judgments of the same comparisons, or rank correlation of two leaderboards (CSV).

    A comparison is a question, turn and model pair (order-normalised, as FastChat's ``compute_agreement.py``);
    several judges on one comparison (the MT-bench human judgments have up to five) each give a vote, and every
    vote of one side is paired with every vote of the other on that comparison. Pairwise agreement is reported
    with and without ties (Zheng et al. 2023, §4.2), overall and per turn.

    Raises:
        TransevalError: when the inputs share no comparisons or cannot be read.
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
    pairs = _matched(_side(a, metric), _side(b, metric))
    if not pairs:
        raise TransevalError(f"no comparison (question, turn, models) in common with {b}", file=a)
    common = len({k for k, _, _ in pairs})
    if any(lv.winner is not None or rv.winner is not None for _, lv, rv in pairs):
        va = verdict_agreement([lv.winner for _, lv, _ in pairs], [rv.winner for _, _, rv in pairs])
        per_turn = {f"turn{t + 1}": asdict(verdict_agreement([lv.winner for _, lv, _ in pairs if lv.turn == t],
                                                             [rv.winner for _, _, rv in pairs if rv.turn == t]))
                    for t in sorted({lv.turn for _, lv, _ in pairs})}
        return {"kind": "pairwise", "n_common": common, **asdict(va), "per_turn": per_turn}
    cats = [lv.category or rv.category or "" for _, lv, rv in pairs]
    sa = score_agreement([lv.score for _, lv, _ in pairs], [rv.score for _, _, rv in pairs],
                         categories=cats if any(cats) else None)
    return {"kind": "scores", "n_common": common, **json.loads(json.dumps(asdict(sa), default=str))}


def print_agreement(report: dict[str, Any]) -> None:
    """A short human-readable summary on stdout."""
    def fmt(v: Any) -> str:
        return "n/a" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    keys = {"leaderboard": ("n", "spearman", "kendall", "only_in_a", "only_in_b"),
            "pairwise": ("n_common", "n", "with_tie", "n_without_tie", "without_tie"),
            "scores": ("n_common", "n", "exact", "within_1", "cohen_kappa", "spearman")}[report["kind"]]
    print("  ".join(f"{k}={fmt(report.get(k))}" for k in keys), file=sys.stdout)
    for turn, sub in (report.get("per_turn") or {}).items():
        print(f"  {turn}: " + "  ".join(f"{k}={fmt(sub.get(k))}" for k in ("n", "with_tie", "n_without_tie",
                                                                            "without_tie")))
    for cat, sub in (report.get("per_category") or {}).items():
        print(f"  {cat}: " + "  ".join(f"{k}={fmt(sub.get(k))}" for k in ("n", "exact", "within_1", "cohen_kappa")))
