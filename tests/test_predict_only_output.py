"""A ``--predict_only`` run ends with our line, after lm-eval's (empty) results table, not above it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import VENV_BIN
from scripted_server import ScriptedOpenAI

pytestmark = pytest.mark.slow


def test_predict_only_line_is_the_last_thing_printed(server: ScriptedOpenAI, judge_env: dict[str, str],
                                                     tmp_path: Path) -> None:
    env = {k: v for k, v in judge_env.items() if k != "OPENAI_API_KEY"}
    model_args = (f"model=candidate,base_url={server.base_url}/chat/completions,"
                  "num_concurrent=1,tokenized_requests=False")
    out = tmp_path / "runs"
    res = subprocess.run(
        [str(VENV_BIN / "lm_eval"), "--model", "local-chat-completions", "--model_args", model_args, "--tasks",
         "thai_mtbench", "--apply_chat_template", "--output_path", str(out), "--log_samples", "--limit", "2",
         "--predict_only"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600)  # one stream, in the order a terminal shows it
    assert res.returncode == 0, res.stdout[-3000:]
    lines = [line for line in res.stdout.splitlines() if line.strip()]
    ours = [i for i, line in enumerate(lines) if line.startswith("transeval: predict-only: answers of thai_mtbench")]
    table = [i for i, line in enumerate(lines) if line.startswith("|") and "Tasks" in line]
    assert len(ours) == 1 and table, res.stdout[-3000:]
    assert ours[0] == len(lines) - 1 and table[-1] < ours[0], lines[-8:]
    assert f"transeval judge {out}" in lines[-1]


def test_from_python_the_line_is_printed_at_once(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from transeval.harness.lmeval import patches as lm_eval_patches

    monkeypatch.setattr(lm_eval_patches.sys, "argv", ["notebook"])
    lm_eval_patches.say_last("transeval: predict-only: x")
    assert capsys.readouterr().err == "transeval: predict-only: x\n"
