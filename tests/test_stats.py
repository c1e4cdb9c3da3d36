from transeval.core.records import Judgment
from transeval.harness.stats.estimates import estimate, summarize, wilson


def _j(sid, turn, score, reason=None):
    return Judgment("t", sid, turn, score, reason, "judge", "r", "1", "", None)


def test_estimate_empty_is_none():
    e = estimate([])
    assert e.mean is None and e.ci_low is None and e.n == 0


def test_estimate_single_group_has_no_ci():
    e = estimate([[4.0, 6.0]])
    assert e.mean == 5.0 and e.ci_low is None and e.n == 2


def test_ci_brackets_mean_and_is_reproducible():
    groups = [[float(i % 10 + 1), float((i * 7) % 10 + 1)] for i in range(40)]
    a, b = estimate(groups), estimate(groups)
    assert a == b
    assert a.ci_low is not None and a.ci_high is not None
    assert a.ci_low < a.mean < a.ci_high


def test_ci_narrows_with_more_data():
    small = estimate([[float(i % 10 + 1)] for i in range(10)])
    large = estimate([[float(i % 10 + 1)] for i in range(1000)])
    assert (large.ci_high - large.ci_low) < (small.ci_high - small.ci_low)


def test_summarize_counts_unscored_with_reasons():
    js = [_j("1", 0, 8.0), _j("1", 1, None, "empty answer"), _j("2", 0, 4.0), _j("2", 1, 6.0)]
    s = summarize("t", "judge", js, {"1": "math", "2": "writing"})
    assert (s.n_scored, s.n_total) == (3, 4)
    assert s.overall.mean == 6.0
    assert s.per_turn["turn1"].mean == 6.0 and s.per_turn["turn2"].mean == 6.0
    assert s.per_category["math"].mean == 8.0
    assert s.unscored_reasons == {"empty answer": 1}
    assert s.headline()["score"] == 6.0


def test_all_equal_scores_do_not_give_a_point_interval():
    """A judge that gives every answer 5 (the demo judge) must not read as certainty: [5.00, 5.00]."""
    twenty = estimate([[5.0, 5.0]] * 20)
    assert twenty.ci_low == twenty.ci_high == 5.0, "the bootstrap alone collapses"
    e = estimate([[5.0, 5.0]] * 20, scale=(1.0, 10.0))
    assert e.mean == 5.0 and e.ci_low is not None and e.ci_high is not None
    assert 1.0 <= e.ci_low < 5.0 < e.ci_high <= 10.0
    share = wilson(0, 20).ci_high or 0.0  # at most this share of other values, at the ends of the scale
    assert abs(e.ci_low - (5.0 - share * 4.0)) < 1e-9 and abs(e.ci_high - (5.0 + share * 5.0)) < 1e-9
    wider = estimate([[5.0, 5.0]] * 5, scale=(1.0, 10.0))
    assert wider.ci_low is not None and wider.ci_high is not None
    assert wider.ci_low < e.ci_low and wider.ci_high > e.ci_high, "fewer questions, wider interval"
    top = estimate([[10.0]] * 20, scale=(1.0, 10.0))
    assert top.ci_high == 10.0 and top.ci_low is not None and top.ci_low < 10.0
    varied = [[float(i % 10 + 1)] for i in range(30)]
    assert estimate(varied, scale=(1.0, 10.0)) == estimate(varied), "a real spread keeps the bootstrap interval"
