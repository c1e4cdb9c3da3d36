"""Fidelity on real published MT-bench judge data: transeval reads, renders and averages as FastChat did.

The data (``data/``, see its SOURCE.md) is FastChat's own output from public forks: model answers, GPT-4's
single-answer judgments of 5 models (800, two with empty answers) and 75 pairwise judgments in both orders
(pair-v2 and reference-guided pair-math-v1). Every test compares with what FastChat recorded: GPT-4's parsed score
and winner, the judge prompt GPT-4 saw, and ``show_result.py``'s per-model mean.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from conftest import SECRET
from fastchat_format import (
    RUBRICS,
    PairJudgment,
    SingleJudgment,
    answers_in_prompt,
    pair_judgments,
    read_jsonl,
    show_result_means,
    single_judgments,
    verdict_letter,
)
from scripted_server import ScriptedOpenAI
from transeval.core.paths import tasks_dir
from transeval.core.records import Conversation, Question, TurnOutput
from transeval.harness.judging.compare import COMPARISON_FILE, agreement
from transeval.harness.judging.pipeline import judge_task, score_metrics
from transeval.harness.judging.store import merge_judgments
from transeval.harness.lmeval.judged import load_docs, question_from_doc
from transeval.judges.config import JudgeSettings
from transeval.judges.grade import MetricJob, jobs_for, judge, pick_rubric, planned_requests
from transeval.judges.rubric import load_rubric

DATA = Path(__file__).parent / "data" / "mt_bench"
MODELS = ("mamba_0_75_dpo_ep3", "llama2_7b", "phi-3-dpo", "mistral-orpo-capybara", "claude-3-opus-20240229")
EMPTY = {"mamba_0_75_dpo_ep3": 2, "llama2_7b": 1}


@pytest.fixture(scope="module")
def questions() -> dict[str, Question]:
    meta = yaml.safe_load((tasks_dir() / "mtbench_en" / "mtbench_en.yaml").read_text(encoding="utf-8"))["metadata"]
    return {q.question_id: q for q in (question_from_doc(d) for d in load_docs("mtbench_en", meta))}


@pytest.fixture(scope="module")
def singles() -> list[SingleJudgment]:
    return single_judgments(DATA / "model_judgment" / "gpt-4_single.jsonl.gz")


@pytest.fixture(scope="module")
def pairs() -> list[PairJudgment]:
    return pair_judgments(DATA / "model_judgment" / "gpt-4_pair.jsonl.gz")


def answers(model: str) -> dict[str, tuple[str, ...]]:
    return {str(r["question_id"]): tuple(r["choices"][0]["turns"])
            for r in read_jsonl(DATA / "model_answer" / f"{model}.jsonl.gz")}


def conversations(model: str, questions: dict[str, Question]) -> list[Conversation]:
    return [Conversation(questions[qid], tuple(TurnOutput("", t, t) for t in turns))
            for qid, turns in answers(model).items()]


def settings_for(server: ScriptedOpenAI, tmp_path: Path) -> JudgeSettings:
    return JudgeSettings(model="judge-gpt-4-replay", base_url=server.base_url, api_key=SECRET, max_retries=0,
                         backoff_s=0.01, concurrency=8, cache_path=tmp_path / "cache.sqlite", max_answer_chars=0)


def replay(records: dict[str, str]) -> Callable[[str], str]:
    """A judge that answers each prompt (system + "\\n" + user, as the server joins them) with GPT-4's reply."""
    return lambda prompt: records.get(prompt, "NO RECORDED JUDGMENT FOR THIS PROMPT")


def test_every_fastchat_judge_prompt_is_ours_verbatim():
    for rec in read_jsonl(DATA / "judge_prompts.jsonl"):
        ours = load_rubric(RUBRICS[rec["name"]])
        assert ours.system == rec["system_prompt"] and ours.template == rec["prompt_template"], rec["name"]


def test_parser_reads_gpt4s_recorded_score_and_winner(singles, pairs):
    """GPT-4's judgment text through our parser: the same score (single) and verdict (each pairwise order)."""
    n, differences = 0, []
    for j in singles:
        parsed = load_rubric(RUBRICS[j.rubric]).parse(j.judgment, answers_in_prompt(j.user_prompt)).score
        recorded = None if j.score == -1 else j.score
        n += 1
        if parsed != recorded:
            differences.append((j.model, j.question_id, j.turn, recorded, parsed))
    for p in pairs:
        rubric = load_rubric(RUBRICS[p.rubric])
        for game, prompt, text, winner in ((1, p.g1_user_prompt, p.g1_judgment, p.g1_winner),
                                           (2, p.g2_user_prompt, p.g2_judgment, p.g2_winner)):
            verdict, _ = rubric.parse_verdict(text, answers_in_prompt(prompt))
            n += 1
            if verdict != verdict_letter(winner, game):
                differences.append((f"{p.model_1} vs {p.model_2} game {game}", p.question_id, p.turn, winner, verdict))
    assert n == 800 + 150
    assert 1 - len(differences) / n >= 0.999 and not differences, differences


def test_pair_prompts_are_the_ones_gpt4_saw(pairs, questions, tmp_path):
    """``transeval compare``'s planner picks pair-math-v1 where FastChat did; both orders are byte-identical."""
    a, b = answers("phi-3"), answers("phi-3-dpo")
    settings = JudgeSettings(model="gpt-4", base_url=None, api_key="", cache_path=tmp_path / "c.sqlite",
                             max_answer_chars=0)
    seen = {"pair-v2": 0, "pair-math-v1": 0}
    for p in pairs:
        assert (p.model_1, p.model_2, p.turn) == ("phi-3", "phi-3-dpo", 1)
        q = replace(questions[str(p.question_id)], baselines={"phi-3-dpo": b[str(p.question_id)]})
        conv = Conversation(q, tuple(TurnOutput("", t, t) for t in a[str(p.question_id)]))
        job = MetricJob("win_rate", "pair-v2", "phi-3-dpo")
        assert pick_rubric(conv, 0, job).name == RUBRICS[p.rubric]
        first, second = planned_requests([conv], [job], settings)[:2]
        assert first.messages[-1]["content"] == p.g1_user_prompt
        assert second.messages[-1]["content"] == p.g2_user_prompt
        assert first.messages[0]["content"] == load_rubric(RUBRICS[p.rubric]).system
        turn2 = planned_requests([conv], [job], settings)[2]  # turn 2: the multi-turn form, with both references
        assert pick_rubric(conv, 1, job).name == RUBRICS[p.rubric] + "-multi-turn"
        if p.rubric == "pair-math-v1":
            assert q.reference is not None and q.reference[1] in turn2.messages[-1]["content"]
        seen[p.rubric] += 1
    assert seen == {"pair-v2": 50, "pair-math-v1": 25}


def test_mtbench_means_equal_fastchat_show_result(server, singles, questions, tmp_path):
    """Our judge path (HTTP, cache, parser, aggregation) on GPT-4's recorded replies: FastChat's means, empty
    answers included and counted."""
    records = {load_rubric(RUBRICS[j.rubric]).system + "\n" + j.user_prompt: j.judgment for j in singles}
    server.judge_script = replay(records)
    expected = show_result_means(singles)
    settings = settings_for(server, tmp_path)
    for model in MODELS:
        convs = conversations(model, questions)
        out = judge(convs, jobs_for(convs[0].question.judge), settings)
        scores = score_metrics("mtbench_en", settings.model, merge_judgments(out.judgments), convs)["score"]
        assert scores.n_total == 160 and scores.n_scored == 160, scores.unscored_reasons
        assert scores.n_empty == EMPTY.get(model, 0)
        assert scores.overall.mean is not None and abs(scores.overall.mean - expected[model]) <= 0.01, model
        assert abs(scores.overall.mean - expected[model]) < 1e-9  # in fact identical
    assert server.judge_calls() == len(singles)


def _replayed_pairs(server, pairs, questions):
    """phi-3's conversations with phi-3-dpo's answers as the baseline; the server replays GPT-4's recorded
    verdict for each order's exact prompt."""
    records = {}
    for p in pairs:
        system = load_rubric(RUBRICS[p.rubric]).system
        records[system + "\n" + p.g1_user_prompt] = p.g1_judgment
        records[system + "\n" + p.g2_user_prompt] = p.g2_judgment
    server.judge_script = replay(records)
    b = answers("phi-3-dpo")
    judged = {str(p.question_id) for p in pairs}
    return [replace(c, question=replace(c.question, baselines={"phi-3-dpo": b[c.question.question_id]}))
            for c in conversations("phi-3", questions) if c.question.question_id in judged]


def test_pairwise_winners_and_swap_inconsistency_equal_fastchat(server, pairs, questions, tmp_path):
    """Both orders judged through our path with GPT-4's recorded replies: FastChat's combined winner per pair,
    and the share of pairs whose verdict changes with the order."""
    convs = _replayed_pairs(server, pairs, questions)
    out = judge(convs, [MetricJob("win_rate", "pair-v2", "phi-3-dpo")], settings_for(server, tmp_path))
    turn1 = [j for j in out.judgments if j.turn == 0]
    ours = {int(j.sample_id): j.pair.winner for j in turn1 if j.pair is not None}
    # show_result.py drops a pair when either order is "error" (GPT-4's call failed: "$ERROR$"); two orders that
    # disagree are a tie
    both = [p for p in pairs if "error" not in (p.g1_winner, p.g2_winner)]
    fastchat = {p.question_id: None for p in pairs} | {
        p.question_id: {"model_1": "model", "model_2": "baseline"}.get(p.g1_winner, "tie")
        if p.g1_winner == p.g2_winner else "tie" for p in both}
    assert ours == fastchat and len(both) == 73
    scores = score_metrics("mtbench_en", "judge", merge_judgments(turn1), convs)["win_rate"]
    assert scores.swap_inconsistency == pytest.approx(sum(p.g1_winner != p.g2_winner for p in both) / len(both))
    assert {j.rubric for j in turn1} == {"pair-v2", "pair-math-v1"}


def test_agreement_with_fastchats_pair_file(server, pairs, questions, tmp_path):
    """``transeval agreement`` between our replayed comparison (saved as ``transeval compare`` saves it) and
    FastChat's gpt-4_pair.jsonl as published: one comparison per question and model pair, all in agreement."""
    convs = _replayed_pairs(server, pairs, questions)
    folder = tmp_path / "comparisons" / "phi-3__vs__phi-3-dpo"
    folder.mkdir(parents=True)
    (folder / COMPARISON_FILE).write_text(json.dumps({"model": "phi-3", "baseline": "phi-3-dpo"}), encoding="utf-8")
    judge_task(convs, [MetricJob("win_rate", "pair-v2", "phi-3-dpo")], settings_for(server, tmp_path), folder,
               "pairwise")
    published = tmp_path / "gpt-4_pair.jsonl"
    published.write_bytes(gzip.decompress((DATA / "model_judgment" / "gpt-4_pair.jsonl.gz").read_bytes()))
    rep = agreement(folder, published, metric="win_rate")
    assert rep["kind"] == "pairwise" and rep["n_common"] == 73 and rep["n"] == 73  # 2 "error" lines dropped
    assert rep["with_tie"] == 1.0 and rep["without_tie"] == 1.0
