"""LLM-Eval (LLMEval-1) data: the bundled Chinese sample, the copied leaderboards, and the questions loader."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from transeval.core.errors import TransevalError
from transeval.tasks.llm_eval.utils import CATEGORIES, OFFICIAL_COUNTS, category_from_uuid, load_questions

TASK_DIR = Path(__file__).resolve().parents[1] / "tasks" / "llm_eval"
SAMPLE = TASK_DIR / "data" / "llm_eval_zh_sample.jsonl"
REPORTED = TASK_DIR / "data" / "reported"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def sample_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_json(tmp_path: Path, data: Any, name: str = "dialogs.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def dialog(question: str, answer: str = "回答") -> list[dict[str, str]]:
    return [{"role": "user", "content": question}, {"role": "llm", "content": answer}]


# ---------------------------------------------------------------- the bundled sample


def test_sample_has_two_questions_in_each_of_the_17_categories(sample_rows: list[dict[str, Any]]) -> None:
    assert len(sample_rows) == 34
    assert len(CATEGORIES) == 17
    assert Counter(r["category"] for r in sample_rows) == {c: 2 for c in CATEGORIES}


def test_sample_ids_are_unique_and_follow_the_pattern(sample_rows: list[dict[str, Any]]) -> None:
    ids = [r["question_id"] for r in sample_rows]
    assert len(set(ids)) == 34
    for r in sample_rows:
        assert re.fullmatch(rf"zh-sample-{r['category']}-[12]", r["question_id"])


def test_sample_rows_have_the_documented_shape(sample_rows: list[dict[str, Any]]) -> None:
    for r in sample_rows:
        assert set(r) == {"question_id", "category", "turns", "reference", "source"}
        assert r["source"] == "transeval-authored sample (not the official LLMEval-1 questions)"
        assert isinstance(r["turns"], list) and len(r["turns"]) == 1
        assert isinstance(r["reference"], list) and len(r["reference"]) == 1


def test_sample_text_is_chinese_and_references_are_concise(sample_rows: list[dict[str, Any]]) -> None:
    for r in sample_rows:
        question, reference = r["turns"][0], r["reference"][0]
        assert question.strip() and reference.strip(), r["question_id"]
        assert len(CJK.findall(question)) >= 10, r["question_id"]
        assert CJK.search(reference), r["question_id"]
        assert len(CJK.findall(reference)) <= 300, r["question_id"]


def test_sample_passages_are_in_the_instruction(sample_rows: list[dict[str, Any]]) -> None:
    # Reading comprehension, summary, rewrite and retrieval items carry their passage (long instructions).
    for r in sample_rows:
        if r["category"] in ("Reading_Comprehension", "Summary", "Rewrite", "Retrieval"):
            assert len(CJK.findall(r["turns"][0])) >= 90, r["question_id"]


def test_sample_code_references_run() -> None:
    rows = {r["question_id"]: r for r in load_questions(SAMPLE)}
    namespace: dict[str, Any] = {}
    for qid in ("zh-sample-Code-1", "zh-sample-Code-2"):
        code = re.search(r"```python\n(.*?)```", rows[qid]["reference"][0], re.S)
        assert code is not None
        exec(code.group(1), namespace)  # our own reference answer
    assert namespace["is_palindrome"]("A man, a plan, a canal: Panama") is True
    assert namespace["is_palindrome"]("race a car") is False
    assert namespace["sum_even"]([1, 2, 3, 4]) == 6
    assert namespace["sum_even"]([-3, -2, 0, 7]) == -2


def test_loader_reads_the_sample_unchanged(sample_rows: list[dict[str, Any]]) -> None:
    rows = load_questions(SAMPLE)
    assert [r["question_id"] for r in rows] == [r["question_id"] for r in sample_rows]
    for got, raw in zip(rows, sample_rows, strict=True):
        assert got == {k: raw[k] for k in ("question_id", "category", "turns", "reference")}


# ---------------------------------------------------------------- copied leaderboards and question index


@pytest.mark.parametrize(
    ("name", "columns"),
    [
        ("itemized_eval_gpt4_leaderboard.csv", 13),
        ("itemized_eval_manual_denoised_leaderboard.csv", 13),
        ("pairwise_eval_gpt4_leaderboard.csv", 3),
        ("pairwise_eval_manual_denoised_leaderboard.csv", 3),
    ],
)
def test_reported_leaderboards_have_12_models(name: str, columns: int) -> None:
    with (REPORTED / name).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12
    assert len(rows[0]) == columns
    assert rows[0]["llm_name"] == "GPT4.0"


def test_reported_gpt4_itemized_matches_the_readme_numbers() -> None:
    with (REPORTED / "itemized_eval_gpt4_leaderboard.csv").open(encoding="utf-8") as fh:
        rows = {r["llm_name"]: r for r in csv.DictReader(fh)}
    # llmeval-1 README: GPT4.0 overall 2.833 (human) / 2.917 (GPT-4, in brackets); ChatYuan-Large 2.411 by GPT-4.
    assert rows["GPT4.0"]["overall"] == "2.917"
    assert rows["ChatYuan-Large"]["overall"] == "2.411"


def test_question_index_matches_official_counts() -> None:
    rows = [json.loads(line) for line in (TASK_DIR / "data" / "question_index.derived.jsonl").read_text().splitlines()]
    assert len(rows) == 453 == sum(OFFICIAL_COUNTS.values())
    assert Counter(r["category"] for r in rows) == OFFICIAL_COUNTS
    assert all(category_from_uuid(r["question_uuid"]) == r["category"] for r in rows)


def test_category_from_uuid() -> None:
    assert category_from_uuid("Factual_questions_12") == "Factual_questions"
    assert category_from_uuid("Math_Solving_3") == "Math_Solving"
    assert category_from_uuid("Mathematics_1") is None
    assert category_from_uuid("Classification") is None


# ---------------------------------------------------------------- loader: accepted shapes


def test_official_shape_list_of_per_model_records(tmp_path: Path) -> None:
    # The assumed dialogs.json shape: one record per (question, model), as in LLMEval-2's data files.
    data = [
        {"question_uuid": "Classification_1", "dialog_uuid": "GPT4.0_Classification_1", "llm_name": "GPT4.0",
         "dialog": dialog("把下列动物分为哺乳动物和鸟类：猫、麻雀"), "hint": "哺乳动物：猫；鸟类：麻雀"},
        {"question_uuid": "Math_Solving_2", "dialog_uuid": "GPT4.0_Math_Solving_2", "llm_name": "GPT4.0",
         "dialog": dialog("3加4等于几？"), "hint": 7},
        {"question_uuid": "Classification_1", "dialog_uuid": "MOSS-16B_Classification_1", "llm_name": "MOSS-16B",
         "dialog": dialog("把下列动物分为哺乳动物和鸟类： 猫、麻雀\n"), "hint": "哺乳动物：猫；鸟类：麻雀"},
        {"question_uuid": "Math_Solving_2", "dialog_uuid": "MOSS-16B_Math_Solving_2", "llm_name": "MOSS-16B",
         "dialog": dialog("3加4等于几？", "8"), "hint": 7},
    ]
    rows = load_questions(write_json(tmp_path, data))
    assert rows == [
        {"question_id": "Classification_1", "category": "Classification",
         "turns": ["把下列动物分为哺乳动物和鸟类：猫、麻雀"], "reference": ["哺乳动物：猫；鸟类：麻雀"]},
        {"question_id": "Math_Solving_2", "category": "Math_Solving", "turns": ["3加4等于几？"], "reference": ["7"]},
    ]


def test_object_of_records_keyed_by_dialog_uuid(tmp_path: Path) -> None:
    data = {
        "ChatGLM-6B_Poetry_3": {"llm_name": "ChatGLM-6B", "dialog": dialog("写一首关于秋天的诗")},
        "GPT3.5_Poetry_3": {"llm_name": "GPT3.5", "dialog_uuid": "GPT3.5_Poetry_3",
                            "dialog": dialog("写一首关于秋天的诗")},
        "Summary_1": {"question": "概括下文：今天下雨了。"},
    }
    rows = load_questions(write_json(tmp_path, data))
    assert [(r["question_id"], r["category"], r["turns"], r["reference"]) for r in rows] == [
        ("Poetry_3", "Poetry", ["写一首关于秋天的诗"], None),
        ("Summary_1", "Summary", ["概括下文：今天下雨了。"], None),
    ]


def test_per_question_records_with_answers_keyed_per_model(tmp_path: Path) -> None:
    data = [{"question_uuid": "Translation_4", "question": "把“你好”翻译成英文。", "reference": "Hello.",
             "answers": {"GPT4.0": "Hello.", "MOSS-16B": "Hi."}}]
    rows = load_questions(write_json(tmp_path, data))
    assert rows == [{"question_id": "Translation_4", "category": "Translation", "turns": ["把“你好”翻译成英文。"],
                     "reference": ["Hello."]}]


def test_per_question_records_with_dialogs_keyed_per_model(tmp_path: Path) -> None:
    sharegpt = [{"from": "human", "value": "你好，请介绍一下你自己。"}, {"from": "gpt", "value": "我是……"}]
    data = [{"id": "Conversation_9", "ref_answer": ["友好地自我介绍"],
             "dialogs": {"GPT4.0": sharegpt, "NewBing": dialog("你好，请介绍一下你自己。")}}]
    rows = load_questions(write_json(tmp_path, data))
    assert rows == [{"question_id": "Conversation_9", "category": "Conversation", "turns": ["你好，请介绍一下你自己。"],
                     "reference": ["友好地自我介绍"]}]


@pytest.mark.parametrize("field", ["instruction", "prompt", "query"])
def test_question_text_field_variants_and_category_field(tmp_path: Path, field: str) -> None:
    data = [{"id": 17, field: "计算12乘以12。", "category": "math solving", "answer": "144"}]
    rows = load_questions(write_json(tmp_path, data))
    assert rows == [
        {"question_id": "17", "category": "Math_Solving", "turns": ["计算12乘以12。"], "reference": ["144"]}
    ]


def test_a_models_answer_is_not_taken_as_reference(tmp_path: Path) -> None:
    data = [{"question_uuid": "Code_1", "llm_name": "GPT4.0", "question": "写一个Python的hello world。",
             "answer": "print('hello world')"}]
    assert load_questions(write_json(tmp_path, data))[0]["reference"] is None


def test_most_common_text_wins_when_models_saw_different_wordings(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    texts = ["请解释什么是光合作用。", "请解释什么是光合作用。", "请简单解释什么是光合作用？"]
    data = [{"question_uuid": "Factual_questions_5", "llm_name": f"m{i}", "dialog": dialog(t)} for i, t in
            enumerate(texts)]
    with caplog.at_level("WARNING"):
        rows = load_questions(write_json(tmp_path, data))
    assert rows[0]["turns"] == ["请解释什么是光合作用。"]
    assert "1 question(s) have different texts" in caplog.text


def test_json_list_of_our_rows(tmp_path: Path) -> None:
    data = [{"question_id": "Rewrite_2", "category": "Rewrite", "turns": ["把这句话改得正式一些：明儿见。"],
             "reference": ["明天见。"]}]
    assert load_questions(write_json(tmp_path, data))[0]["reference"] == ["明天见。"]


# ---------------------------------------------------------------- loader: rejected input


def _ok(qid: str = "Reasoning_1", **extra: Any) -> dict[str, Any]:
    question = "如果所有的A都是B，那么所有的B都是A吗？"
    return {"question_uuid": qid, "llm_name": "GPT4.0", "dialog": dialog(question), **extra}


BAD_JSON: list[tuple[str, Any, str, str | None, str]] = [
    # (case, content, field, record label, expected words)
    ("top-level string", "dialogs", "", None, "top level"),
    ("top-level number", 3, "", None, "top level"),
    ("record not an object", [_ok(), "Reasoning_2"], "", "[1]", "expected a JSON object"),
    ("no question text", [{"question_uuid": "Reasoning_1", "llm_name": "GPT4.0"}], "question", "[0]",
     "no question text"),
    ("no id", [{"question": "你好"}], "question_id", "[0]", "no question id"),
    ("id not a string", [{"question_uuid": ["Reasoning_1"], "question": "你好"}], "question_uuid", "[0]",
     "string or integer id"),
    ("category field outside the 17", [{"id": "q1", "category": "Mathematics", "question": "1+1=?"}], "category", "[0]",
     "not one of the 17"),
    ("uuid prefix outside the 17", [_ok("Mathematics_1")], "question_uuid", "[0]", "not '<category>_<number>'"),
    ("duplicate id, different texts", [_ok(), {**_ok(), "dialog": dialog("另一个问题")}], "dialog", "[1]",
     "disagree on the question text of question 'Reasoning_1'"),
    ("duplicate id, different categories",
     [{"question_uuid": "x", "category": "Code", "question": "q"}, {"question_uuid": "x", "category": "Poetry",
                                                                     "question": "q"}],
     "category", "[1]", "has category 'Poetry' here but 'Code'"),
    ("turns not a list", [{"question_uuid": "Reasoning_1", "turns": "你好"}], "turns", "[0]",
     "expected a list of strings"),
    ("turns not strings", [{"question_uuid": "Reasoning_1", "turns": [1]}], "turns", "[0]",
     "expected a list of strings"),
    ("two turns", [{"question_uuid": "Reasoning_1", "turns": ["一", "二"]}], "turns", "[0]", "exactly one turn"),
    ("empty text", [{"question_uuid": "Reasoning_1", "question": "  "}], "question", "[0]", "empty question text"),
    ("two user messages", [{**_ok(), "dialog": dialog("一") + dialog("二")}], "dialog", "[0]", "2 user messages"),
    ("no user message", [{**_ok(), "dialog": [{"role": "llm", "content": "回答"}]}], "dialog", "[0]",
     "no user message"),
    ("message without role", [{**_ok(), "dialog": [{"content": "你好"}]}], "dialog", "[0]", "no 'role'"),
    ("dialog a string", [{**_ok(), "dialog": "用户：你好"}], "dialog", "[0]", "expected a list of messages"),
    ("reference an object", [_ok(hint={"a": 1})], "hint", "[0]", "expected a string or a list of one string"),
    ("keyed record not an object", {"Reasoning_1": "你好"}, "", "['Reasoning_1']", "expected a JSON object"),
    ("empty list", [], "", None, "no questions"),
]


@pytest.mark.parametrize(("content", "field", "record", "words"), [c[1:] for c in BAD_JSON],
                         ids=[c[0] for c in BAD_JSON])
def test_malformed_dialogs_json_is_rejected_with_file_record_and_field(
    tmp_path: Path, content: Any, field: str, record: str | None, words: str
) -> None:
    path = write_json(tmp_path, content)
    with pytest.raises(TransevalError) as info:
        load_questions(path)
    exc = info.value
    message = str(exc)
    assert exc.file == str(path) and str(path) in message
    assert words in message
    if field:
        assert exc.field == field and f"field '{field}'" in message
    if record is not None:
        assert f"record {record}" in message


def test_not_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "dialogs.json"
    path.write_text('[\n {"question_uuid": "Code_1",\n  oops}\n]', encoding="utf-8")
    with pytest.raises(TransevalError, match="not valid JSON") as info:
        load_questions(path)
    assert info.value.file == str(path) and info.value.line == 3


def test_json_lines_under_a_json_name_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "questions.json"
    path.write_text('{"question_id": "Code_1", "question": "a"}\n{"question_id": "Code_2", "question": "b"}\n')
    with pytest.raises(TransevalError, match=r"name the file \.jsonl"):
        load_questions(path)


def test_jsonl_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    row = {"question_id": "q1", "category": "Code", "turns": ["写代码"], "reference": None}
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(row) + "\n\n" + json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(TransevalError, match="first on line 1") as info:
        load_questions(path)
    assert info.value.line == 3 and info.value.field == "question_id"


def test_jsonl_bad_line_and_missing_category(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question_id": "q1", "category": "Code", "turns": ["a"]}\nnot json\n', encoding="utf-8")
    with pytest.raises(TransevalError, match="not valid JSON") as info:
        load_questions(path)
    assert info.value.line == 2
    path.write_text('{"question_id": "zh-1", "turns": ["a"]}\n', encoding="utf-8")
    with pytest.raises(TransevalError, match="no 'category' field") as info:
        load_questions(path)
    assert info.value.line == 1 and info.value.field == "question_id"


def test_missing_empty_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(TransevalError, match="not found"):
        load_questions(tmp_path / "absent.json")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(TransevalError, match="no questions"):
        load_questions(empty)
    latin = tmp_path / "latin.json"
    latin.write_bytes('[{"question": "caf\u00e9"}]'.encode("latin-1"))
    with pytest.raises(TransevalError, match="not UTF-8"):
        load_questions(latin)


@pytest.mark.parametrize(
    "content",
    [None, True, {}, [[]], [{}], {"a": {}}, [{"question_uuid": None, "question": None}],
     [{"question_uuid": "Code_1", "dialog": [None]}], [{"question_uuid": "Code_1", "dialogs": {}}],
     [{"question_uuid": "Code_1", "dialog": [{"role": "user", "content": 5}]}],
     [{"question_uuid": "Code_1", "question": "q", "reference": ["a", "b"]}],
     [{"question_uuid": "Code_1", "question": "q", "reference": True}],
     [{"question_uuid": "Code_1", "question": "q", "category": 3}],
     [{"question_uuid": "Code_1", "question": "q", "dialogs": {"m": dialog("x")}}]],
)
def test_odd_input_raises_only_transeval_errors(tmp_path: Path, content: Any) -> None:
    path = write_json(tmp_path, content)
    try:
        load_questions(path)
    except TransevalError as exc:
        assert exc.file == str(path)
