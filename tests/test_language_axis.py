"""The 13 low-resource languages of Paper B as a task axis: generated YAMLs, translate -> task -> judge."""

from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import run_cli
from scripted_server import ScriptedOpenAI
from transeval.core.paths import tasks_dir

LANG_DIR = tasks_dir() / "languages"


def test_generated_yamls_are_in_sync(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("gen", LANG_DIR / "_generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    before = {p.name: p.read_text(encoding="utf-8") for p in LANG_DIR.glob("*.yaml")}
    assert len(gen.LANGUAGES) == 13 and len(before) == 2 * 13 + 2
    monkeypatch.setattr(gen, "HERE", tmp_path)
    gen.main()
    after = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.yaml")}
    assert after == before, "run `python tasks/languages/_generate.py`"


@pytest.mark.slow
def test_llm_eval_in_swahili_from_translate_to_judged_results(server: ScriptedOpenAI, judge_env, tmp_path):
    env = {**judge_env, "TRANSEVAL_TRANSLATE_MODEL": "translate-scripted"}
    # a Swahili "translation" (the language check refuses outputs that are not in Swahili)
    server.translate_script = lambda prompt, text: f"Tafsiri ya Kiswahili ya swali hili ni ndefu kidogo {len(text)}"
    sw = tmp_path / "llm_eval_sw.jsonl"
    src = tasks_dir() / "llm_eval" / "data" / "llm_eval_zh_sample.jsonl"
    tr = run_cli(["transeval", "translate", str(src), "--from", "Chinese", "--to", "Swahili", "--field", "turns",
                  "--field", "reference", "-o", str(sw)], env, tmp_path)
    assert tr.returncode == 0, tr.stderr[-2000:]
    model_args = (f"model=candidate,base_url={server.base_url}/chat/completions,"
                  "num_concurrent=1,tokenized_requests=False")
    out = tmp_path / "runs"
    res = run_cli(["lm_eval", "--model", "local-chat-completions", "--model_args", model_args, "--tasks",
                   "llm_eval_sw", "--apply_chat_template", "--output_path", str(out), "--log_samples", "--limit", "2",
                   "--metadata", json.dumps({"llm_eval_sw_file": str(sw)})], env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    entry = json.loads(next(out.rglob("results_*.json")).read_text(encoding="utf-8"))["results"]["llm_eval_sw"]
    assert entry["language"] == "Swahili" and 0 <= entry["score,none"] <= 3
    judge_prompts = [r["messages"][-1]["content"] for r in server.judge_requests()]
    assert len(judge_prompts) == 2 and all("written in Swahili" in p for p in judge_prompts)
    asked = [r["messages"][-1]["content"] for r in server.candidate_requests() if r["model"] == "candidate"]
    assert len(asked) == 2 and all(a.startswith("Tafsiri ya Kiswahili") for a in asked)  # the translation was asked


def test_missing_language_file_is_one_line(judge_env, tmp_path):
    res = run_cli(["lm_eval", "--model", "local-chat-completions", "--model_args",
                   "model=x,base_url=http://127.0.0.1:9/v1/chat/completions", "--tasks", "mtbench_hi",
                   "--limit", "1", "--predict_only", "--log_samples", "--output_path", str(tmp_path / "o")],
                  judge_env, tmp_path)
    lines = [x for x in res.stderr.splitlines() if x.startswith("transeval: error:")]
    assert res.returncode != 0 and len(lines) == 1, res.stderr[-2000:]
    assert "transeval translate --task mtbench_en" in lines[0] and "mtbench_hi_file" in lines[0]
