"""What a task's numbers say in lm-eval's results: empty answers and order-dependence travel with the score."""

from __future__ import annotations

from transeval.core.records import Estimate, PairCounts, TaskScores, lower_is_better


def test_headline_carries_empty_answers_and_swap_inconsistency() -> None:
    scores = TaskScores("alpaca_eval_th", "gpt-4", 10, 10, Estimate(0.5, 0.2, 0.8, 10), metric="win_rate",
                        mode="pairwise", pairwise=PairCounts("ref", 4, 2, 4, 0.5), n_empty=2,
                        swap_inconsistency=0.3)
    head = scores.headline()
    assert head["win_rate_n_empty"] == 2 and head["win_rate_swap_inconsistency"] == 0.3
    plain = TaskScores("thai_mtbench", "gpt-4", 4, 4, Estimate(6.0, 5.0, 7.0, 4)).headline()
    assert not any("empty" in k or "swap" in k for k in plain)


def test_lower_is_better_covers_derived_names() -> None:
    assert lower_is_better("wrong_language_rate") and lower_is_better("win_rate_swap_inconsistency")
    assert not lower_is_better("score") and not lower_is_better("safe_rate") and not lower_is_better("win_rate")
