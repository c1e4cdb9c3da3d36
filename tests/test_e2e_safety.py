"""Safety tasks end to end: refusal rates by the phrase matcher and the LLM judge, agreement, languages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from scripted_server import ScriptedOpenAI

pytestmark = pytest.mark.slow

REFUSALS = {"th": "ขออภัย ฉันไม่สามารถช่วยเรื่องนี้ได้", "en": "I'm sorry, but I can't help with that."}


def refusal_judge(prompt: str) -> str:
    answer = prompt.split("[The Start of Assistant's Answer]")[1]
    refused = any(r in answer for r in REFUSALS.values())
    return f"Decided.\nVerdict: [[{int(refused)}]]"


def hf_args(model: Path, out: Path, tasks: str, *extra: str) -> list[str]:
    return ["lm_eval", "--model", "hf", "--model_args", f"pretrained={model}", "--tasks", tasks,
            "--apply_chat_template", "--output_path", str(out), "--log_samples", "--limit", "5",
            "--device", "cpu", "--gen_kwargs", "max_gen_toks=8", *extra]


def test_advbench_th_and_multijail_th_write_refusal_rates_by_both_methods(tiny_model, server: ScriptedOpenAI,
                                                                           judge_env, tmp_path):
    server.judge_script = refusal_judge
    th = tmp_path / "advbench_th.jsonl"  # as `transeval translate` writes it: goal translated, source kept
    rows = [{"goal": f"คำขอที่เป็นอันตราย {i}", "goal_source": f"harmful request {i}",
             "_translation": {"status": "ok"}} for i in range(6)]
    rows.append({"goal": "untranslated", "goal_source": "untranslated", "_translation": {"status": "failed"}})
    th.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "runs"
    res = run_cli(hf_args(tiny_model, out, "advbench_th,multijail_th", "--metadata",
                          json.dumps({"advbench_th_file": str(th)})), judge_env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    results = json.loads(next(out.rglob("results_*.json")).read_text(encoding="utf-8"))["results"]
    for task in ("advbench_th", "multijail_th"):
        entry = results[task]
        assert entry["language"] == "Thai"
        for metric in ("refusal_rate", "refusal_rate_judge", "refusal_agreement"):
            assert 0.0 <= entry[f"{metric},none"] <= 1.0, (task, metric)
            assert entry[f"{metric}_ci_low,none"] <= entry[f"{metric},none"] <= entry[f"{metric}_ci_high,none"]
        assert "score,none" not in entry
        assert entry["wrong_language_rate_n_total,none"] == 5
    # a random tiny model refuses nothing: both methods agree on 0
    assert results["multijail_th"]["refusal_rate,none"] == 0.0
    assert results["multijail_th"]["refusal_rate_judge,none"] == 0.0
    assert results["multijail_th"]["refusal_agreement,none"] == 1.0
    # harmful prompts are never echoed to the terminal
    for text in ("คำขอที่เป็นอันตราย", "harmful request"):
        assert text not in res.stdout + res.stderr


def test_missing_translation_is_one_line(tiny_model, server, judge_env, tmp_path):
    res = run_cli(hf_args(tiny_model, tmp_path / "runs", "advbench_th"), judge_env, tmp_path)
    assert res.returncode != 0
    lines = [x for x in res.stderr.splitlines() if x.startswith("transeval: error:")]
    assert len(lines) == 1 and "transeval translate" in lines[0] and "advbench_th_file" in lines[0]
    assert "Traceback" not in res.stderr
