"""The leaderboard: pure data functions and the Streamlit app (AppTest) on a real fixture run."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SECRET, run_cli
from scripted_server import ScriptedOpenAI
from transeval.dashboard import data

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"


@pytest.fixture(scope="module")
def fixture_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real judged lm_eval run (scripted candidate and judge), including an HTML-ish answer."""
    tmp = tmp_path_factory.mktemp("board")
    server = ScriptedOpenAI().start()
    server.candidate_replies.extend(["<script>alert(1)</script> **bold** คำตอบ", "second answer"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TRANSEVAL_"))}
    env.update(OPENAI_API_KEY=SECRET, OPENAI_BASE_URL=server.base_url, TRANSEVAL_JUDGE_MODEL="judge-scripted",
               TRANSEVAL_CACHE_DIR=str(tmp / "cache"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    model_args = (f"model=cand-model,base_url={server.base_url}/chat/completions,"
                  "num_concurrent=1,tokenized_requests=False")
    res = run_cli(["lm_eval", "--model", "local-chat-completions", "--model_args", model_args, "--tasks",
                   "thai_mtbench", "--apply_chat_template", "--output_path", str(tmp / "runs"), "--log_samples",
                   "--limit", "4"], env, tmp)
    server.stop()
    assert res.returncode == 0, res.stderr[-3000:]
    yield tmp / "runs"


def test_leaderboard_rows(fixture_runs):
    board = data.leaderboard(fixture_runs)
    assert len(board) == 1
    row = board.iloc[0]
    assert row["task"] == "thai_mtbench" and row["judge"] == "judge-scripted" and "cand-model" in row["model"]
    assert row["n_total"] == 8 and row["n_scored"] == 8
    assert row["ci_low"] <= row["score"] <= row["ci_high"]


def test_samples_and_categories(fixture_runs):
    run = data.find_runs(fixture_runs)[0]
    items = data.samples(run, "thai_mtbench")
    assert len(items) == 4 and all(len(s.turns) == 2 for s in items)
    assert items[0].turns[0].answer.startswith("<script>")
    assert all(t.score is not None and t.explanation for s in items for t in s.turns)
    cats = data.category_table(run, "thai_mtbench")
    assert set(cats["category"]) >= {"writing", "(turn1)", "(turn2)"}


def test_app_renders_without_html(fixture_runs, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TRANSEVAL_RUNS_DIR", str(fixture_runs))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "transeval leaderboard"
    assert len(at.dataframe) >= 2  # leaderboard + per-category
    texts = [t.value for t in at.text]
    assert any("<script>alert(1)</script> **bold**" in t for t in texts), "model output must be shown as plain text"
    assert all("<script>" not in m.value for m in at.markdown)
    assert all(SECRET not in t for t in texts)


def test_app_with_empty_folder(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TRANSEVAL_RUNS_DIR", str(tmp_path))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    assert any("No lm-eval runs" in i.value for i in at.info)


def test_results_json_is_valid(fixture_runs):
    path = next(fixture_runs.rglob("results_*.json"))
    json.loads(path.read_text())  # no NaN/Infinity tokens
    assert "NaN" not in path.read_text()
