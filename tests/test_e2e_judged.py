"""Real `lm_eval` / `transeval judge` runs of the judged-task path against the scripted local server:
extra rubrics at run time and afterwards, LLM-Eval aspects, AlpacaEval-Thai single + pairwise."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli
from scripted_server import ScriptedOpenAI
from transeval.judges.rubric import RUBRICS_DIR

pytestmark = pytest.mark.slow


def api_args(server: ScriptedOpenAI, out: Path, task: str, *extra: str, limit: int = 2) -> list[str]:
    model_args = (f"model=candidate,base_url={server.base_url}/chat/completions,"
                  "num_concurrent=1,tokenized_requests=False")
    return ["lm_eval", "--model", "local-chat-completions", "--model_args", model_args, "--tasks", task,
            "--apply_chat_template", "--output_path", str(out), "--log_samples", "--limit", str(limit), *extra]


def only(out: Path, prefix: str) -> Path:
    found = [p for p in out.rglob(f"{prefix}_*") if p.is_file()]
    assert len(found) == 1, found
    return found[0]


def results_of(out: Path, task: str) -> dict:
    return json.loads(only(out, "results").read_text(encoding="utf-8"))["results"][task]


def test_user_rubric_scores_a_finished_run_without_regenerating(server, judge_env, tmp_path):
    out = tmp_path / "runs"
    env = {k: v for k, v in judge_env.items() if k != "OPENAI_API_KEY"}
    res = run_cli(api_args(server, out, "thai_mtbench", "--predict_only", limit=3), env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    generated = len(server.candidate_requests())
    assert generated == 6
    mine = tmp_path / "my_rubrics"
    mine.mkdir()
    shutil.copy(RUBRICS_DIR / "fluency.yaml", mine / "fluency.yaml")
    cmd = ["transeval", "judge", str(out), "--rubric", "fluency", "--rubrics-dir", str(mine)]
    first = run_cli(cmd, judge_env, tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert server.judge_calls() == 6, "one call per answer (3 questions x 2 turns)"
    assert len(server.candidate_requests()) == generated, "no regeneration"
    entry = results_of(out, "thai_mtbench")
    assert entry["fluency,none"] is not None and entry["fluency_n_total,none"] == 6
    again = run_cli(cmd, judge_env, tmp_path)
    assert again.returncode == 0 and server.judge_calls() == 6, "a second run makes 0 calls"
    judgments = [json.loads(x) for x in only(out, "judgments").read_text(encoding="utf-8").splitlines()]
    assert len([j for j in judgments if j["metric"] == "fluency"]) == 6
    assert {j["metric"] for j in judgments} == {"fluency", "wrong_language_rate", "switching_rate"}
    # the main score later, beside fluency
    main = run_cli(["transeval", "judge", str(out)], judge_env, tmp_path)
    assert main.returncode == 0, main.stderr[-2000:]
    entry = results_of(out, "thai_mtbench")
    assert entry["score,none"] is not None and entry["fluency,none"] is not None
    scores = json.loads(only(out, "scores").read_text(encoding="utf-8"))
    assert set(scores["metrics"]) == {"score", "fluency", "wrong_language_rate", "switching_rate"}


def test_rubrics_at_run_time_in_one_command(server, judge_env, tmp_path):
    out = tmp_path / "runs"
    res = run_cli(api_args(server, out, "thai_mtbench", "--metadata", '{"rubrics": ["fluency", "harmlessness"]}'),
                  judge_env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    entry = results_of(out, "thai_mtbench")
    for metric in ("score", "fluency", "harmlessness"):
        assert isinstance(entry[f"{metric},none"], float), metric
    assert server.judge_calls() == 12
    assert "fluency" in res.stdout  # lm-eval's table shows the metric
    hib = json.loads(only(out, "results").read_text(encoding="utf-8"))["higher_is_better"]["thai_mtbench"]
    assert hib["score"] and hib["fluency"] and not hib["wrong_language_rate"] and not hib["switching_rate"]


def test_llm_eval_aspects_table1_columns(server, judge_env, tmp_path):
    out = tmp_path / "runs"
    res = run_cli(api_args(server, out, "llm_eval", limit=4), judge_env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    entry = results_of(out, "llm_eval")
    cols = ["score_accuracy", "score_fluency", "score_informativeness", "score_logical_coherence",
            "score_harmlessness"]
    values = [entry[f"{c},none"] for c in cols]
    assert all(0 <= v <= 3 for v in values)
    assert entry["score,none"] == pytest.approx(sum(values) / 5)
    assert server.judge_calls() == 4  # one call per answer for all five aspects


def test_alpaca_eval_th_single_and_pairwise_vs_reference(server, judge_env, tmp_path):
    out = tmp_path / "runs"
    res = run_cli(api_args(server, out, "alpaca_eval_th", limit=3), judge_env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    entry = results_of(out, "alpaca_eval_th")
    assert 1 <= entry["score,none"] <= 10
    assert 0 <= entry["win_rate,none"] <= 1
    assert entry["win_rate_wins,none"] + entry["win_rate_ties,none"] + entry["win_rate_losses,none"] == 3
    assert server.judge_calls() == 3 + 6  # single grading + pairwise in both orders
    pair_prompts = [r["messages"][-1]["content"] for r in server.judge_requests()
                    if "[[C]]" in r["messages"][0]["content"]]
    ref = Path(RUBRICS_DIR).parent.parent / "tasks/alpaca_eval_th/data/reference_outputs/gpt4_1106_preview.jsonl"
    first_ref = json.loads(ref.read_text(encoding="utf-8").splitlines()[0])["output"]
    both = [p for p in pair_prompts if first_ref in p]
    assert len(both) == 2  # the baseline's answer, once in each position
    assert both[0].index(first_ref) != both[1].index(first_ref)
