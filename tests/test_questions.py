import json
from pathlib import Path

import pytest
from transeval.core.errors import JudgeConfigError, TransevalError
from transeval.core.paths import tasks_dir
from transeval.harness.lmeval.judged import load_docs, read_questions

META = {
    "data_file": "thai_mtbench/data/question_th.jsonl", "language": "Thai",
    "judge": {"rubric": "mtbench-th-single-v1", "rubric_multi_turn": "mtbench-th-single-v1-multi-turn",
              "rubric_reference": "mtbench-th-single-math-v1", "reference_field": "reference_gpt4",
              "reference_categories": ["math", "reasoning", "coding"]},
}


def test_bundled_thai_mtbench_is_complete():
    docs = load_docs("thai_mtbench", META)
    assert len(docs) == 80
    assert {d["category"] for d in docs} == {"writing", "roleplay", "reasoning", "math", "coding", "extraction",
                                              "stem", "humanities"}
    assert all(len(d["turns"]) == 2 and len(d["turns_en"]) == 2 for d in docs)
    with_ref = [d for d in docs if d["reference"]]
    assert len(with_ref) == 30 and {d["category"] for d in with_ref} == {"reasoning", "math", "coding"}


def test_english_task_uses_english_turns():
    docs = load_docs("mtbench_en", {**META, "turns_field": "turns_en", "language": "English"})
    assert docs[0]["turns"][0].startswith("Compose an engaging travel blog post")


def _write(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "q.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


GOOD = json.dumps({"question_id": 1, "category": "writing", "turns": ["a", "b"]})


@pytest.mark.parametrize(
    ("bad_line", "needle"),
    [
        ("{not json", "q.jsonl:2: not valid JSON"),
        (json.dumps({"question_id": 2, "turns": ["a"]}), "q.jsonl:2 field 'category': missing required field"),
        (json.dumps({"question_id": 2, "category": "x", "turns": "a"}),
         "q.jsonl:2 field 'turns': must be a list of strings (one per turn), got a string"),
        (json.dumps({"question_id": 2, "category": "x", "turns": []}), "q.jsonl:2 field 'turns': must be a non-empty"),
        (json.dumps({"question_id": 2, "category": "x", "turns": ["a"], "reference": "r"}),
         "q.jsonl:2 field 'reference': must be a non-empty list of strings"),
        ("[1, 2]", "q.jsonl:2: expected a JSON object"),
    ],
)
def test_malformed_questions_name_file_line_and_field(tmp_path, bad_line, needle):
    path = _write(tmp_path, [GOOD, bad_line])
    with pytest.raises(TransevalError) as err:
        read_questions(path, {})
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(TransevalError, match="questions file not found"):
        read_questions(tmp_path / "nope.jsonl", {})


def test_unknown_judge_prompt_names_yaml_and_field():
    meta = {**META, "judge": {**META["judge"], "rubric_multi_turn": "no-such-prompt"}}
    with pytest.raises(JudgeConfigError) as err:
        load_docs("thai_mtbench", meta)
    msg = str(err.value)
    assert "thai_mtbench.yaml" in msg and "metadata.judge.rubric_multi_turn" in msg and "no-such-prompt" in msg


def test_unknown_judge_key_is_rejected():
    meta = {**META, "judge": {**META["judge"], "rubrik": "x"}}
    with pytest.raises(JudgeConfigError, match="metadata.judge.rubrik"):
        load_docs("thai_mtbench", meta)


def test_bad_output_format():
    with pytest.raises(TransevalError, match="output_format"):
        load_docs("thai_mtbench", {**META, "output_format": "xml"})


def test_tasks_dir_holds_the_task_yamls():
    assert (tasks_dir() / "thai_mtbench" / "thai_mtbench.yaml").is_file()
    assert (tasks_dir() / "mtbench_en" / "mtbench_en.yaml").is_file()
