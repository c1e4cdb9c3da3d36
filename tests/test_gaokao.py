"""GAOKAO-Bench objective: the official extraction and scoring rules, checked on the benchmark's own items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transeval.core.errors import TransevalError
from transeval.core.paths import tasks_dir
from transeval.tasks.gaokao_bench.utils import extract_answer, load_objective, process_results, score_item

DATA = tasks_dir() / "gaokao_bench" / "data"
KEYWORDS = sorted(e["keyword"] for e in json.loads((DATA / "Obj_Prompt.json").read_text())["examples"])


def formatted(analysis: str, answers: list[str], qtype: str) -> str:
    """A model output in the format the official prompt asks for, built from the item's own solution."""
    if qtype == "multi_question_choice":
        return "\n".join(f"（{i + 1}）【答案】 {a} <eoa>" for i, a in enumerate(answers))
    if qtype == "five_out_of_seven":
        return "【答案】 " + " ".join(answers) + " <eoa>"
    return f"【解析】 {analysis.strip()} <eoe>\n【答案】 {answers[0]} <eoa>"


def test_all_fourteen_files_and_1781_items():
    assert len(KEYWORDS) == 14
    assert sum(len(load_objective(k)["test"]) for k in KEYWORDS) == 1781


@pytest.mark.parametrize("keyword", KEYWORDS)
def test_extraction_recovers_gold_from_official_format(keyword):
    docs = load_objective(keyword)["test"]
    raw = json.loads((DATA / f"{keyword}.json").read_text(encoding="utf-8"))["example"]
    for doc, item in zip(docs, raw, strict=True):
        output = formatted(item["analysis"], doc["answer"], doc["question_type"])
        got = extract_answer(output, doc["question_type"], len(doc["answer"]))
        assert got == doc["answer"], (keyword, doc["index"], output[-80:])
        metrics = process_results(doc, [output])
        assert metrics["score_rate"]["points"] == metrics["score_rate"]["max_points"] > 0


def test_official_rules_on_messy_outputs():
    assert extract_answer("I think B. No wait, the answer is C", "single_choice", 1) == ["C"]
    assert extract_answer("no letters here", "single_choice", 1) == []
    # One 【答案】 per sub-question wins; otherwise the first capital letters are taken in order.
    assert extract_answer("（1）【答案】：B <eoa>（2）【答案】 D <eoa>", "multi_question_choice", 2) == ["B", "D"]
    assert extract_answer("Answers: B then D", "multi_question_choice", 2) == ["A", "B"]
    assert extract_answer("【解析】 ... <eoe>\n【答案】 A C <eoa>", "multi_choice", 1) == ["AC"]
    assert extract_answer("so the options are BD", "multi_choice", 1) == ["BD"]
    assert extract_answer("【答案】 G F E D C B A", "five_out_of_seven", 5) == ["G", "F", "E", "D", "C"]


def test_scoring_rules():
    assert score_item(["AC"], ["AC"], 6, "multi_choice").points == 6
    assert score_item(["A"], ["AC"], 6, "multi_choice").points == 3  # partial credit
    assert score_item(["AB"], ["AC"], 6, "multi_choice").points == 0
    s = score_item(["B", "D"], ["B", "C"], 4, "multi_question_choice")
    assert (s.points, s.max_points, s.reason) == (4, 8, None)
    miss = score_item(["B"], ["B", "C"], 4, "multi_question_choice")
    assert miss.points == 0 and miss.max_points == 8 and "extracted 1 answer(s) for 2" in miss.reason


def test_malformed_file_names_file_and_field(tmp_path: Path):
    (tmp_path / "Obj_Prompt.json").write_text((DATA / "Obj_Prompt.json").read_text(encoding="utf-8"), encoding="utf-8")
    bad = {"keywords": "2010-2022_Math_I_MCQs", "example": [{"question": "q", "answer": "A", "score": 5}]}
    (tmp_path / "2010-2022_Math_I_MCQs.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(TransevalError, match=r"2010-2022_Math_I_MCQs.json field 'example\[0\].answer'"):
        load_objective("2010-2022_Math_I_MCQs", data_dir=str(tmp_path))


def test_subjective_documents():
    from transeval.harness.lmeval.judged import load_docs

    meta = {"loader": "transeval.tasks.gaokao_bench.utils.load_subjective_rows", "language": "Chinese",
            "judge": {"rubric": "gaokao-sub-grade", "reference_field": "reference"}}
    docs = load_docs("gaokao_bench_sub", meta)
    assert len(docs) == 1030
    assert len({d["question_id"] for d in docs}) == 1030
    extra = json.loads(docs[0]["extra"])
    assert float(extra["max_score"]) > 0 and extra["grade_prompt"].startswith("你是一名")
    assert docs[0]["reference"][0] and len(docs[0]["turns"]) == 1


@pytest.mark.slow
def test_subjective_judged_on_own_point_scale(server, judge_env, tmp_path):
    from conftest import run_cli

    model_args = (f"model=candidate,base_url={server.base_url}/chat/completions,"
                  "num_concurrent=1,tokenized_requests=False")
    res = run_cli(["lm_eval", "--model", "local-chat-completions", "--model_args", model_args, "--tasks",
                   "gaokao_bench_sub", "--apply_chat_template", "--output_path", str(tmp_path / "runs"),
                   "--log_samples", "--limit", "3"], judge_env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    lines = next((tmp_path / "runs").rglob("judgments_*.jsonl")).read_text().splitlines()
    judgments = [j for j in map(json.loads, lines) if j["metric"] == "score"]
    assert len(judgments) == 3 and all(j["max_score"] and 0 <= j["score"] <= j["max_score"] for j in judgments)
    results = json.loads(next((tmp_path / "runs").rglob("results_*.json")).read_text())["results"]["gaokao_bench_sub"]
    assert results["points,none"] == sum(j["score"] for j in judgments)
    assert results["max_points,none"] == sum(j["max_score"] for j in judgments)
    fractions = [j["score"] / j["max_score"] for j in judgments]
    assert results["score,none"] == pytest.approx(sum(fractions) / 3)
    prompt = "\n".join(m["content"] for m in server.judge_requests()[0]["messages"])
    assert "【标准答案】" in prompt and "【分值】" in prompt and "【学生分析与答案】" in prompt
