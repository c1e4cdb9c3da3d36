import math

import numpy as np
import pytest
from transeval.harness.stats.winrate import (
    PairVerdict,
    Preference,
    bradley_terry,
    combine_orders,
    length_controlled_win_rate,
    preferences_from_verdicts,
    win_rate,
)


def _verdict(qid, a, b, winner, *, turn=0, category="writing", len_a=None, len_b=None):
    """A consistent judge: the same model preferred in both orders (winner is a model name or 'tie')."""
    if winner == "tie":
        first = second = "tie"
    else:
        first = "A" if winner == a else "B"
        second = "B" if winner == a else "A"
    return PairVerdict(qid, category, turn, a, b, first, second, len_a, len_b)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("A", "B", "model_a"),  # model_a preferred in both orders
        ("B", "A", "model_b"),
        ("A", "A", "tie"),  # always the first position: disagreement
        ("B", "B", "tie"),
        ("tie", "tie", "tie"),
        ("A", "tie", "tie"),
        ("tie", "A", "tie"),
        (None, "A", None),
        ("A", None, None),
        ("error", "B", None),  # FastChat's failed-parse verdict
    ],
)
def test_combine_orders_follows_fastchat(first, second, expected):
    assert combine_orders(first, second) == expected


def test_combine_orders_rejects_unknown_verdict():
    with pytest.raises(ValueError, match="first verdict"):
        combine_orders("model_a", "A")


def test_position_biased_judge_gives_only_ties():
    verdicts = [PairVerdict(f"q{i}", "writing", t, "m", "base", "A", "A") for i in range(10) for t in (0, 1)]
    r = win_rate(verdicts, "m", "base")
    assert (r.wins, r.ties, r.losses, r.n, r.n_unscored) == (0, 20, 0, 20, 0)
    assert r.win_rate == 0.0
    assert r.adjusted == 0.5
    assert r.ci_low == 0.5 and r.ci_high == 0.5


def test_judge_preferring_one_model_gives_full_win_rate_with_ci():
    # model "m" in either role: half the verdicts have it as model_b
    verdicts = [
        _verdict(f"q{i}", *(("m", "base") if i % 2 else ("base", "m")), "m", turn=t) for i in range(20) for t in (0, 1)
    ]
    r = win_rate(verdicts, "m", "base")
    assert (r.wins, r.ties, r.losses, r.n) == (40, 0, 0, 40)
    assert r.win_rate == 1.0 and r.adjusted == 1.0
    assert r.ci_low == 1.0 and r.ci_high == 1.0
    back = win_rate(verdicts, "base", "m")
    assert (back.wins, back.losses, back.adjusted) == (0, 40, 0.0)


def test_counts_per_category_and_turn_and_unscored():
    verdicts = [
        _verdict("q1", "m", "base", "m", turn=0, category="math"),
        _verdict("q1", "m", "base", "base", turn=1, category="math"),
        _verdict("q2", "base", "m", "tie", turn=0, category="writing"),
        _verdict("q2", "base", "m", "m", turn=1, category="writing"),
        PairVerdict("q3", "writing", 0, "m", "base", None, "A"),  # failed judgment
        _verdict("q4", "m", "other", "m"),  # another pair: ignored
    ]
    r = win_rate(verdicts, "m", "base", iters=200)
    assert (r.wins, r.ties, r.losses, r.n, r.n_unscored) == (2, 1, 1, 4, 1)
    assert r.win_rate == 0.5
    assert r.adjusted == pytest.approx(2.5 / 4)
    assert r.ci_low is not None and r.ci_low <= r.adjusted <= r.ci_high
    math_ = r.per_category["math"]
    assert (math_.wins, math_.ties, math_.losses, math_.n, math_.n_unscored) == (1, 0, 1, 2, 0)
    writing = r.per_category["writing"]
    assert (writing.wins, writing.ties, writing.losses, writing.n_unscored) == (1, 1, 0, 1)
    assert writing.adjusted == 0.75
    assert sorted(r.per_turn) == [0, 1]
    assert (r.per_turn[0].wins, r.per_turn[0].ties, r.per_turn[0].n_unscored) == (1, 1, 1)
    assert (r.per_turn[1].wins, r.per_turn[1].losses) == (1, 1)
    assert r.per_turn[1].per_turn == {}


def test_win_rate_ci_resamples_questions_and_is_reproducible():
    verdicts = [_verdict(f"q{i}", "m", "base", "m" if i % 3 else "base", turn=t) for i in range(30) for t in (0, 1)]
    a, b = win_rate(verdicts, "m", "base"), win_rate(verdicts, "m", "base")
    assert a == b
    assert a.adjusted == pytest.approx(20 / 30)
    assert a.ci_low < a.adjusted < a.ci_high
    assert a.ci_high - a.ci_low > 0.2  # 30 clusters of 2 identical outcomes: wider than 60 independent ones


def test_no_comparisons_gives_none():
    r = win_rate([], "m", "base")
    assert (r.n, r.win_rate, r.adjusted, r.ci_low) == (0, None, None, None)


# ------------------------------------------------------------------------------------------------ Bradley-Terry


def _two_model(p_win, n=100):
    wins = round(p_win * n)
    return [_verdict(f"q{i}", "x", "y", "x" if i < wins else "y") for i in range(n)]


def test_bt_two_models_closed_form():
    r = bradley_terry(_two_model(0.75), iters=50)
    assert list(r) == ["x", "y"]
    assert r["x"].rating - r["y"].rating == pytest.approx(400 * math.log10(3), abs=0.01)
    assert (r["x"].rating + r["y"].rating) / 2 == pytest.approx(1000)
    assert r["x"].n == r["y"].n == 100
    assert r["x"].ci_low < r["x"].rating < r["x"].ci_high


def test_bt_ties_count_half_each_way():
    # 50 wins for x, 50 ties: x scores 0.75 of the points
    verdicts = [_verdict(f"q{i}", "x", "y", "x" if i < 50 else "tie") for i in range(100)]
    r = bradley_terry(verdicts, iters=0)
    assert r["x"].rating - r["y"].rating == pytest.approx(400 * math.log10(3), abs=0.01)
    assert r["x"].ci_low is None


def test_bt_scale_base_init():
    r = bradley_terry(_two_model(0.75), iters=0, scale=1.0, base=math.e, init=0.0)
    assert r["x"].rating == pytest.approx(math.log(3) / 2, abs=1e-4)
    assert r["y"].rating == pytest.approx(-math.log(3) / 2, abs=1e-4)


def test_bt_recovers_three_model_tournament_with_covering_cis():
    truth = {"strong": 1150.0, "mid": 1000.0, "weak": 850.0}  # mean 1000, as the fit is centred
    models = list(truth)
    covered = total = 0
    for rep in range(8):
        rng = np.random.default_rng(100 + rep)
        verdicts = []
        for q in range(60):
            for i in range(3):
                for j in range(i + 1, 3):
                    a, b = models[i], models[j]
                    p = 1 / (1 + 10 ** ((truth[b] - truth[a]) / 400))
                    verdicts.append(_verdict(f"q{q}", a, b, a if rng.random() < p else b))
        r = bradley_terry(verdicts, iters=100, seed=rep)
        assert list(r) == models
        for m in models:
            total += 1
            covered += r[m].ci_low <= truth[m] <= r[m].ci_high
            assert r[m].n == 120
    assert covered / total >= 0.8  # nominal 95%


def test_bt_ignores_unscored_and_is_finite_when_one_model_wins_everything():
    verdicts = [_verdict(f"q{i}", "x", "y", "x") for i in range(10)]
    verdicts.append(PairVerdict("q99", "writing", 0, "x", "z", None, None))
    r = bradley_terry(verdicts, iters=10)
    assert set(r) == {"x", "y"}
    assert math.isfinite(r["x"].rating) and r["x"].rating > r["y"].rating + 1000


# ------------------------------------------------------------------------------------------------ LC win rate


def _lc_prefs(model, n, longer_frac, length_effect, skill, seed, difficulty=None):
    """Lengths drawn alike whichever side is longer; P(model wins) = logistic(skill + difficulty + effect * tanh).

    The model's answer is the longer one on the first ``longer_frac`` of the instructions.
    """
    rng = np.random.default_rng(seed)
    out = []
    for q in range(n):
        base = int(rng.integers(200, 800))
        delta = int(rng.integers(50, 400))
        own = base + delta if q < longer_frac * n else base - delta
        extra = 0.0 if difficulty is None else difficulty[q]
        p = 1 / (1 + math.exp(-(skill + extra + length_effect * math.tanh((own - base) / 250))))
        out.append(Preference(f"q{q}", 0, model, "base", float(rng.random() < p), own, base))
    return out


def test_lc_removes_a_pure_length_preference():
    # the judge prefers the longer answer; the model is no better, but longer on 70% of the instructions
    raw, lc = [], []
    for seed in range(5):
        prefs = _lc_prefs("m", 100, 0.7, length_effect=4.0, skill=0.0, seed=seed)
        r = length_controlled_win_rate(prefs, iters=0)["m"]
        assert r.win_rate == pytest.approx(np.mean([p.preference for p in prefs]))
        assert r.length_coef > 2.0
        assert r.with_difficulty is False
        raw.append(r.win_rate)
        lc.append(r.lc_win_rate)
    assert np.mean(raw) > 0.6
    assert abs(np.mean(lc) - 0.5) < 0.07
    assert abs(np.mean(lc) - 0.5) < abs(np.mean(raw) - 0.5) - 0.08


def test_lc_bootstrap_ci_covers_the_length_free_rate():
    r = length_controlled_win_rate(_lc_prefs("m", 100, 0.7, 4.0, 0.0, seed=3), iters=50)["m"]
    assert r.ci_low < r.lc_win_rate < r.ci_high
    assert r.ci_low < 0.5 < r.ci_high
    assert r == length_controlled_win_rate(_lc_prefs("m", 100, 0.7, 4.0, 0.0, seed=3), iters=50)["m"]


def test_lc_longer_always_wins_is_pulled_to_half():
    magnitudes = [50, 100, 200, 400]
    prefs = []
    for q in range(100):
        own = 500 + (1 if q < 70 else -1) * magnitudes[q % 4]
        prefs.append(Preference(f"q{q}", 0, "m", "base", 1.0 if own > 500 else 0.0, own, 500))
    r = length_controlled_win_rate(prefs, iters=0)["m"]
    assert r.win_rate == 0.7
    assert abs(r.lc_win_rate - 0.5) < abs(r.win_rate - 0.5) - 0.05
    assert r.ci_low is None


def test_lc_equals_raw_without_length_effect():
    prefs = _lc_prefs("m", 100, 0.7, length_effect=0.0, skill=math.log(7 / 3), seed=2)
    r = length_controlled_win_rate(prefs, iters=20)["m"]
    assert r.lc_win_rate == pytest.approx(r.win_rate, abs=0.03)
    assert abs(r.length_coef) < 0.5


def test_lc_several_models_use_instruction_difficulty_when_given():
    skills = {"m1": 1.0, "m2": -0.5, "m3": 0.0}
    longer = {"m1": 0.8, "m2": 0.3, "m3": 0.5}
    raw_err, lc_err = [], []
    for rep in range(2):
        difficulty = np.random.default_rng(50 + rep).normal(0.0, 1.5, 80)  # shared by all models
        prefs = [
            p
            for k, m in enumerate(skills)
            for p in _lc_prefs(m, 80, longer[m], 3.0, skills[m], 10 * rep + k, difficulty)
        ]
        assert not length_controlled_win_rate(prefs, iters=0)["m1"].with_difficulty
        table = {f"q{q}": float(d) for q, d in enumerate(difficulty)}  # AlpacaEval's precomputed table's role
        r = length_controlled_win_rate(prefs, iters=0, difficulty=table)
        assert list(r) == ["m1", "m2", "m3"]
        assert all(x.with_difficulty and x.n == 80 for x in r.values())
        # the usually-longer m1 loses some of its raw rate, the usually-shorter m2 gains
        assert r["m1"].lc_win_rate < r["m1"].win_rate
        assert r["m2"].lc_win_rate > r["m2"].win_rate
        for m in ("m1", "m2"):
            truth = float(np.mean(1 / (1 + np.exp(-(skills[m] + difficulty)))))
            raw_err.append(abs(r[m].win_rate - truth))
            lc_err.append(abs(r[m].lc_win_rate - truth))
    assert np.mean(lc_err) < np.mean(raw_err) / 2


def test_lc_rejects_mixed_baselines_and_bad_preferences():
    good = Preference("q", 0, "m", "base", 1.0, 10, 5)
    with pytest.raises(ValueError, match="one baseline"):
        length_controlled_win_rate([good, Preference("q", 0, "m", "other", 1.0, 10, 5)])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        length_controlled_win_rate([Preference("q", 0, "m", "base", 2.0, 10, 5)])
    assert length_controlled_win_rate([]) == {}
    with pytest.raises(ValueError, match="no instruction difficulty"):
        length_controlled_win_rate([good], difficulty={"other": 0.0})


def test_preferences_from_verdicts_orients_and_skips():
    verdicts = [
        _verdict("q1", "m", "base", "m", len_a=300, len_b=100),
        _verdict("q2", "base", "m", "m", len_a=100, len_b=250),
        _verdict("q3", "base", "m", "tie", len_a=100, len_b=120),
        _verdict("q4", "m", "base", "m"),  # no lengths
        PairVerdict("q5", "writing", 0, "m", "base", "A", None, 10, 10),  # unscored
        _verdict("q6", "m", "other", "m", len_a=1, len_b=2),  # no baseline
    ]
    prefs = preferences_from_verdicts(verdicts, "base")
    assert [(p.question_id, p.model, p.preference, p.len_model, p.len_baseline) for p in prefs] == [
        ("q1", "m", 1.0, 300, 100),
        ("q2", "m", 1.0, 250, 100),
        ("q3", "m", 0.5, 120, 100),
    ]
