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


def _grouped(judgments: Iterable[Judgment]) -> list[list[float]]:
    by_sample: dict[str, list[float]] = defaultdict(list)
    for j in judgments:
        if j.score is not None:
            by_sample[j.sample_id].append(j.score)
    return list(by_sample.values())


def summarize(
    task: str, judge_model: str, judgments: Sequence[Judgment], categories: Mapping[str, str], calls: int = 0
) -> TaskScores:
    """Aggregate one task's judgments: overall, per turn, per category, unscored reasons, token usage."""
    per_turn = {
        f"turn{t + 1}": estimate(_grouped(j for j in judgments if j.turn == t))
        for t in sorted({j.turn for j in judgments})
    }
    per_category = {
        cat: estimate(_grouped(j for j in judgments if categories.get(j.sample_id) == cat))
        for cat in sorted(set(categories.values()))
    }
    reasons = Counter(j.reason or "" for j in judgments if j.score is None)
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
    )
