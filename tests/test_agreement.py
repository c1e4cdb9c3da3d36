import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from transeval.core.errors import TransevalError, one_line
from transeval.harness.stats.agreement import (
    Label,
    rank_correlation,
    read_labels,
    read_leaderboard_csv,
    score_agreement,
    verdict_agreement,
)

DATA = Path(__file__).parent / "data"
# Copies of llmeval/llmeval-1 @ c23e5d39 results/分项测评_gpt4.csv and results/分项测评_manual_denoised.csv
# (= /work/shared/data/llm_eval/results/itemized_eval_{gpt4,manual_denoised}_leaderboard.csv, see its SOURCE.md).
GPT4_BOARD = DATA / "agreement_llmeval_itemized_gpt4.csv"
HUMAN_BOARD = DATA / "agreement_llmeval_itemized_manual_denoised.csv"


# ------------------------------------------------------------------------------------------------ scores


def test_perfect_score_agreement_is_one_everywhere():
    scores = [1, 3, 5, 7, 9, 10, 2, 8]
    cats = ["math", "writing"] * 4
    r = score_agreement(scores, list(scores), categories=cats, scale=range(1, 11))
    assert (r.n, r.n_skipped) == (8, 0)
    assert r.exact == r.within_1 == r.cohen_kappa == pytest.approx(1.0)
    assert r.spearman == pytest.approx(1.0)
    for sub in r.per_category.values():
        assert sub.exact == sub.within_1 == sub.cohen_kappa == sub.spearman == pytest.approx(1.0)


def test_hand_computed_quadratic_kappa_and_spearman():
    # labels 1..4, quadratic weights (i-j)^2/9: observed disagreement 1/36, expected 1/3 -> kappa 1 - 1/12
    r = score_agreement([1, 2, 3, 4, None], [1, 2, 4, 4, 3])
    assert (r.n, r.n_skipped) == (4, 1)
    assert r.exact == 0.75 and r.within_1 == 1.0
    assert r.cohen_kappa == pytest.approx(11 / 12)
    # ranks (1, 2, 3, 4) vs (1, 2, 3.5, 3.5): 4.5 / sqrt(5 * 4.5)
    assert r.spearman == pytest.approx(4.5 / math.sqrt(5 * 4.5))


def test_scale_sets_kappa_label_distances():
    # half-point scores where 1.0 was never given: without the scale 0.5 -> 1.5 is one step, with it two
    a, b = [0, 0.5, 1.5, 1.5, 0], [0, 1.5, 1.5, 0.5, 0.5]
    seen = score_agreement(a, b)
    scaled = score_agreement(a, b, scale=[0, 0.5, 1, 1.5])
    seen_codes, scaled_codes = {0: 0, 0.5: 1, 1.5: 2}, {0: 0, 0.5: 1, 1.5: 3}
    assert seen.cohen_kappa == pytest.approx(
        cohen_kappa_score([seen_codes[x] for x in a], [seen_codes[x] for x in b], weights="quadratic")
    )
    assert scaled.cohen_kappa == pytest.approx(
        cohen_kappa_score(
            [scaled_codes[x] for x in a], [scaled_codes[x] for x in b], labels=[0, 1, 2, 3], weights="quadratic"
        )
    )
    assert scaled.cohen_kappa != pytest.approx(seen.cohen_kappa)
    # integer scores: every integer between the extremes is a label, so an unused scale end changes nothing
    assert score_agreement([1, 4, 10], [2, 4, 9]).cohen_kappa == pytest.approx(
        score_agreement([1, 4, 10], [2, 4, 9], scale=range(0, 11)).cohen_kappa
    )
    with pytest.raises(ValueError, match="not on the scale"):
        score_agreement([0, 2], [1, 2], scale=range(1, 11))


def test_two_labels_use_plain_kappa():
    # po = 3/4, pe = 1/2 * 1/4 + 1/2 * 3/4 = 1/2 -> kappa 1/2
    r = score_agreement([0, 1, 1, 0], [0, 1, 0, 0])
    assert r.cohen_kappa == pytest.approx(0.5)
    assert r.exact == 0.75


def test_undefined_statistics_are_none_and_empty_input():
    r = score_agreement([5, 5, 5], [5, 5, 5])
    assert r.exact == 1.0 and r.spearman is None and r.cohen_kappa is None
    e = score_agreement([None], [3])
    assert (e.n, e.n_skipped, e.exact, e.cohen_kappa) == (0, 1, None, None)
    with pytest.raises(ValueError, match="same length"):
        score_agreement([1, 2], [1])


def test_score_agreement_per_category():
    r = score_agreement([1, 2, 8, 9, None], [1, 4, 8, 9, 2], categories=["a", "a", "b", "b", "b"])
    assert sorted(r.per_category) == ["a", "b"]
    assert (r.per_category["a"].n, r.per_category["a"].exact, r.per_category["a"].within_1) == (2, 0.5, 0.5)
    assert (r.per_category["b"].n, r.per_category["b"].n_skipped, r.per_category["b"].exact) == (2, 1, 1.0)
    assert r.per_category["a"].per_category == {}


# ------------------------------------------------------------------------------------------------ verdicts


def test_verdict_agreement_with_and_without_ties():
    a = ["model_a", "model_a", "model_b", "tie", "tie", "model_a"]
    b = ["model_a", "model_b", "model_b", "tie", "model_a", None]
    r = verdict_agreement(a, b)
    assert (r.n, r.n_skipped, r.agree) == (5, 1, 3)
    assert r.with_tie == pytest.approx(3 / 5)
    # without tie: drop every comparison where either judge said tie -> 3 left, 2 agree
    assert (r.n_without_tie, r.agree_without_tie) == (3, 2)
    assert r.without_tie == pytest.approx(2 / 3)


def test_verdict_agreement_perfect_and_bothbad_tie():
    a = ["model_a", "model_b", "tie (bothbad)", "tie"]
    r = verdict_agreement(a, ["model_a", "model_b", "tie", "tie"])
    assert r.with_tie == 1.0 and r.without_tie == 1.0 and r.n_without_tie == 2
    only_ties = verdict_agreement(["tie"], ["tie"])
    assert only_ties.with_tie == 1.0 and only_ties.without_tie is None
    with pytest.raises(ValueError, match="winner must be"):
        verdict_agreement(["A"], ["model_a"])


# ------------------------------------------------------------------------------------------------ leaderboards


def test_llmeval_gpt4_vs_human_leaderboards_spearman():
    gpt4 = read_leaderboard_csv(GPT4_BOARD)
    human = read_leaderboard_csv(HUMAN_BOARD)
    assert len(gpt4) == len(human) == 12
    assert gpt4["GPT4.0"] == 2.917 and human["ChatYuan-Large"] == 2.312
    r = rank_correlation(gpt4, human)
    models = sorted(gpt4)
    x = [gpt4[m] for m in models]
    y = [human[m] for m in models]
    # Spearman by hand: Pearson correlation of the average ranks (the human board has a tie at 2.312)
    by_hand = np.corrcoef(stats.rankdata(x), stats.rankdata(y))[0, 1]
    assert r.n == 12 and r.only_in_a == r.only_in_b == ()
    assert r.spearman == pytest.approx(by_hand)
    assert r.spearman == pytest.approx(stats.spearmanr(x, y).statistic)
    assert r.spearman == pytest.approx(0.9492, abs=1e-4)
    assert r.kendall == pytest.approx(stats.kendalltau(x, y).statistic)


def test_leaderboard_other_columns():
    acc = read_leaderboard_csv(GPT4_BOARD, "accuracy")
    assert acc["ChatYuan-Large"] == 1.961
    with pytest.raises(TransevalError, match=r"agreement_llmeval_itemized_gpt4.csv:1 field 'pairwise'"):
        read_leaderboard_csv(GPT4_BOARD, "pairwise")


def test_rank_correlation_reports_unshared_models():
    r = rank_correlation({"a": 3, "b": 2, "c": 1, "x": 9}, {"a": 30, "b": 10, "c": 20, "y": 0})
    assert r.n == 3 and r.only_in_a == ("x",) and r.only_in_b == ("y",)
    assert r.spearman == pytest.approx(0.5)  # ranks (3, 2, 1) vs (3, 1, 2)
    assert r.kendall == pytest.approx(1 / 3)  # 2 concordant, 1 discordant pair
    assert rank_correlation({"a": 1}, {"a": 2}).spearman is None


def test_bad_leaderboard_value(tmp_path):
    path = tmp_path / "board.csv"
    path.write_text("llm_name,overall\nm1,2.5\nm2,n/a\n", encoding="utf-8")
    with pytest.raises(TransevalError, match=r"board.csv:3 field 'overall': score must be a number"):
        read_leaderboard_csv(path)


# ------------------------------------------------------------------------------------------------ label files


def test_read_labels_csv_and_jsonl(tmp_path):
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text(
        "sample_id,turn,score,model,category\n81,0,8,m1,writing\n81,1,6.5,m1,writing\n\n82,,3,m1,math\n",
        encoding="utf-8",
    )
    labels = read_labels(csv_path)
    assert labels == [
        Label("81", 0, 8.0, None, "m1", "writing", 2),
        Label("81", 1, 6.5, None, "m1", "writing", 3),
        Label("82", 0, 3.0, None, "m1", "math", 5),
    ]
    jsonl = tmp_path / "labels.jsonl"
    jsonl.write_text(
        '{"sample_id": 81, "winner": "model_a"}\n\n{"sample_id": "81", "turn": 1, "winner": "tie (bothbad)"}\n',
        encoding="utf-8",
    )
    assert read_labels(jsonl) == [
        Label("81", 0, None, "model_a", None, None, 1),
        Label("81", 1, None, "tie", None, None, 3),
    ]


@pytest.mark.parametrize(
    ("name", "text", "where", "message"),
    [
        ("a.csv", "id,score\n1,3\n", "a.csv:1 field 'sample_id'", "missing column"),
        ("a.csv", "sample_id,model\n1,m\n", "a.csv:1 field 'score'", "need 'score' or 'winner'"),
        ("a.csv", "sample_id,score,rater\n1,3,x\n", "a.csv:1 field 'rater'", "unknown column"),
        ("a.csv", "sample_id,score\n1,3\n2,good\n", "a.csv:3 field 'score'", "score must be a number"),
        ("a.csv", "sample_id,score\n1,3\n2,nan\n", "a.csv:3 field 'score'", "finite"),
        ("a.csv", "sample_id,score\n1,\n", "a.csv:2 field 'score'", "exactly one of"),
        ("a.csv", "sample_id,score,winner\n1,3,tie\n", "a.csv:2 field 'score'", "has both"),
        ("a.csv", "sample_id,winner\n1,model_a\n2,A\n", "a.csv:3 field 'winner'", "winner must be one of"),
        ("a.csv", "sample_id,turn,score\n1,first,3\n", "a.csv:2 field 'turn'", "integer"),
        ("a.csv", "sample_id,turn,score\n1,-1,3\n", "a.csv:2 field 'turn'", "integer"),
        ("a.csv", "sample_id,score\n,3\n", "a.csv:2 field 'sample_id'", "missing value"),
        ("a.csv", "sample_id,score\n1,3,4\n", "a.csv:2", "expected 2 fields"),
        ("a.csv", "sample_id,score,model\n1,3,m\n2,4,m\n1,5,m\n", "a.csv:4 field 'sample_id'", "first on line 2"),
        ("a.csv", "sample_id,score\n", "a.csv", "no labels"),
        ("a.jsonl", '{"sample_id": "1", "score": 3}\n{"sample_id": "1"\n', "a.jsonl:2", "not valid JSON"),
        ("a.jsonl", '{"sample_id": "1", "score": "3"}\n', "a.jsonl:1 field 'score'", "score must be a number"),
        ("a.jsonl", '{"sample_id": "1", "score": 3, "turn": 1.5}\n', "a.jsonl:1 field 'turn'", "integer"),
        ("a.jsonl", '{"sample_id": "1", "winner": "model_c"}\n', "a.jsonl:1 field 'winner'", "model_a"),
        ("a.jsonl", '{"score": 3}\n', "a.jsonl:1 field 'sample_id'", "missing value"),
        ("a.jsonl", '{"sample_id": "1", "score": 3, "note": ""}\n', "a.jsonl:1 field 'note'", "unknown column"),
        (
            "a.jsonl",
            '{"sample_id": "1", "score": 3}\n{"sample_id": "1", "turn": 0, "score": 4}\n',
            "a.jsonl:2 field 'sample_id'",
            "duplicate label",
        ),
        ("a.txt", "sample_id,score\n1,3\n", "a.txt", ".csv or .jsonl"),
        # the MT-bench human judgments as published: turn 1-based, winner with tie variants
        ("h.json", '[{"question_id": 81, "model_a": "x", "model_b": "y", "winner": "model_a", "judge": "e",'
                   ' "turn": 0}]', "h.json:1 field 'turn'", "1-based"),
        ("h.jsonl", '{"question_id": 81, "model_a": "x", "model_b": "y", "winner": "A", "judge": "e", "turn": 1}\n',
         "h.jsonl:1 field 'winner'", "tie (inconsistent)"),
        ("h.jsonl", '{"question_id": 81, "model_a": "x", "winner": "tie", "judge": "e", "turn": 1}\n',
         "h.jsonl:1 field 'model_b'", "missing value"),
        ("h.jsonl", '{"question_id": 81, "model_a": "x", "model_b": "y", "winner": "tie", "judge": "e", "turn": 1,'
                    ' "votes": 3}\n', "h.jsonl:1 field 'votes'", "unknown field"),
        ("h.json", '{"question_id": 81}', "h.json", "JSON array"),
    ],
)
def test_bad_label_files_fail_with_file_line_and_field(tmp_path, name, text, where, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TransevalError) as info:
        read_labels(path)
    line = one_line(info.value)
    assert "\n" not in line
    assert f"{path.parent}/{where}" in line
    assert message in line


def test_missing_label_file(tmp_path):
    with pytest.raises(TransevalError, match="file not found"):
        read_labels(tmp_path / "none.csv")


def test_same_sample_for_different_models_is_not_a_duplicate(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("sample_id,score,model\n1,3,m1\n1,4,m2\n", encoding="utf-8")
    assert [(x.model, x.score) for x in read_labels(path)] == [("m1", 3.0), ("m2", 4.0)]
