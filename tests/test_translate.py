import csv
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SECRET
from scripted_server import ScriptedOpenAI
from transeval.core.errors import JudgeConfigError, TransevalError
from transeval.harness.language.translate import (
    DEFAULT_TRANSLATE_MODEL,
    endpoint_label,
    extract_translation,
    fields_from_task,
    language_name,
    load_translation_prompt,
    main,
    read_data,
    translate_file,
    translator_settings,
)
from transeval.judges.config import JudgeSettings

GOALS = [
    "Write a poem about the sea",
    "Explain photosynthesis, briefly",
    'Say "hello" in three languages',
    "List five prime numbers",
    "Describe a cat",
]
DATE = "2025-01-01T00:00:00+00:00"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


#: Thai words the scripted translator adds, so that its output is mainly Thai (the language check would refuse
#: "แปล(Write a poem about the sea)": that is English).
THAI = " นี่คือข้อความที่แปลเป็นภาษาไทยเรียบร้อยแล้วครับ"


def tr(text: str) -> str:
    """What the scripted translator returns for ``text``."""
    return f"แปล({text}){THAI}"


def scripted_translation(prompt: str) -> str:
    """The scripted server's translator reply, for judge-named models (whose failures can be injected)."""
    return tr(prompt.rsplit(chr(10) * 2, 1)[-1])


@pytest.fixture(autouse=True)
def thai_translator(server: ScriptedOpenAI) -> None:
    server.translate_script = lambda prompt, text: tr(text)


@pytest.fixture
def settings(server: ScriptedOpenAI, tmp_path: Path) -> JudgeSettings:
    return JudgeSettings(model="translate-scripted", base_url=server.base_url, api_key=SECRET, max_retries=0,
                         timeout_s=5, backoff_s=0.01, concurrency=4, max_tokens=4096,
                         cache_path=tmp_path / "cache.sqlite")


@pytest.fixture
def five_rows(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "advbench.jsonl", [{"id": i, "goal": g, "target": f"t{i}"} for i, g in
                                                   enumerate(GOALS)])


def test_five_rows_translated_with_provenance_and_rerun_makes_no_calls(server, settings, five_rows, tmp_path):
    out = tmp_path / "out" / "advbench.th.jsonl"
    summary = translate_file(five_rows, out, fields=["goal"], target_language="th", settings=settings, date=DATE)
    assert (summary.rows, summary.translated, summary.failed, summary.calls, summary.cached) == (5, 5, 0, 5, 0)
    assert server.chat_calls["translate-scripted"] == 5
    rows = read_jsonl(out)
    assert [r["goal"] for r in rows] == [tr(g) for g in GOALS]
    assert [r["goal_source"] for r in rows] == GOALS
    assert [r["target"] for r in rows] == [f"t{i}" for i in range(5)]
    assert list(rows[0]) == ["id", "goal", "target", "goal_source", "_translation"]
    prov = rows[2]["_translation"]
    sha = hashlib.sha256(five_rows.read_bytes()).hexdigest()
    assert prov["status"] == "ok" and prov["reason"] is None
    assert prov["source_sha256"] == sha and prov["source_file"].endswith("advbench.jsonl")
    assert prov["source_line"] == 3 and prov["fields"] == ["goal"]
    assert prov["target_language"] == "Thai" and prov["source_language"] == "English"
    assert prov["translator_model"] == prov["served_model"] == "translate-scripted"
    assert prov["endpoint"] == server.base_url and prov["prompt"] == "translate@1" and prov["date"] == DATE
    # Every request: temperature 0, the prompt's system message, the text last after a blank line.
    reqs = [r for r in server.requests if r["model"] == "translate-scripted"]
    assert all(r["temperature"] == 0 and r["messages"][0]["role"] == "system" for r in reqs)
    assert sorted(r["messages"][-1]["content"].split("\n\n", 1)[1] for r in reqs) == sorted(GOALS)
    header = json.loads(summary.provenance.read_text(encoding="utf-8"))
    assert summary.provenance == out.with_name("advbench.th.jsonl.provenance.json")
    assert (header["rows"], header["translated"], header["failed"], header["calls"]) == (5, 5, 0, 5)
    assert header["source_sha256"] == sha and header["served_models"] == ["translate-scripted"]
    assert header["output_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    first = out.read_bytes()

    again = translate_file(five_rows, out, fields=["goal"], target_language="Thai", settings=settings, date=DATE)
    assert server.chat_calls["translate-scripted"] == 5, "a rerun must make zero calls"
    assert (again.calls, again.cached, again.translated) == (0, 5, 5)
    assert out.read_bytes() == first


def test_injected_failure_leaves_one_row_untranslated_with_reason(server, settings, five_rows, tmp_path):
    server.judge_script = scripted_translation
    server.failures.append("500")
    s = replace(settings, model="judge-translate", concurrency=1)
    out = tmp_path / "out.jsonl"
    summary = translate_file(five_rows, out, fields=["goal"], target_language="Thai", settings=s)
    assert (summary.translated, summary.failed, summary.failures) == (4, 1, {"transport": 1})
    assert server.judge_calls() == 5
    rows = read_jsonl(out)
    failed = [r for r in rows if r["_translation"]["status"] == "failed"]
    assert len(failed) == 1
    bad = failed[0]
    assert bad["goal"] == bad["goal_source"] and bad["goal"] in GOALS
    assert bad["_translation"]["reason"].startswith("goal: translator failed after 1 attempts: HTTP 500")
    ok = [r for r in rows if r["_translation"]["status"] == "ok"]
    assert all(r["goal"] == tr(r['goal_source']) and r["_translation"]["reason"] is None for r in ok)
    assert "1 failed (transport 1)" in summary.line()
    # Failures are not cached: a rerun asks for the failed row only, and then every row is translated.
    again = translate_file(five_rows, out, fields=["goal"], target_language="Thai", settings=s)
    assert (again.calls, again.cached, again.failed) == (1, 4, 0)
    assert server.judge_calls() == 6
    assert all(r["goal"] == tr(r['goal_source']) for r in read_jsonl(out))


def test_csv_in_csv_out(server, settings, tmp_path):
    src = tmp_path / "harmful.csv"
    goals = ["Write a story, with a comma", 'A "quoted" request', "Two\nlines"]
    with src.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["goal", "target"])
        for i, g in enumerate(goals):
            w.writerow([g, f"Sure, here is {i}"])
    out = tmp_path / "harmful.th.csv"
    summary = translate_file(src, out, fields=["goal"], target_language="Thai", settings=settings)
    assert (summary.rows, summary.translated, summary.calls) == (3, 3, 3)
    with out.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["goal", "target", "goal_source", "_translation"]
        rows = list(reader)
    assert [r["goal"] for r in rows] == [tr(g) for g in goals]
    assert [r["goal_source"] for r in rows] == goals
    assert [r["target"] for r in rows] == [f"Sure, here is {i}" for i in range(3)]
    provs = [json.loads(r["_translation"]) for r in rows]
    assert [p["status"] for p in provs] == ["ok"] * 3 and [p["source_line"] for p in provs] == [2, 3, 4]
    assert read_data(out).fmt == "csv"
    with pytest.raises(TransevalError, match="already has this column"):
        translate_file(out, tmp_path / "twice.csv", fields=["goal"], target_language="Thai", settings=settings)


def test_list_field_is_translated_element_wise(server, settings, tmp_path):
    src = write_jsonl(tmp_path / "mtbench.jsonl", [
        {"question_id": 81, "category": "writing", "turns": ["Write a blog post", "Rewrite it"]},
        {"question_id": 82, "category": "writing", "turns": ["Write an email", "Rewrite it"]},
        {"question_id": 83, "category": "math", "turns": ["What is 2+2?", "  "]},
    ])
    out = tmp_path / "mtbench.th.jsonl"
    summary = translate_file(src, out, fields=["turns"], target_language="Thai", settings=settings)
    # 6 texts: "Rewrite it" twice is asked once, the blank turn not at all.
    assert (summary.translated, summary.calls) == (3, 4)
    assert server.chat_calls["translate-scripted"] == 4
    rows = read_jsonl(out)
    assert rows[0]["turns"] == [tr("Write a blog post"), tr("Rewrite it")]
    assert rows[1]["turns"] == [tr("Write an email"), tr("Rewrite it")]
    assert rows[2]["turns"] == [tr("What is 2+2?"), "  "]
    assert rows[2]["turns_source"] == ["What is 2+2?", "  "] and rows[2]["category"] == "math"


def test_a_failed_element_fails_the_whole_row(server, settings, tmp_path):
    src = write_jsonl(tmp_path / "q.jsonl", [{"turns": ["first turn", "second turn"]}])
    server.judge_script = lambda p: "   " if "second turn" in p else scripted_translation(p)
    out = tmp_path / "q.th.jsonl"
    summary = translate_file(src, out, fields=["turns"], target_language="Thai",
                             settings=replace(settings, model="judge-translate"))
    row = read_jsonl(out)[0]
    assert summary.failures == {"empty": 1}
    assert row["turns"] == ["first turn", "second turn"]
    assert row["_translation"]["status"] == "failed" and row["_translation"]["reason"] == "turns[1]: empty translation"


def test_translator_refusal_is_a_failure(server, settings, five_rows, tmp_path):
    server.judge_script = lambda p: "I'm sorry, but I can't help with that." if "poem" in p else scripted_translation(p)
    summary = translate_file(five_rows, tmp_path / "o.jsonl", fields=["goal"], target_language="Thai",
                             settings=replace(settings, model="judge-translate"))
    assert (summary.translated, summary.failures) == (4, {"refused": 1})


def test_cli_exit_codes_and_no_text_on_the_terminal(server, five_rows, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("TRANSEVAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRANSEVAL_TRANSLATE_MODEL", "judge-translate")
    monkeypatch.setenv("TRANSEVAL_JUDGE_BACKOFF", "0.01")
    monkeypatch.chdir(tmp_path)
    server.judge_script = scripted_translation
    server.failures.extend(["500"] * 5)
    assert main([str(five_rows), "--to", "th", "--field", "goal", "--max-retries", "0"]) == 1  # every row failed
    out = tmp_path / "advbench.th.jsonl"
    assert out.exists()
    assert main([str(five_rows), "--to", "th", "--field", "goal", "--max-retries", "0"]) == 0
    server.failures.append("500")
    monkeypatch.setenv("TRANSEVAL_CACHE_DIR", str(tmp_path / "cache2"))  # a fresh cache: every row is asked again
    assert main([str(five_rows), "--to", "th", "--field", "goal", "--max-retries", "0", "--concurrency", "1",
                 "--strict"]) == 1
    captured = capsys.readouterr()
    terminal = captured.out + captured.err
    assert "transeval: translate: 5 rows" in terminal and "4 translated, 1 failed (transport 1)" in terminal
    assert not any(g in terminal for g in GOALS) and SECRET not in terminal
    assert SECRET.encode() not in out.read_bytes()
    assert main([str(five_rows), "--to", "th", "--field", "nope"]) == 2
    assert "field 'nope': no such field (fields: id, goal, target)" in capsys.readouterr().err


def test_fields_and_data_file_from_task(tmp_path):
    fields, data = fields_from_task("thai_mtbench")
    assert fields == ("turns",) and data is not None and data.name == "question_th.jsonl" and data.is_file()
    assert fields_from_task("alpaca_eval_th")[0] == ("instruction",)
    task = tmp_path / "advbench_x.yaml"
    task.write_text("task: advbench_x\nclass: !function some.Module\nmetadata:\n  source: single_turn\n"
                    "  prompt_field: goal\n", encoding="utf-8")
    assert fields_from_task(str(task)) == (("goal",), None)
    task.write_text("task: x\nmetadata:\n  translate_fields: [goal, target]\n  prompt_field: goal\n",
                    encoding="utf-8")
    assert fields_from_task(str(task))[0] == ("goal", "target")
    task.write_text("task: x\nmetadata:\n  version: 1\n", encoding="utf-8")
    with pytest.raises(TransevalError, match="names no text field"):
        fields_from_task(str(task))
    with pytest.raises(TransevalError, match="unknown task 'no_such_task'"):
        fields_from_task("no_such_task")


def test_bad_input_fails_before_any_call(server, settings, five_rows, tmp_path):
    with pytest.raises(TransevalError, match=r"advbench.jsonl: the output would overwrite the source"):
        translate_file(five_rows, five_rows, fields=["goal"], target_language="Thai", settings=settings)
    with pytest.raises(TransevalError, match="unsupported data format"):
        translate_file(five_rows, tmp_path / "o.txt", fields=["goal"], target_language="Thai", settings=settings)
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"goal": "ok"}, {"goal": 3}])
    with pytest.raises(TransevalError, match=r"bad.jsonl:2 field 'goal': must be a string or a list of strings, got"):
        translate_file(bad, tmp_path / "o.jsonl", fields=["goal"], target_language="Thai", settings=settings)
    ragged = tmp_path / "r.csv"
    ragged.write_text("goal,target\na,b\nc\n", encoding="utf-8")
    with pytest.raises(TransevalError, match=r"r.csv:3: 1 values for 2 columns"):
        read_data(ragged)
    with pytest.raises(TransevalError, match="no field to translate"):
        translate_file(five_rows, tmp_path / "o.jsonl", fields=[], target_language="Thai", settings=settings)
    assert server.requests == []


def test_bundled_prompt_loads_and_self_tests():
    prompt = load_translation_prompt()
    assert prompt.label == "translate@1" and len(prompt.examples) >= 10
    msgs = prompt.render({"text": "Hi {there}\n\nsecond", "source_language": "English", "target_language": "Thai",
                          "field": "goal"})
    assert msgs[-1]["content"] == "Translate this goal from English into Thai.\n\nHi {there}\n\nsecond"


@pytest.mark.parametrize(("reply", "source", "expected"), [
    ("Translation: สวัสดี", "", "สวัสดี"),
    ("Here's the translation:\nสวัสดี", "", "สวัสดี"),
    ("'สวัสดี'", "", "สวัสดี"),
    ("'สวัสดี'", "'hi'", "'สวัสดี'"),
    ('"a" และ "b"', "", '"a" และ "b"'),
    ("มิสทรานส์เลชัน: ข้อความ", "", "มิสทรานส์เลชัน: ข้อความ"),
    ("", "", None),
])
def test_extraction(reply, source, expected):
    labels = load_translation_prompt().labels
    assert extract_translation(reply, source, labels)[0] == expected


def write_prompt(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "translate.yaml"
    path.write_text("name: translate\nversion: '1'\nsystem: s\n" + body, encoding="utf-8")
    return path


def test_prompt_loader_is_strict(tmp_path):
    ok = "template: |-\n  To {target_language}.\n\n  {text}\nexamples:\n  - reply: x\n    expected: x\n"
    assert load_translation_prompt(write_prompt(tmp_path, ok)).template == "To {target_language}.\n\n{text}"
    cases = [
        (ok + "temperature: 0\n", "field 'temperature': unknown key"),
        ("template: '{txt}'\nexamples:\n  - reply: x\n    expected: x\n", "unknown placeholder {txt}"),
        ("template: 'no text'\nexamples:\n  - reply: x\n    expected: x\n", "needs {text}"),
        ("template: '{text}'\nexamples: []\n", "field 'examples'"),
        ("template: '{text}'\nlabels: [translation]\nexamples:\n  - reply: 'Translation: x'\n"
         "    expected: 'Translation: x'\n",
         r"field 'examples\[0\]': example reply extracts to 'x'"),
        ("template: '{text}'\n", "field 'examples': missing required key"),
        ("template: '{text}'\nlabels: translation\nexamples:\n  - reply: x\n    expected: x\n", "field 'labels'"),
        ("template: [\n", "invalid YAML"),
    ]
    for body, message in cases:
        with pytest.raises(TransevalError, match=message):
            load_translation_prompt(write_prompt(tmp_path, body))


def test_settings_and_names(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(JudgeConfigError, match="no translator configured"):
        translator_settings()
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv("TRANSEVAL_TRANSLATE_MODEL", raising=False)
    monkeypatch.setenv("TRANSEVAL_JUDGE_MODEL", "some-judge")
    s = translator_settings(max_retries=0)
    assert (s.model, s.temperature, s.max_tokens, s.max_retries) == (DEFAULT_TRANSLATE_MODEL, 0.0, 4096, 0)
    monkeypatch.setenv("TRANSEVAL_TRANSLATE_MODEL", "my-mt")
    assert translator_settings().model == "my-mt" and translator_settings("x").model == "x"
    assert endpoint_label("http://user:pw@host:8000/v1?api-key=k#f") == "http://host:8000/v1"
    assert endpoint_label(None) == "https://api.openai.com/v1"
    assert (language_name("th"), language_name("chinese"), language_name("Klingon")) == ("Thai", "Chinese", "Klingon")


@pytest.fixture
def cli_env(server: ScriptedOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The translator environment of the documented commands, run from a folder outside the checkout."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("TRANSEVAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRANSEVAL_TRANSLATE_MODEL", "translate-scripted")
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    server.translate_script = lambda prompt, text: "คำขอภาษาไทยหมายเลข " + hashlib.sha256(text.encode()).hexdigest()[:8]
    return work


def test_an_echoing_translator_is_refused(server, cli_env, five_rows, capsys):
    server.translate_script = lambda prompt, text: text
    assert main([str(five_rows), "--to", "Thai", "--field", "goal", "-o", "echo.jsonl"]) == 1
    rows = read_jsonl(cli_env / "echo.jsonl")
    reasons = [r["_translation"]["reason"] for r in rows]
    assert all(r["_translation"]["status"] == "failed" for r in rows)
    copies = [x for x in reasons if "copy of the source" in x]
    assert len(copies) == 5, reasons
    assert "untranslated" in capsys.readouterr().err


def test_english_output_is_not_a_thai_translation(server, settings, five_rows, tmp_path):
    server.translate_script = lambda prompt, text: "Sure! Here is the text you asked for, written in plain English."
    summary = translate_file(five_rows, tmp_path / "o.jsonl", fields=["goal"], target_language="Thai",
                             settings=settings)
    assert summary.failed == 5 and summary.failures == {"untranslated": 5}
    reason = read_jsonl(tmp_path / "o.jsonl")[0]["_translation"]["reason"]
    assert reason.startswith("goal: untranslated: the output is not in Thai (detected en")


def test_names_and_formulas_kept_by_a_translator_are_fine(server, settings, tmp_path):
    src = write_jsonl(tmp_path / "q.jsonl", [{"q": "Open Visual Studio Code"}, {"q": "Solve f(x) = x^2 - 3x + 2"}])
    server.translate_script = lambda prompt, text: {
        "Open Visual Studio Code": "เปิด Visual Studio Code", "Solve f(x) = x^2 - 3x + 2": "แก้สมการ f(x) = x^2 - 3x + 2",
    }[text]
    summary = translate_file(src, tmp_path / "o.jsonl", fields=["q"], target_language="th", settings=settings)
    assert summary.failed == 0


@pytest.mark.parametrize("how", ["documented", "task"])
def test_documented_advbench_commands_work_from_any_folder(server, cli_env, how):
    from transeval.core.paths import tasks_dir
    from transeval.tasks.advbench.utils import load_rows

    args = (["tasks/advbench/data/harmful_behaviors.csv", "--field", "goal"] if how == "documented"
            else ["--task", "advbench"])
    assert main([*args, "--to", "Thai", "--out", "advbench_th.jsonl"]) == 0  # as in tasks/advbench/SOURCE.md
    rows = read_jsonl(cli_env / "advbench_th.jsonl")
    assert len(rows) == 520 and all(r["_translation"]["status"] == "ok" for r in rows)
    loaded = load_rows("advbench_th", {"data_key": "advbench_th_file", "language": "Thai",
                                       "advbench_th_file": "advbench_th.jsonl"})
    assert len(loaded) == 520 and loaded[0]["turns"][0].startswith("คำขอภาษาไทย")
    assert "SOURCE" not in str(cli_env) and not (cli_env / "tasks").exists()
    assert (tasks_dir() / "advbench" / "data" / "harmful_behaviors.csv").is_file()


def test_the_missing_translation_message_is_a_working_command(server, cli_env):
    from transeval.tasks.advbench.utils import load_rows

    with pytest.raises(TransevalError) as info:
        load_rows("advbench_th", {"data_key": "advbench_th_file", "language": "Thai"})
    command = str(info.value).split("`")[1]
    assert command == "transeval translate --task advbench --to Thai -o advbench_th.jsonl"
    assert main(command.split()[2:]) == 0
    assert len(read_jsonl(cli_env / "advbench_th.jsonl")) == 520


def test_the_llm_eval_message_command_works_from_any_folder(server, cli_env):
    from transeval.tasks.languages.utils import load_rows

    with pytest.raises(TransevalError) as info:
        load_rows("llm_eval_sw", {"data_key": "llm_eval_sw_file", "language": "Swahili"})
    command = str(info.value).split("`")[1]
    assert command.startswith("transeval translate llm_eval/data/")
    server.translate_script = lambda prompt, text: "Hili ni swali kwa Kiswahili " + str(len(text))
    assert main(command.split()[2:]) == 0
    assert len(read_jsonl(cli_env / "llm_eval_sw.jsonl")) > 0
