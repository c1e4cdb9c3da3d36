"""Aggregates of judgments.

Means with cluster-bootstrap CIs (a question's turns are resampled together), aspect means averaged as
LLM-Eval's AVG column, and pairwise win rates with a Wilson interval.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from transeval.core.records import Estimate, Judgment, PairCounts, TaskScores
from transeval.judges.parse import order_changed

BOOTSTRAP_ITERS = 2000
SEED = 1234


def estimate(groups: Sequence[Sequence[float]], iters: int = BOOTSTRAP_ITERS, seed: int = SEED,
             scale: tuple[float, float] | None = None) -> Estimate:
    """Mean of all values with a 95% percentile-bootstrap CI that resamples whole groups.

    The bootstrap collapses to a point when every value is the same (a judge that gives every answer 5):
    with the scale known, the CI is then widened by :func:`no_variance_interval` instead.

    Args:
        groups: Scored values, one group per question (its turns are correlated).
        iters: Bootstrap resamples.
        seed: RNG seed (results are reproducible).
        scale: The values' possible range (a rubric's scale), for the all-equal case.

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
    if scale is not None and hi - lo < 1e-12:
        lo, hi = no_variance_interval(mean, len(groups), scale)
    return Estimate(mean, float(lo), float(hi), n)


def no_variance_interval(value: float, n: int, scale: tuple[float, float]) -> tuple[float, float]:
    """A 95% interval for a mean when all ``n`` independent observations equal ``value`` on a bounded scale.

    Seeing no other value in ``n`` draws bounds the share of other values by the upper Wilson limit of 0/n (the
    "rule of three", about 3/n); the mean can move at most that share of the way to either end of the scale.
    It never collapses to a point, and shrinks as n grows.
    """
    share = wilson(0.0, n).ci_high or 1.0
    low, high = scale
    return max(low, value - share * (value - low)), min(high, value + share * (high - value))


def wilson(successes: float, n: int, z: float = 1.959964) -> Estimate:
    """Wilson score interval for a proportion (Wilson 1927): never collapses to a point at 0/n or n/n.

    ``successes`` may be fractional (a pairwise tie counts half a win).
    """
    if n == 0:
        return Estimate(None, None, None, 0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), n)


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


def aspect_average(judgments: Sequence[Judgment], names: Sequence[str], iters: int = BOOTSTRAP_ITERS,
                   seed: int = SEED, scale: tuple[float, float] | None = None) -> tuple[Estimate, dict[str, Estimate]]:
    """Per-aspect means and their average (LLM-Eval Table 1's AVG: the mean of the aspect columns).

    CIs are cluster-bootstrap; an aspect left unscored in a judgment is skipped for that aspect only.
    """
    per_aspect = {
        a: estimate(list(_by_sample(judgments, a).values()), iters, seed, scale) for a in names
    }
    means = [e.mean for e in per_aspect.values() if e.mean is not None]
    if not means:
        return Estimate(None, None, None, 0), per_aspect
    avg = float(np.mean(means))
    samples = sorted({j.sample_id for j in judgments if j.aspects})
    n = sum(1 for j in judgments if j.aspects and any(v is not None for v in j.aspects.values()))
    if len(samples) < 2:
        return Estimate(avg, None, None, n), per_aspect
    table = {a: _by_sample(judgments, a) for a in names}
    sums = np.array([[sum(table[a].get(s, [])) for a in names] for s in samples])
    counts = np.array([[len(table[a].get(s, [])) for a in names] for s in samples], dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(samples), size=(iters, len(samples)))
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = np.nanmean(sums[idx].sum(axis=1) / counts[idx].sum(axis=1), axis=1)
    lo, hi = np.nanpercentile(boot, [2.5, 97.5])
    if scale is not None and hi - lo < 1e-12:
        lo, hi = no_variance_interval(avg, len(samples), scale)
    return Estimate(avg, float(lo), float(hi), n), per_aspect


def _by_sample(judgments: Iterable[Judgment], aspect: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for j in judgments:
        v = (j.aspects or {}).get(aspect)
        if v is not None:
            out[j.sample_id].append(v)
    return out


def summarize(
    task: str, judge_model: str, judgments: Sequence[Judgment], categories: Mapping[str, str], calls: int = 0,
    *, metric: str = "score", mode: str = "single", aspect_names: Sequence[str] = (),
    scale: tuple[float, float] | None = None,
) -> TaskScores:
    """Aggregate one task's judgments of one metric: overall, per turn, per category, unscored reasons, usage.

    With per-question scales (``max_score``), means are of score / max_score, and ``points``/``max_points``
    hold the benchmark's own totals (an unscored turn counts 0 of its points, as the benchmark counts it).
    Aspects: ``overall`` is the average of the aspect means. Pairwise: ``overall`` is the win rate with ties as
    half a win (FastChat's "adjusted" rate) with a Wilson interval over judged turns. Proportion (0/1 values such
    as refusal or wrong-language): the share with a Wilson interval. ``scale`` (the rubric's) keeps a mean's CI
    from collapsing to a point when every score is the same.
    """
    judgments = [j for j in judgments if j.metric == metric]

    def agg(js: Sequence[Judgment]) -> Estimate:
        if mode == "aspects":
            return aspect_average(js, aspect_names, scale=scale)[0]
        if mode in ("pairwise", "proportion"):
            scored = [j.score for j in js if j.score is not None]
            return wilson(float(sum(scored)), len(scored))
        per_question = any(j.max_score for j in js)  # fractions of each question's points
        return estimate(_grouped(js), scale=(0.0, 1.0) if per_question else scale)

    turns = sorted({j.turn for j in judgments})
    per_turn = {f"turn{t + 1}": agg([j for j in judgments if j.turn == t]) for t in turns}
    per_category = {
        cat: agg([j for j in judgments if categories.get(j.sample_id) == cat])
        for cat in sorted(set(categories.values()))
    }
    reasons = Counter(j.reason or "" for j in judgments if j.score is None)
    per_question = [j for j in judgments if j.max_score]
    points = sum(j.score or 0.0 for j in per_question) if per_question else None
    max_points = sum(j.max_score or 0.0 for j in per_question) if per_question else None
    pair = None
    swap: float | None = None
    if mode == "pairwise":
        swap = swap_inconsistency(judgments)
        winners = Counter(j.pair.winner for j in judgments if j.pair is not None and j.pair.winner)
        decided = sum(winners.values())
        baseline = next((j.pair.baseline for j in judgments if j.pair is not None), "")
        pair = PairCounts(baseline, winners["model"], winners["tie"], winners["baseline"],
                          winners["model"] / decided if decided else None)
    return TaskScores(
        task=task,
        judge_model=judge_model,
        n_total=len(judgments),
        n_scored=sum(j.score is not None for j in judgments),
        overall=agg(judgments),
        per_turn=per_turn,
        per_category=per_category,
        unscored_reasons=dict(reasons),
        prompt_tokens=sum(j.prompt_tokens for j in judgments if not j.cached),
        completion_tokens=sum(j.completion_tokens for j in judgments if not j.cached),
        judge_calls=calls,
        points=points,
        max_points=max_points,
        metric=metric,
        mode=mode,
        rubrics=tuple(sorted({j.rubric for j in judgments})),
        served_models=tuple(sorted({j.served_model for j in judgments if j.served_model})),
        aspects=aspect_average(judgments, aspect_names, scale=scale)[1] if mode == "aspects" else {},
        pairwise=pair,
        n_judge_errors=sum(j.error_kind in ("transport", "auth") for j in judgments),
        swap_inconsistency=swap,
    )


def swap_inconsistency(judgments: Iterable[Judgment]) -> float | None:
    """The share of pairs judged in both orders whose verdict changes with the order (None when there are none).

    A judge free of position bias scores 0; GPT-4 on FastChat's published MT-bench pairs changes about a third
    of its verdicts (Zheng et al. 2023, Table 2, reports 65% consistency for GPT-4 pair-v2).
    """
    changed = [order_changed(j.pair.first, j.pair.second) for j in judgments if j.pair is not None]
    known = [c for c in changed if c is not None]
    return sum(known) / len(known) if known else None
