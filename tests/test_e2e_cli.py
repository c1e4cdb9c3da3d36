"""Real `lm_eval` CLI runs of thai_mtbench: tiny random Llama (hf backend) or the scripted server
(local-chat-completions backend), judged by the scripted local chat-completions server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SECRET, run_cli
from scripted_server import ScriptedOpenAI

pytestmark = pytest.mark.slow


def hf_args(model: Path, out: Path, *extra: str, limit: int = 3) -> list[str]:
    return ["lm_eval", "--model", "hf", "--model_args", f"pretrained={model}", "--tasks", "thai_mtbench",
            "--apply_chat_template", "--output_path", str(out), "--log_samples", "--limit", str(limit),
            "--device", "cpu", "--gen_kwargs", "max_gen_toks=12", *extra]


def api_args(server: ScriptedOpenAI, out: Path, *extra: str, limit: int = 3) -> list[str]:
    model_args = (f"model=candidate,base_url={server.base_url}/chat/completions,"
                  "num_concurrent=1,tokenized_requests=False")
    return ["lm_eval", "--model", "local-chat-completions", "--model_args", model_args, "--tasks", "thai_mtbench",
            "--apply_chat_template", "--output_path", str(out), "--log_samples", "--limit", str(limit), *extra]


def run_files(out: Path) -> dict[str, Path]:
    files = {p.name.split("_")[0]: p for p in out.rglob("*") if p.is_file()}
    return files


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_hf_run_end_to_end_and_rerun_makes_no_judge_calls(tiny_model, server, judge_env, tmp_path):
    out = tmp_path / "runs"
    res = run_cli(hf_args(tiny_model, out), judge_env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    files = run_files(out)
    assert {"results", "samples", "judgments", "scores"} <= set(files)
    samples = read_jsonl(files["samples"])
    assert len(samples) == 3
    for s in samples:
        turns = json.loads(s["filtered_resps"][0])["turns"]
        assert len(turns) == 2
        # The turn-2 prompt contains the model's own turn-1 answer, rendered by the chat template.
        assert turns[0]["raw"] and turns[0]["raw"] in turns[1]["prompt"]
        assert s["doc"]["turns"][1] in turns[1]["prompt"]
        assert turns[1]["prompt"].startswith("<|begin_of_text|><|start_header_id|>user")
    judgments = [j for j in read_jsonl(files["judgments"]) if j["metric"] == "score"]
    assert len(judgments) == 6 and {j["turn"] for j in judgments} == {0, 1}
    for j in judgments:
        assert j["judge_model"] == "judge-scripted" and j["rubric_version"] == "1"
        assert (j["score"] is None) == (j["reason"] is not None)
    scored = [j["score"] for j in judgments if j["score"] is not None]
    calls = server.judge_calls()
    assert calls == len(scored) > 0
    results = json.loads(files["results"].read_text())["results"]["thai_mtbench"]
    scores_file = json.loads(files["scores"].read_text())
    assert scores_file["version"] == 2
    assert set(scores_file["metrics"]) == {"score", "wrong_language_rate", "switching_rate"}
    scores = scores_file["metrics"]["score"]
    assert results["score,none"] == pytest.approx(sum(scored) / len(scored))
    assert results["score,none"] == pytest.approx(scores["overall"]["mean"])
    assert results["n_scored,none"] == len(scored) and results["n_total,none"] == 6
    assert set(scores["per_turn"]) == {"turn1", "turn2"} and scores["per_category"]
    # The secret key appears nowhere: results, samples, judgments, cache, logs.
    for path in [*out.rglob("*"), *Path(judge_env["TRANSEVAL_CACHE_DIR"]).rglob("*")]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in res.stdout + res.stderr

    again = run_cli(hf_args(tiny_model, tmp_path / "runs2"), judge_env, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert server.judge_calls() == calls, "rerun must be served from the judge cache"
    assert "0 API calls" in again.stderr


def test_tcot_judges_only_target_part_and_feeds_english_history(server, judge_env, tmp_path):
    out = tmp_path / "runs"
    res = run_cli(api_args(server, out, "--metadata", '{"output_format": "tcot"}', limit=2), judge_env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    cand = server.candidate_requests()
    assert len(cand) == 4  # 2 conversations x 2 turns, no re-prompt needed
    turn2 = [r for r in cand if len(r["messages"]) == 3]
    assert len(turn2) == 2
    for r in turn2:
        user1, assistant1, user2 = r["messages"]
        assert user1["content"].startswith("english query ")  # the model's own <EN> translation
        assert assistant1["content"].startswith("english answer ")  # its English <RESPONSE>, no tags
        assert "<TH>" not in assistant1["content"] and "<EN>" not in user1["content"]
    prompts = ["\n".join(m["content"] for m in r["messages"]) for r in server.judge_requests()]
    assert len(prompts) == 4
    for p in prompts:
        assert "คำตอบภาษาไทย" in p
        assert "<EN>" not in p and "<RESPONSE>" not in p and "english answer" not in p
    files = run_files(out)
    judgments = [j for j in read_jsonl(files["judgments"]) if j["metric"] == "score"]
    assert len(judgments) == 4 and all(j["score"] is not None for j in judgments)
    # the TCoT <TH> part is Thai: the language check agrees
    lang = [j for j in read_jsonl(files["judgments"]) if j["metric"] == "wrong_language_rate"]
    assert len(lang) == 4 and all(j["score"] == 0.0 for j in lang)


def test_tcot_missing_tag_is_unscored_with_reason(server, judge_env, tmp_path):
    server.candidate_replies.extend(["<EN> q only english <RESPONSE> no thai here", "<EN> q <RESPONSE> a <TH> ตอบ"])
    res = run_cli(api_args(server, tmp_path / "runs", "--metadata", '{"output_format": "tcot"}', limit=1),
                  judge_env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    judgments = read_jsonl(run_files(tmp_path / "runs")["judgments"])
    first = next(j for j in judgments if j["turn"] == 0 and j["metric"] == "score")
    assert first["score"] is None and "missing <TH>" in first["reason"]
    assert server.judge_calls() == 1


def test_no_judge_configured_fails_before_generation(server, judge_env, tmp_path):
    env = {k: v for k, v in judge_env.items() if k != "OPENAI_API_KEY"}
    res = run_cli(api_args(server, tmp_path / "runs", limit=1), env, tmp_path)
    assert res.returncode != 0
    lines = [line for line in res.stderr.splitlines() if line.startswith("transeval: error:")]
    assert len(lines) == 1 and "OPENAI_API_KEY" in lines[0] and "--predict_only" in lines[0]
    assert "Traceback" not in res.stderr
    assert server.candidate_requests() == [], "no generation may happen before the judge check"


def test_predict_only_then_transeval_judge(server, judge_env, tmp_path):
    env = {k: v for k, v in judge_env.items() if k != "OPENAI_API_KEY"}
    out = tmp_path / "runs"
    res = run_cli(api_args(server, out, "--predict_only", limit=2), env, tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert server.judge_calls() == 0 and "judgments" not in run_files(out)
    assert "999" not in res.stdout and "bypass" not in res.stdout  # no placeholder that reads like a score
    assert "transeval: predict-only: answers of thai_mtbench" in res.stderr and "transeval judge" in res.stderr
    later = run_cli(["transeval", "judge", str(out)], judge_env, tmp_path)
    assert later.returncode == 0, later.stderr
    files = run_files(out)
    assert len([j for j in read_jsonl(files["judgments"]) if j["metric"] == "score"]) == 4
    assert server.judge_calls() == 4
    results = json.loads(files["results"].read_text())["results"]["thai_mtbench"]
    assert results["n_total,none"] == 4 and results["score,none"] is not None
    again = run_cli(["transeval", "judge", str(out)], judge_env, tmp_path)
    assert again.returncode == 0 and server.judge_calls() == 4


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        (["--metadata", '{"judge": {"rubric": "no-such-prompt"}}'],
         ["thai_mtbench.yaml", "metadata.judge.rubric", "unknown judge prompt 'no-such-prompt'"]),
        (["--metadata", '{"data_file": "BAD"}'], ["bad.jsonl:2", "field 'turns'"]),
    ],
)
def test_bad_input_is_one_line(server, judge_env, tmp_path, extra, needles):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question_id": 1, "category": "x", "turns": ["a"]}\n{"question_id": 2, "category": "x"}\n')
    extra = [e.replace("BAD", str(bad)) for e in extra]
    res = run_cli(api_args(server, tmp_path / "runs", *extra, limit=1), judge_env, tmp_path)
    assert res.returncode != 0
    lines = [line for line in res.stderr.splitlines() if line.startswith("transeval: error:")]
    assert len(lines) == 1, res.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in res.stderr


def test_unreachable_judge_is_one_line_before_generation(server, judge_env, tmp_path):
    env = {**judge_env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "TRANSEVAL_JUDGE_MAX_RETRIES": "1"}
    res = run_cli(api_args(server, tmp_path / "runs", limit=1), env, tmp_path)
    assert res.returncode != 0
    lines = [line for line in res.stderr.splitlines() if line.startswith("transeval: error:")]
    assert len(lines) == 1 and "unreachable after 2 attempts" in lines[0]
    assert server.candidate_requests() == []


def test_lm_eval_lists_and_validates_tasks(judge_env, tmp_path):
    res = run_cli(["lm_eval", "ls", "tasks"], judge_env, tmp_path)
    assert res.returncode == 0
    for name in ("thai_mtbench", "mtbench_en", "ceval", "agieval_v1", "gaokao_bench_obj", "gaokao_bench_sub",
                 "perplexity_en", "llama_beyond_english", "transllm_th"):
        assert name in res.stdout, name
    ours = ("thai_mtbench,mtbench_en,ceval,agieval_v1,gaokao_bench_obj,gaokao_bench_sub,perplexity_en,perplexity_zh,"
            "llama_beyond_english,llama_beyond_english_offline,transllm_th,demo_knowledge")
    ok = run_cli(["lm_eval", "validate", "--tasks", ours], judge_env, tmp_path)
    assert ok.returncode == 0 and "All tasks found and valid" in ok.stdout + ok.stderr


def test_hook_opt_out(judge_env, tmp_path):
    code = "from lm_eval.tasks import TaskManager; print('thai_mtbench' in TaskManager().all_tasks)"
    off = run_cli(["python", "-c", code], {**judge_env, "TRANSEVAL_NO_LM_EVAL_HOOK": "1"}, tmp_path)
    assert off.returncode == 0 and off.stdout.strip() == "False"
