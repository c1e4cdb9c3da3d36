"""`transeval compare` (pairwise of runs, Bradley-Terry) and `transeval agreement`, against the scripted server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scripted_server import ScriptedOpenAI
from transeval.core.records import TurnOutput
from transeval.harness.cli import main
from transeval.harness.lmeval.judged import load_docs
from transeval.harness.lmeval.multiturn import encode_outputs

META = {"data_file": "thai_mtbench/data/question_th.jsonl", "language": "Thai",
        "judge": {"rubric": "mtbench-th-single-v1", "rubric_multi_turn": "mtbench-th-single-v1-multi-turn"}}


def write_run(root: Path, model: str, date: str, n: int = 6, task: str = "thai_mtbench") -> Path:
    folder = root / model.replace("/", "__")
    folder.mkdir(parents=True)
    docs = load_docs(task, META)[:n]
    results = {"model_name": model, "configs": {task: {}}, "results": {task: {"alias": task}}}
    (folder / f"results_{date}.json").write_text(json.dumps(results), encoding="utf-8")
    with (folder / f"samples_{task}_{date}.jsonl").open("w", encoding="utf-8") as fh:
        for i, doc in enumerate(docs):
            turns = [TurnOutput("p", f"{model} says {k} to {doc['question_id']}", f"{model} says {k} to "
                                f"{doc['question_id']}" + " ยาว" * (3 * k)) for k in range(2)]
            fh.write(json.dumps({"doc_id": i, "doc": doc, "filtered_resps": [encode_outputs(turns)]},
                                ensure_ascii=False) + "\n")
    return folder


@pytest.fixture
def env(server: ScriptedOpenAI, tmp_path: Path, monkeypatch) -> ScriptedOpenAI:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("TRANSEVAL_JUDGE_MODEL", "judge-scripted")
    monkeypatch.setenv("TRANSEVAL_CACHE_DIR", str(tmp_path / "cache"))
    return server


def strength(name: str) -> int:
    return {"org-a/strong": 3, "org-b/middle": 2, "org-c/weak": 1}[name]


def prefer_stronger(prompt: str) -> str:
    """Assistant A's answer comes first in the prompt: the model named first is A."""
    seen = sorted((prompt.find(m), m) for m in ("org-a/strong", "org-b/middle", "org-c/weak") if m in prompt)
    (_, a), (_, b) = seen
    return "[[A]]" if strength(a) > strength(b) else "[[B]]"


def test_compare_model_vs_baseline_and_rerun_is_cached(env, tmp_path, capsys):
    root = tmp_path / "runs"
    write_run(root, "org-a/strong", "2026-01-01T00-00-00")
    write_run(root, "org-c/weak", "2026-01-02T00-00-00")
    env.judge_script = prefer_stronger
    assert main(["compare", str(root), "--model", "strong", "--baseline", "org-c/weak",
                 "--json", str(tmp_path / "r.json")]) == 0
    assert env.judge_calls() == 6 * 2 * 2  # 6 questions x 2 turns x both orders
    report = json.loads((tmp_path / "r.json").read_text())
    pair = report["tasks"]["thai_mtbench"]["org-a/strong vs org-c/weak"]
    assert (pair["wins"], pair["ties"], pair["losses"]) == (12, 0, 0)
    assert pair["win_rate_adjusted"] == 1.0 and pair["ci_low"] < 1.0
    assert set(pair["per_turn"]) == {"turn1", "turn2"}
    turn2 = [r for r in env.judge_requests() if "Conversation with User" in r["messages"][-1]["content"]]
    assert len(turn2) == 12  # pair-v2-multi-turn for turn 2
    files = list((root / "comparisons").rglob("judgments_thai_mtbench_pairwise.jsonl"))
    assert len(files) == 1
    assert main(["compare", str(root), "--model", "strong", "--baseline", "weak"]) == 0
    assert env.judge_calls() == 24, "a rerun is served from the cache"
    out = capsys.readouterr().out
    assert "win 12 / tie 0 / loss 0" in out and "swap inconsistency 0.0%" in out and "unscored 0.0%" in out
    assert pair["swap_inconsistency"] == 0.0 and pair["unscored_share"] == 0.0


def test_three_models_get_bradley_terry_ratings_in_order(env, tmp_path):
    root = tmp_path / "runs"
    for i, m in enumerate(("org-a/strong", "org-b/middle", "org-c/weak")):
        write_run(root, m, f"2026-01-0{i + 1}T00-00-00")
    env.judge_script = prefer_stronger
    out = tmp_path / "bt.json"
    assert main(["compare", str(root), "--model", "org-a/strong", "--model", "org-b/middle", "--model",
                 "org-c/weak", "--json", str(out)]) == 0
    bt = json.loads(out.read_text())["tasks"]["thai_mtbench"]["bradley_terry"]
    order = sorted(bt, key=lambda m: bt[m]["rating"], reverse=True)
    assert order == ["org-a/strong", "org-b/middle", "org-c/weak"]
    assert all(bt[m]["ci_low"] <= bt[m]["rating"] <= bt[m]["ci_high"] for m in bt)


def test_ambiguous_model_name_is_one_line(env, tmp_path, capsys):
    root = tmp_path / "runs"
    write_run(root, "org-a/m", "2026-01-01T00-00-00")
    write_run(root, "org-b/m", "2026-01-02T00-00-00")
    assert main(["compare", str(root), "--model", "m", "--baseline", "org-b/m"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "matches several models" in err[0] and "org-a/m" in err[0]


def test_agreement_of_judge_and_human_labels(env, tmp_path, capsys):
    from transeval.core.jsonl import read_jsonl
    from transeval.harness.judging.pipeline import conversations_from_samples, judge_task
    from transeval.judges.config import resolve_settings
    from transeval.judges.grade import jobs_for

    root = tmp_path / "runs"
    folder = write_run(root, "org-a/strong", "2026-01-01T00-00-00")
    recs = [r for _, r in read_jsonl(folder / "samples_thai_mtbench_2026-01-01T00-00-00.jsonl")]
    convs = conversations_from_samples(recs)
    res = judge_task(convs, jobs_for(convs[0].question.judge), resolve_settings(), folder, "2026-01-01T00-00-00")
    labels = tmp_path / "human.csv"
    mine = [j for j in res.judgments if j.metric == "score"]
    rows = ["sample_id,turn,score"] + [f"{j.sample_id},{j.turn},{j.score}" for j in mine]
    labels.write_text("\n".join(rows) + "\n", encoding="utf-8")
    judgments = folder / "judgments_thai_mtbench_2026-01-01T00-00-00.jsonl"
    assert main(["agreement", str(judgments), str(labels), "--json", str(tmp_path / "a.json")]) == 0
    rep = json.loads((tmp_path / "a.json").read_text())
    assert rep["kind"] == "scores" and rep["n"] == 12 and rep["exact"] == 1.0 and rep["within_1"] == 1.0
    shifted = ["sample_id,turn,score"] + [f"{j.sample_id},{j.turn},{min(10, j.score + 1)}" for j in mine]
    labels.write_text("\n".join(shifted) + "\n", encoding="utf-8")
    assert main(["agreement", str(judgments), str(labels), "--json", str(tmp_path / "a.json")]) == 0
    rep = json.loads((tmp_path / "a.json").read_text())
    assert rep["exact"] < 1.0 and rep["within_1"] == 1.0


def test_leaderboard_rank_correlation_llmeval(tmp_path, capsys):
    from scipy.stats import spearmanr
    from transeval.core.paths import tasks_dir
    from transeval.harness.stats.agreement import read_leaderboard_csv

    rep = tasks_dir() / "llm_eval" / "data" / "reported"
    gpt4 = rep / "itemized_eval_gpt4_leaderboard.csv"
    human = rep / "itemized_eval_manual_denoised_leaderboard.csv"
    assert main(["agreement", str(gpt4), str(human), "--leaderboard", "--json", str(tmp_path / "l.json")]) == 0
    got = json.loads((tmp_path / "l.json").read_text())
    a, b = read_leaderboard_csv(gpt4), read_leaderboard_csv(human)
    common = sorted(set(a) & set(b))
    assert got["n"] == len(common) == 12
    assert got["spearman"] == pytest.approx(spearmanr([a[m] for m in common], [b[m] for m in common]).statistic)


def test_agreement_keeps_model_pairs_apart_and_reads_mtbench_human_judgments(tmp_path, capsys):
    """Two model pairs on one question are two comparisons; the published MT-bench format (1-based turns,
    ``tie (inconsistent)``, several human judges per comparison, either model order) is read as FastChat's
    ``compute_agreement.py`` reads it: each human vote against GPT-4's one vote."""
    gpt4 = tmp_path / "gpt4_pair.jsonl"
    rows = [(81, "x", "y", "model_a", 1), (81, "z", "x", "tie (inconsistent)", 1), (81, "x", "y", "model_b", 2)]
    gpt4.write_text("".join(json.dumps({"question_id": q, "model_a": a, "model_b": b, "winner": w,
                                        "judge": ["gpt-4", "pair-v2"], "turn": t}) + "\n"
                            for q, a, b, w, t in rows), encoding="utf-8")
    human = tmp_path / "human_judgments.json"
    votes = [(81, "y", "x", "model_b", "expert_0", 1),  # x wins, models in the other order
             (81, "x", "y", "tie", "expert_1", 1),
             (81, "x", "z", "model_b", "expert_0", 1),
             (81, "x", "y", "model_b", "author_0", 2),
             (82, "x", "y", "model_a", "expert_0", 1)]  # no GPT-4 vote: not compared
    human.write_text(json.dumps([{"question_id": q, "model_a": a, "model_b": b, "winner": w, "judge": j, "turn": t,
                                  "conversation_a": [], "conversation_b": []} for q, a, b, w, j, t in votes]),
                     encoding="utf-8")
    assert main(["agreement", str(gpt4), str(human), "--json", str(tmp_path / "a.json")]) == 0
    rep = json.loads((tmp_path / "a.json").read_text())
    assert rep["kind"] == "pairwise" and rep["n_common"] == 3 and rep["n"] == 4
    assert (rep["agree"], rep["with_tie"]) == (2, 0.5)
    assert (rep["n_without_tie"], rep["without_tie"]) == (2, 1.0)
    assert rep["per_turn"]["turn1"]["n"] == 3 and rep["per_turn"]["turn2"]["with_tie"] == 1.0
    assert "turn1:" in capsys.readouterr().out
