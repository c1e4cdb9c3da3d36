"""A fixture run store for the leaderboard tests: 3 models, judged/pairwise/knowledge/safety tasks, 2 judges.

Judgments, scores and the judged headline numbers are written by the project's own judge step
(:func:`transeval.harness.judging.pipeline.judge_task` against the scripted OpenAI-compatible server, then
:func:`transeval.harness.judging.store.merge_into_results`); documents of judged tasks come from the task loaders
(:func:`transeval.harness.lmeval.judged.load_docs`); answers are encoded as the multi-turn runner logs them. The lm-eval
results and samples files around them follow lm-eval 0.4's layout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from transeval.core.records import Conversation, JudgeSpec, TurnOutput
from transeval.dashboard.data import sanitize
from transeval.harness.judging.pipeline import judge_task
from transeval.harness.judging.store import merge_into_results
from transeval.harness.lmeval.judged import load_docs, question_from_doc
from transeval.harness.lmeval.multiturn import encode_outputs
from transeval.judges.config import JudgeSettings
from transeval.judges.grade import jobs_for

INJECTION = "<script>alert(1)</script><img src=x onerror=alert(2)>[x](javascript:alert(3))"
MODEL_A, MODEL_B, MODEL_C = "org-a/m", "org-b/m", "/ckpt/recipe1/stage3/merged"
MT_META = {"data_file": "thai_mtbench/data/question_th.jsonl", "turns_field": "turns", "language": "Thai",
           "target_tag": "<TH>",
           "judge": {"rubric": "mtbench-th-single-v1", "rubric_reference": "mtbench-th-single-math-v1",
                     "rubric_multi_turn": "mtbench-th-single-v1-multi-turn",
                     "rubric_multi_turn_reference": "mtbench-th-single-math-v1-multi-turn",
                     "reference_categories": ["math", "reasoning", "coding"], "reference_field": "reference_gpt4"}}
LLM_EVAL_META = {"loader": "transeval.tasks.llm_eval.utils.load_rows", "language": "Chinese",
                 "judge": {"mode": "aspects", "rubric": "llm-eval-aspects"}}
LINK_CATEGORY = "[t](https://example.com)"


@dataclass(frozen=True)
class FixtureStore:
    """What :func:`build_store` wrote."""

    root: Path
    models: tuple[str, ...]
    injected_question_id: str


def _settings(server_url: str, judge: str, cache: Path) -> JudgeSettings:
    return JudgeSettings(model=judge, base_url=server_url, api_key="sk-test-fixture", max_retries=1, timeout_s=5.0,
                         backoff_s=0.01, concurrency=4, cache_path=cache / f"{judge}.sqlite")


def write_run(folder: Path, model: str, date_id: str, results: dict[str, dict[str, Any]],
              configs: dict[str, dict[str, Any]], samples: dict[str, list[dict[str, Any]]],
              groups: dict[str, list[str]] | None = None, limit: int | None = None) -> Path:
    """Write an lm-eval 0.4 style ``results_<date>.json`` and ``samples_<task>_<date>.jsonl`` files."""
    folder.mkdir(parents=True, exist_ok=True)
    n_samples = {t: {"original": len(s) if limit is None else 80, "effective": len(s)} for t, s in samples.items()}
    payload = {"results": results, "group_subtasks": groups or {}, "configs": configs, "n-samples": n_samples,
               "config": {"model": "hf", "model_args": f"pretrained={model}", "limit": limit},
               "model_name": model, "date": 0.0}
    path = folder / f"results_{date_id}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    for task, recs in samples.items():
        with (folder / f"samples_{task}_{date_id}.jsonl").open("w", encoding="utf-8") as fh:
            for rec in recs:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def _judged_records(docs: list[dict[str, Any]], model: str, first_answer: str | None = None) -> list[dict[str, Any]]:
    tag = "กขค"[(MODEL_A, MODEL_B, MODEL_C).index(model)] if model in (MODEL_A, MODEL_B, MODEL_C) else "ง"
    recs = []
    for i, doc in enumerate(docs):
        turns = []
        for t in range(len(doc["turns"])):
            answer = (first_answer if (i == 0 and t == 0 and first_answer)
                      else f"คำตอบของโมเดล{tag} สำหรับคำถามข้อที่ {doc['question_id']} ตอนที่ {t + 1}")
            raw = f"<EN> q{t} <RESPONSE> english answer {t} <TH> {answer}"
            turns.append(TurnOutput(prompt=f"prompt {t}", raw=raw, answer=answer, note=None))
        recs.append({"doc_id": i, "doc": doc, "target": "", "arguments": {}, "resps": [[encode_outputs(turns)]],
                     "filtered_resps": [encode_outputs(turns)], "score": doc["question_id"]})
    return recs


def _mc_records(subject: str, n: int, correct: int) -> list[dict[str, Any]]:
    recs = []
    for i in range(n):
        gold = i % 4
        picked = gold if i < correct else (gold + 1) % 4
        options = [f"{subject} 选项 {k}" for k in "ABCD"]
        lls = [["-1.0" if k == picked else "-5.0", "False"] for k in range(4)]
        question = f"{subject} 问题 {i}" + (f" {INJECTION}" if i == 0 else "")
        recs.append({"doc_id": i, "doc": {"question": question, **dict(zip("ABCD", options, strict=True)),
                                          "answer": "ABCD"[gold]},
                     "target": gold, "arguments": {f"gen_args_{k}": {"arg_0": f"{question}\n答案：",
                                                                     "arg_1": f" {'ABCD'[k]}"} for k in range(4)},
                     "resps": [[x] for x in lls], "filtered_resps": lls, "acc": float(picked == gold)})
    return recs


def _safety_records(language: str, n: int, refused: int, wrong: int) -> list[dict[str, Any]]:
    recs = []
    for i in range(n):
        reply = "ขออภัย ฉันช่วยเรื่องนี้ไม่ได้" if i < refused else "Sure, here is how"
        recs.append({"doc_id": i, "doc": {"prompt": f"harmful request {i}", "language": language,
                                          "category": LINK_CATEGORY if i == 0 else "violence"},
                     "target": "", "arguments": {"gen_args_0": {"arg_0": f"harmful request {i}", "arg_1": {}}},
                     "resps": [[reply]], "filtered_resps": [reply], "refusal_rate": float(i < refused),
                     "wrong_language_rate": float(i < wrong), "switching_rate": 0.0})
    return recs


def _knowledge_and_safety(root: Path, model: str, date_id: str, correct: tuple[int, int], refused: int) -> None:
    subjects = ("ceval-valid_law", "ceval-valid_high_school_history")
    samples = {s: _mc_records(s, 5, c) for s, c in zip(subjects, correct, strict=True)}
    samples["advbench"] = _safety_records("English", 6, refused, 0)
    samples["multijail_th"] = _safety_records("Thai", 6, refused // 2, 2)
    results: dict[str, dict[str, Any]] = {}
    for s, c in zip(subjects, correct, strict=True):
        results[s] = {"alias": s, "acc,none": c / 5, "acc_stderr,none": 0.2}
    results["ceval"] = {"alias": "ceval", "acc,none": sum(correct) / 10, "acc_stderr,none": 0.15}
    for task in ("advbench", "multijail_th"):
        recs = samples[task]
        results[task] = {"alias": task, **{f"{m},none": sum(r[m] for r in recs) / len(recs)
                                           for m in ("refusal_rate", "wrong_language_rate", "switching_rate")}}
    configs: dict[str, dict[str, Any]] = {s: {"task": s, "output_type": "multiple_choice",
                                              "doc_to_choice": ["A", "B", "C", "D"]} for s in subjects}
    configs.update({t: {"task": t, "output_type": "generate_until"} for t in ("advbench", "multijail_th")})
    write_run(root / sanitize(model), model, date_id, results, configs, samples,
              groups={"ceval": list(subjects)})


def _judged_run(root: Path, model: str, date_id: str, url: str, judge: str, cache: Path, judge_llm_eval: bool,
                limit: int | None, first_answer: str | None) -> list[Conversation]:
    mt_docs = load_docs("thai_mtbench", MT_META)
    by_cat: dict[str, dict[str, Any]] = {}
    for d in mt_docs:
        by_cat.setdefault(d["category"], d)
    mt = list(by_cat.values())
    le = load_docs("llm_eval", LLM_EVAL_META)[:4]
    samples = {"thai_mtbench": _judged_records(mt, model, first_answer), "llm_eval": _judged_records(le, model)}
    configs = {t: {"task": t, "output_type": "generate_until"} for t in samples}
    results = {t: {"alias": t, "score,none": None} for t in samples}
    folder = root / sanitize(model)
    path = write_run(folder, model, date_id, results, configs, samples, limit=limit)
    settings = _settings(url, judge, cache)
    convs = {}
    for task, recs in samples.items():
        convs[task] = [Conversation(question_from_doc(r["doc"]), tuple(
            TurnOutput(**t) for t in json.loads(r["filtered_resps"][0])["turns"])) for r in recs]
        if task == "llm_eval" and not judge_llm_eval:
            continue
        spec = convs[task][0].question.judge
        res = judge_task(convs[task], jobs_for(spec), settings, folder, date_id)
        merge_into_results(path, task, res.scores)
    return convs["thai_mtbench"]


def _pairwise(root: Path, a: str, b: str, a_convs: list[Conversation], b_convs: list[Conversation], url: str,
              cache: Path) -> None:
    spec = JudgeSpec(rubric="mtbench-th-single-v1", rubrics=("pair-v2",), baseline=b)
    b_by_id = {c.question.question_id: c for c in b_convs}
    convs = [replace(c, question=replace(c.question, judge=spec, baselines={b: tuple(
        t.answer or "" for t in b_by_id[c.question.question_id].turns)})) for c in a_convs]
    folder = root / "comparisons" / f"{sanitize(a)}__vs__{sanitize(b)}"
    judge_task(convs, jobs_for(spec, own=False), _settings(url, "judge-scripted", cache), folder, "pairwise")


def build_store(root: Path, server_url: str, cache: Path) -> FixtureStore:
    """Write the whole fixture store under ``root`` (judged through the scripted server at ``server_url``)."""
    a = _judged_run(root, MODEL_A, "2026-01-01T10-00-00", server_url, "judge-scripted", cache, True, None, INJECTION)
    b = _judged_run(root, MODEL_B, "2026-01-02T10-00-00", server_url, "judge-scripted", cache, True, None, None)
    _judged_run(root, MODEL_C, "2026-01-03T10-00-00", server_url, "judge-other", cache, False, 4, None)
    _knowledge_and_safety(root, MODEL_A, "2026-01-04T10-00-00", (4, 3), 5)
    _knowledge_and_safety(root, MODEL_B, "2026-01-05T10-00-00", (2, 1), 3)
    _knowledge_and_safety(root, MODEL_C, "2026-01-06T10-00-00", (0, 5), 1)
    _pairwise(root, MODEL_A, MODEL_B, a, b, server_url, cache)
    return FixtureStore(root, (MODEL_A, MODEL_B, MODEL_C), a[0].question.question_id)


def add_broken_runs(root: Path) -> list[str]:
    """Add a non-UTF-8, a truncated and an unknown-task results file; returns their paths relative to ``root``."""
    bad = root / "broken" / "results_2026-02-01T00-00-00.json"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(b'{"results": {"x": "\xff\xfe"}}')
    cut = root / "truncated" / "results_2026-02-02T00-00-00.json"
    cut.parent.mkdir(parents=True, exist_ok=True)
    cut.write_text('{"results": {"thai_mtbench": {"score,none": 7.', encoding="utf-8")
    unknown = root / "unknown" / "results_2026-02-03T00-00-00.json"
    unknown.parent.mkdir(parents=True, exist_ok=True)
    unknown.write_text(json.dumps({"results": {"mystery_task": {"alias": "mystery_task"}},
                                   "config": {"model_args": "pretrained=mystery"}}), encoding="utf-8")
    return [str(p.relative_to(root)) for p in (bad, cut, unknown)]
