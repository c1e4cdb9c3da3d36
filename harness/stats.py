"""Means with cluster-bootstrap confidence intervals (a question's turns are resampled together)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from transeval.harness.records import Estimate, Judgment, TaskScores

BOOTSTRAP_ITERS = 2000
SEED = 1234


def estimate(groups: Sequence[Sequence[float]], iters: int = BOOTSTRAP_ITERS, seed: int = SEED) -> Estimate:
    """Mean of all values with a 95% percentile-bootstrap CI that resamples whole groups.

    Args:
        groups: Scored values, one group per question (its turns are correlated).
        iters: Bootstrap resamples.
        seed: RNG seed (results are reproducible).

    Returns:
        The estimate; mean and CI are None when nothing was scored, CI is None for a single group.
    """
    groups = [g for g in groups if len(g)]
    n = sum(len(g) for g in groups)
    if n == 0:
        return Estimate(None, None, None, 0)
    sums = np.array([float(sum(g)) for g in groups])
    counts = np.array([len(g) for g in groups], dtype=float)
    mean = float(sums.sum() / counts.sum())
    if len(groups) < 2:
        return Estimate(mean, None, None, n)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(groups), size=(iters, len(groups)))
    boot = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return Estimate(mean, float(lo), float(hi), n)


def _as_fraction(j: Judgment) -> float | None:
    """A judgment's score, as a fraction of its own maximum when the scale is per question."""
    if j.score is None:
        return None
    return j.score / j.max_score if j.max_score else j.score


def _grouped(judgments: Iterable[Judgment]) -> list[list[float]]:
    by_sample: dict[str, list[float]] = defaultdict(list)
    for j in judgments:
        value = _as_fraction(j)
        if value is not None:
            by_sample[j.sample_id].append(value)
    return list(by_sample.values())


def summarize(
    task: str, judge_model: str, judgments: Sequence[Judgment], categories: Mapping[str, str], calls: int = 0
) -> TaskScores:
    """Aggregate one task's judgments: overall, per turn, per category, unscored reasons, token usage.

    With per-question scales (``max_score``), means are of score / max_score, and ``points``/``max_points``
    hold the benchmark's own totals (an unscored turn counts 0 of its points, as the benchmark counts it).
    """
    per_turn = {
        f"turn{t + 1}": estimate(_grouped(j for j in judgments if j.turn == t))
        for t in sorted({j.turn for j in judgments})
    }
    per_category = {
        cat: estimate(_grouped(j for j in judgments if categories.get(j.sample_id) == cat))
        for cat in sorted(set(categories.values()))
    }
    reasons = Counter(j.reason or "" for j in judgments if j.score is None)
    per_question = [j for j in judgments if j.max_score]
    points = sum(j.score or 0.0 for j in per_question) if per_question else None
    max_points = sum(j.max_score or 0.0 for j in per_question) if per_question else None
    return TaskScores(
        task=task,
        judge_model=judge_model,
        n_total=len(judgments),
        n_scored=sum(j.score is not None for j in judgments),
        overall=estimate(_grouped(judgments)),
        per_turn=per_turn,
        per_category=per_category,
        unscored_reasons=dict(reasons),
        prompt_tokens=sum(j.prompt_tokens for j in judgments if not j.cached),
        completion_tokens=sum(j.completion_tokens for j in judgments if not j.cached),
        judge_calls=calls,
        points=points,
        max_points=max_points,
    )
