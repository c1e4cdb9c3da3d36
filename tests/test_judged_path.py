"""The one judged-task path: MT-bench regression, aspects (LLM-Eval), pairwise with position swap, extra rubrics,
served model, merge rules. Against the real local scripted server."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SECRET
from scripted_server import ScriptedOpenAI
from transeval.core.records import Conversation, JudgeSpec, Question, TurnOutput
from transeval.harness.judging.pipeline import judge_task, score_metrics
from transeval.harness.judging.store import merge_judgments, read_judgments, read_scores
from transeval.harness.lmeval.judged import load_docs, question_from_doc
from transeval.judges.config import JudgeSettings
from transeval.judges.grade import jobs_for, judge

DATA = Path(__file__).parent / "data"
MT_META = {"data_file": "thai_mtbench/data/question_th.jsonl", "turns_field": "turns", "language": "Thai",
           "target_tag": "<TH>",
           "judge": {"rubric": "mtbench-th-single-v1", "rubric_reference": "mtbench-th-single-math-v1",
                     "rubric_multi_turn": "mtbench-th-single-v1-multi-turn",
                     "rubric_multi_turn_reference": "mtbench-th-single-math-v1-multi-turn",
                     "reference_categories": ["math", "reasoning", "coding"], "reference_field": "reference_gpt4"}}


@pytest.fixture
def settings(server: ScriptedOpenAI, tmp_path: Path) -> JudgeSettings:
    return JudgeSettings(model="judge-scripted", base_url=server.base_url, api_key=SECRET, max_retries=2,
                         timeout_s=1.0, backoff_s=0.01, concurrency=4, cache_path=tmp_path / "cache.sqlite")


def mtbench_convs(ids: list[str]) -> list[Conversation]:
    docs = {d["question_id"]: d for d in load_docs("thai_mtbench", MT_META)}
    return [Conversation(question_from_doc(docs[q]), tuple(
        TurnOutput("p", f"raw {q} {t}", f"คำตอบ {q} ข้อ {t + 1}") for t in range(2))) for q in ids]


def test_mtbench_scores_identical_to_recorded_values(server, settings):
    """Recorded with the judge path before the judged-task refactor (tests/data/mtbench_regression.json)."""
    rec = json.loads((DATA / "mtbench_regression.json").read_text(encoding="utf-8"))
    convs = mtbench_convs(rec["question_ids"])
    out = judge(convs, jobs_for(convs[0].question.judge), settings)
    got = [{"sample_id": j.sample_id, "turn": j.turn, "score": j.score, "rubric": j.rubric} for j in out.judgments]
    assert sorted(got, key=lambda d: (d["sample_id"], d["turn"])) == sorted(
        rec["judgments"], key=lambda d: (d["sample_id"], d["turn"]))
    s = score_metrics("thai_mtbench", settings.model, out.judgments, convs)["score"]
    assert [s.overall.mean, s.overall.ci_low, s.overall.ci_high] == pytest.approx(rec["overall"])
    assert {k: v.mean for k, v in s.per_turn.items()} == pytest.approx(rec["per_turn"])
    assert {k: v.mean for k, v in s.per_category.items()} == pytest.approx(rec["per_category"])
    assert all(j.served_model == "judge-scripted" for j in out.judgments)


def one_turn(qid: str, answer: str, spec: JudgeSpec, baseline: str | None = None, category: str = "c",
             language: str = "Chinese", reference: tuple[str, ...] | None = ("参考答案",)) -> Conversation:
    q = Question("t", qid, category, ("问题 " + qid,), ("q " + qid,), reference, language, "plain", spec,
                 baselines={"base": (baseline,)} if baseline is not None else {})
    return Conversation(q, (TurnOutput("p", answer, answer),))


def test_aspects_missing_or_out_of_range_is_none_with_reason_others_count(server, settings, tmp_path):
    spec = JudgeSpec(rubric="llm-eval-aspects", mode="aspects")
    replies = {
        "问题 1": {"accuracy": 3, "fluency": 3, "informativeness": 2, "logical_coherence": 3, "harmlessness": 3},
        "问题 2": {"accuracy": 4, "fluency": 2, "informativeness": 1, "logical_coherence": 2, "harmlessness": 3},
        "问题 3": {"accuracy": 1, "fluency": 1, "informativeness": 1, "harmlessness": 3},
    }
    server.judge_script = lambda prompt: json.dumps(
        {"explanation": "x", **next(v for k, v in replies.items() if k in prompt)})
    convs = [one_turn(str(i), f"回答{i}", spec) for i in (1, 2, 3)]
    res = judge_task(convs, jobs_for(spec), settings, tmp_path, "2026")
    by_id = {j.sample_id: j for j in res.judgments if j.metric == "score"}
    assert by_id["2"].aspects["accuracy"] is None and "outside 0-3" in by_id["2"].aspect_reasons["accuracy"]
    assert by_id["3"].aspects["logical_coherence"] is None
    assert "missing" in by_id["3"].aspect_reasons["logical_coherence"]
    assert by_id["2"].score == pytest.approx((2 + 1 + 2 + 3) / 4)
    s = res.scores["score"]
    assert s.mode == "aspects"
    assert s.aspects["accuracy"].mean == pytest.approx((3 + 1) / 2) and s.aspects["accuracy"].n == 2
    assert s.aspects["logical_coherence"].mean == pytest.approx((3 + 2) / 2)
    assert s.aspects["fluency"].mean == pytest.approx(2.0)
    avg = sum(e.mean for e in s.aspects.values()) / 5
    assert s.overall.mean == pytest.approx(avg)  # Table 1's AVG: mean of the aspect columns
    # the request asked for a JSON object by schema
    assert server.judge_requests()[0]["response_format"]["type"] == "json_schema"
    assert read_scores(tmp_path / "scores_t_2026.json")["score"].aspects["accuracy"].mean == pytest.approx(2.0)


PAIR = JudgeSpec(rubric="mtbench-single-v1", rubrics=("pair-v2",), baseline="base")


def test_pairwise_always_a_is_all_ties(server, settings):
    server.judge_script = lambda prompt: "Assistant A is better. [[A]]"
    convs = [one_turn(str(i), f"model answer {i}", PAIR, baseline=f"baseline answer {i}") for i in range(6)]
    out = judge(convs, jobs_for(PAIR, own=False), settings)
    assert server.judge_calls() == 12  # both orders
    assert all(j.pair.winner == "tie" and j.score == 0.5 for j in out.judgments)
    s = score_metrics("t", "judge", out.judgments, convs)["win_rate"]
    assert (s.pairwise.wins, s.pairwise.ties, s.pairwise.losses) == (0, 6, 0)
    assert s.overall.mean == pytest.approx(0.5)


def test_pairwise_judge_preferring_the_models_text_gives_100_percent_with_ci(server, settings):
    def prefer_model(prompt: str) -> str:
        a = prompt.split("[The Start of Assistant A's Answer]")[1].split("[The End")[0]
        return "[[A]]" if "model answer" in a else "[[B]]"

    server.judge_script = prefer_model
    convs = [one_turn(str(i), f"model answer {i}", PAIR, baseline=f"baseline answer {i}", category="ab"[i % 2])
             for i in range(10)]
    out = judge(convs, jobs_for(PAIR, own=False), settings)
    s = score_metrics("t", "judge", out.judgments, convs)["win_rate"]
    assert (s.pairwise.wins, s.pairwise.ties, s.pairwise.losses) == (10, 0, 0)
    assert s.overall.mean == 1.0 and s.overall.ci_high == pytest.approx(1.0)
    assert s.overall.ci_low == pytest.approx(0.7225, abs=1e-4)  # Wilson 10/10
    assert set(s.per_category) == {"a", "b"} and s.per_category["a"].mean == 1.0
    first = out.judgments[0].pair
    assert (first.first, first.second, first.winner) == ("A", "B", "model")


def test_extra_rubric_is_its_own_metric_and_served_model_recorded(server, settings, tmp_path):
    server.served_model = "judge-scripted-2026-01-01"
    spec = JudgeSpec(rubric="mtbench-single-v1", rubrics=("fluency",))
    convs = [one_turn(str(i), f"answer {i}", spec, language="Thai") for i in range(3)]
    res = judge_task(convs, jobs_for(spec), settings, tmp_path, "d1")
    assert set(res.scores) == {"score", "fluency", "wrong_language_rate", "switching_rate"}
    assert server.judge_calls() == 6
    fluency_prompts = [r for r in server.judge_requests() if "FLUENCY" in r["messages"][-1]["content"]]
    assert len(fluency_prompts) == 3 and all("written in Thai" in r["messages"][-1]["content"]
                                             for r in fluency_prompts)
    head = res.scores["fluency"].headline()
    assert "fluency" in head and "fluency_n_scored" in head
    assert res.scores["fluency"].served_models == ("judge-scripted-2026-01-01",)
    assert all(j.served_model == "judge-scripted-2026-01-01" and j.judge_model == "judge-scripted"
               for j in read_judgments(tmp_path / "judgments_t_d1.jsonl") if j.metric in ("score", "fluency"))


def test_a_failed_rejudge_never_replaces_a_score(server, settings, tmp_path):
    spec = JudgeSpec(rubric="mtbench-single-v1")
    convs = [one_turn(str(i), f"answer {i}", spec) for i in range(4)]
    first = judge_task(convs, jobs_for(spec), settings, tmp_path, "d")
    dead = replace(settings, base_url="http://127.0.0.1:9/v1", max_retries=0, cache_path=tmp_path / "cold.sqlite")
    again = judge_task(convs, jobs_for(spec), dead, tmp_path, "d")
    assert again.failed == 4
    assert [j.score for j in again.judgments] == [j.score for j in first.judgments]
    assert again.scores["score"].overall == first.scores["score"].overall
    kept = [j for j in read_judgments(tmp_path / "judgments_t_d.jsonl") if j.metric == "score"]
    assert [j.score for j in kept] == [j.score for j in first.judgments if j.metric == "score"]
    # merge rule: an unscored-for-content judgment replaces a transport failure, a score replaces both
    ok, failed = first.judgments[0], replace(first.judgments[0], score=None, reason="x", error_kind="transport")
    content = replace(failed, error_kind="content")
    assert merge_judgments([failed, content]) == [content]
    assert merge_judgments([ok, content]) == [ok] and merge_judgments([content, ok]) == [ok]
