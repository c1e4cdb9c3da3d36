"""Pure data functions of the leaderboard: run folders -> DataFrames. No ``st.*`` here."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from transeval.harness.store import Run, find_runs, read_jsonl, read_judgments, read_scores

#: The metric shown for a task lm-eval scores itself, in order of preference (else its first metric).
PREFERRED_METRICS = ("score_rate", "acc", "exact_match", "word_perplexity", "byte_perplexity")
BOUNDED_METRICS = {"acc", "acc_norm", "exact_match", "score_rate"}
LEADERBOARD_COLUMNS = [
    "model", "task", "metric", "score", "ci_low", "ci_high", "chance", "n_scored", "n_total", "turn1", "turn2",
    "judge", "date", "run",
]


@dataclass(frozen=True)
class TurnView:
    """One turn of one sample as shown on the board (all text shown as plain text)."""

    question: str
    answer: str | None
    raw: str
    prompt: str
    score: float | None
    reason: str | None
    explanation: str
    note: str | None


@dataclass(frozen=True)
class SampleView:
    """One question with the model's turns and the judge's verdicts."""

    question_id: str
    category: str
    turns: tuple[TurnView, ...]

    @property
    def mean_score(self) -> float | None:
        """Mean of the scored turns (None if none is scored)."""
        scores = [t.score for t in self.turns if t.score is not None]
        return sum(scores) / len(scores) if scores else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not math.isnan(float(value)) else None


def _lm_eval_row(run: Run, task: str) -> dict[str, Any] | None:
    """A row for a task lm-eval scored itself (first numeric metric, CI from its stderr)."""
    res = (run.results.get("results") or {}).get(task) or {}
    keys = [k for k, v in res.items() if "," in k and "_stderr" not in k and "_ci_" not in k
            and not k.startswith("bypass") and _num(v) is not None]
    if not keys:
        return None
    key = next((k for m in PREFERRED_METRICS for k in keys if k.split(",")[0] == m), keys[0])
    metric, flt = key.split(",", 1)
    v = float(res[key])
    lo, hi = _num(res.get(f"{metric}_ci_low,{flt}")), _num(res.get(f"{metric}_ci_high,{flt}"))
    se = _num(res.get(f"{metric}_stderr,{flt}"))
    if lo is None and se is not None:
        lo, hi = v - 1.96 * se, v + 1.96 * se
        if metric in BOUNDED_METRICS:  # a normal-approximation interval must not leave [0, 1]
            lo, hi = max(0.0, lo), min(1.0, hi)
    n_samples = run.results.get("n-samples") or {}
    leaves = leaf_tasks(run, task)
    n = sum(int((n_samples.get(leaf) or {}).get("effective") or 0) for leaf in leaves) or None
    results = run.results.get("results") or {}
    points = [(_num(results.get(x, {}).get(f"points,{flt}")), _num(results.get(x, {}).get(f"max_points,{flt}")))
              for x in leaves]
    if len(leaves) > 1 and points and all(p is not None and m for p, m in points):
        # GAOKAO-Bench's total scoring rate: points over points possible, summed over its files.
        v = sum(p for p, _ in points if p is not None) / sum(m for _, m in points if m)
        metric, lo, hi = "score_rate (points)", None, None
    return {"metric": metric, "score": v, "ci_low": lo, "ci_high": hi, "n_scored": n, "n_total": n}


def display_model(name: str) -> str:
    """A short model label: the last two parts of a local path, else the name as given."""
    if "/" in name and ("=" not in name):
        parts = [p for p in name.rstrip("/").split("/") if p]
        return "/".join(parts[-2:]) if parts[-1].startswith(("checkpoint", "step")) else parts[-1]
    return name


def children(run: Run) -> dict[str, list[str]]:
    """Group -> member task/group names, as lm-eval recorded them."""
    return {k: list(v) for k, v in (run.results.get("group_subtasks") or {}).items()}


def top_level(run: Run) -> list[str]:
    """The leaderboard rows of a run: tasks and groups not inside another group.

    A group without aggregate numbers of its own (a paper suite such as ``llama_beyond_english``, which mixes
    accuracy and perplexity) is replaced by its members.
    """
    kids = children(run)
    nested = {c for members in kids.values() for c in members}
    results = run.results.get("results") or {}
    names = list(results.keys()) or list(run.tasks)

    def expand(name: str) -> list[str]:
        has_numbers = any(_num(v) is not None for k, v in (results.get(name) or {}).items() if "," in k)
        if name in kids and not has_numbers and not run.scores_path(name).exists():
            return [x for k in kids[name] for x in expand(k)]
        return [name]

    return [x for t in names if t not in nested for x in expand(t)]


def leaf_tasks(run: Run, name: str) -> list[str]:
    """All leaf tasks under a task or group."""
    kids = children(run).get(name)
    if not kids:
        return [name]
    return [leaf for k in kids for leaf in leaf_tasks(run, k)]


def chance_level(run: Run, name: str) -> float | None:
    """Expected accuracy of random guessing for multiple-choice tasks (size-weighted over a group's leaves)."""
    configs = run.results.get("configs") or {}
    n_samples = run.results.get("n-samples") or {}
    total, weight = 0.0, 0
    for leaf in leaf_tasks(run, name):
        cfg = configs.get(leaf) or {}
        if cfg.get("output_type") != "multiple_choice":
            return None
        choices = cfg.get("doc_to_choice")
        if isinstance(choices, list) and choices:
            chance = 1.0 / len(choices)
        else:
            chance_s = [1.0 / len(rec.get("arguments") or [1, 1]) for _, rec in _samples(run, leaf)]
            if not chance_s:
                return None
            chance = sum(chance_s) / len(chance_s)
        n = int((n_samples.get(leaf) or {}).get("effective") or 1)
        total, weight = total + chance * n, weight + n
    return total / weight if weight else None


def _samples(run: Run, task: str) -> list[tuple[int, dict[str, Any]]]:
    path = run.samples_path(task)
    return list(read_jsonl(path)) if path.exists() else []


def leaderboard(root: Path) -> pd.DataFrame:
    """One row per (run, top-level task or group): judged score or lm-eval's metric, with 95% CI."""
    rows = []
    for run in find_runs(root):
        for task in top_level(run):
            base = {"model": display_model(run.model), "task": task, "date": run.date_id,
                    "run": str(run.results_path), "chance": chance_level(run, task)}
            if run.scores_path(task).exists():
                s = read_scores(run.scores_path(task))
                metric, score, lo, hi = "judge score (1-10)", s.overall.mean, s.overall.ci_low, s.overall.ci_high
                if s.max_points:  # graded on each question's own points (GAOKAO-Bench): the benchmark's rate
                    metric, score, lo, hi = "scoring rate (judge, points)", (s.points or 0.0) / s.max_points, None, None
                rows.append({
                    **base, "metric": metric, "score": score, "ci_low": lo,
                    "ci_high": hi, "n_scored": s.n_scored, "n_total": s.n_total,
                    "turn1": s.per_turn.get("turn1").mean if "turn1" in s.per_turn else None,  # type: ignore[union-attr]
                    "turn2": s.per_turn.get("turn2").mean if "turn2" in s.per_turn else None,  # type: ignore[union-attr]
                    "judge": s.judge_model,
                })
            elif (row := _lm_eval_row(run, task)) is not None:
                rows.append({**base, **row})
            else:
                rows.append({**base, "metric": "not judged yet", "score": None})
    df = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    return df.sort_values(["task", "score"], ascending=[True, False], na_position="last").reset_index(drop=True)


def run_by_results_path(root: Path, results_path: str) -> Run:
    """The run whose results file is ``results_path``."""
    for run in find_runs(root):
        if str(run.results_path) == results_path:
            return run
    raise KeyError(results_path)


def category_table(run: Run, task: str) -> pd.DataFrame:
    """Per-category mean and CI of a judged task."""
    if not run.scores_path(task).exists():
        return pd.DataFrame(columns=["category", "score", "ci_low", "ci_high", "n"])
    s = read_scores(run.scores_path(task))
    rows = [{"category": c, "score": e.mean, "ci_low": e.ci_low, "ci_high": e.ci_high, "n": e.n}
            for c, e in s.per_category.items()]
    rows += [{"category": f"({t})", "score": e.mean, "ci_low": e.ci_low, "ci_high": e.ci_high, "n": e.n}
             for t, e in s.per_turn.items()]
    return pd.DataFrame(rows)


def samples(run: Run, task: str) -> list[SampleView]:
    """Every sample of a judged task with its answers and judgments (empty if there is no samples log)."""
    from transeval.harness.mtbench import conversation_from_sample

    path = run.samples_path(task)
    if not path.exists():
        return []
    verdicts = {}
    if run.judgments_path(task).exists():
        verdicts = {(j.sample_id, j.turn): j for j in read_judgments(run.judgments_path(task))}
    out = []
    for _lineno, rec in read_jsonl(path):
        doc = rec.get("doc") or {}
        if "judge" not in doc:
            continue
        conv = conversation_from_sample(doc, (rec.get("filtered_resps") or [""])[0])
        turns = []
        for t, question in enumerate(conv.question.turns):
            out_t = conv.turns[t] if t < len(conv.turns) else None
            j = verdicts.get((conv.question.question_id, t))
            turns.append(TurnView(
                question=question, answer=out_t.answer if out_t else None, raw=out_t.raw if out_t else "",
                prompt=out_t.prompt if out_t else "", score=j.score if j else None,
                reason=(j.reason if j else "not judged yet"), explanation=j.explanation if j else "",
                note=out_t.note if out_t else None,
            ))
        out.append(SampleView(conv.question.question_id, conv.question.category, tuple(turns)))
    return out


def breakdown(run: Run, name: str) -> pd.DataFrame:
    """lm-eval metric with 95% CI for every subgroup and subtask under ``name`` (e.g. C-Eval's categories)."""
    rows = []

    def walk(node: str, depth: int) -> None:
        row = _lm_eval_row(run, node)
        if row is not None:
            rows.append({"task": "  " * depth + node, "metric": row["metric"], "score": row["score"],
                         "ci_low": row["ci_low"], "ci_high": row["ci_high"], "n": row["n_total"],
                         "chance": chance_level(run, node)})
        for kid in children(run).get(node, []):
            walk(kid, depth + 1)

    walk(name, 0)
    return pd.DataFrame(rows, columns=["task", "metric", "score", "ci_low", "ci_high", "n", "chance"])


@dataclass(frozen=True)
class ChoiceView:
    """One multiple-choice question: what the model was asked, its pick and the gold answer."""

    doc_id: int
    question: str
    options: tuple[str, ...]
    picked: int | None
    gold: tuple[int, ...]
    correct: bool | None


def choice_samples(run: Run, task: str) -> list[ChoiceView]:
    """Per-question drill-down of a multiple-choice (log-likelihood) task from its samples log."""
    out = []
    for _, rec in _samples(run, task):
        args = rec.get("arguments") or {}
        arg_list = list(args.values()) if isinstance(args, dict) else list(args)
        options = tuple(str(a.get("arg_1", "")) if isinstance(a, dict) else str(a[1]) for a in arg_list)
        context = str(arg_list[0].get("arg_0", "")) if arg_list and isinstance(arg_list[0], dict) else ""
        lls = [r[0][0] if isinstance(r[0], list) else r[0] for r in (rec.get("filtered_resps") or [])]
        picked = max(range(len(lls)), key=lambda i: float(lls[i])) if lls else None
        gold = _gold_indices(rec.get("target"))
        doc = rec.get("doc") or {}
        question = str(doc.get("question") or doc.get("query") or context.split("\n\n")[-1])
        out.append(ChoiceView(int(rec.get("doc_id", 0)), question, options, picked, gold,
                              None if picked is None or not gold else picked in gold))
    return out


def _gold_indices(target: Any) -> tuple[int, ...]:
    """Gold option indices from a logged target: 2, "2", [0, 2] or "[0, 2]"."""
    if isinstance(target, bool):
        return ()
    if isinstance(target, int):
        return (target,)
    if isinstance(target, list):
        return tuple(int(x) for x in target if isinstance(x, int) and not isinstance(x, bool))
    if isinstance(target, str):
        text = target.strip()
        if text.isdigit():
            return (int(text),)
        if text.startswith("["):
            try:
                return _gold_indices(json.loads(text))
            except ValueError:
                return ()
    return ()


@dataclass(frozen=True)
class GenerationView:
    """One generated answer of an lm-eval-scored task: prompt, output, and the scorer's record."""

    doc_id: int
    prompt: str
    output: str
    target: str
    details: dict[str, Any]


def is_generation_task(run: Run, task: str) -> bool:
    """True for ``generate_until`` tasks (answers are drilled down as text, not as options)."""
    return ((run.results.get("configs") or {}).get(task) or {}).get("output_type") == "generate_until"


def generation_samples(run: Run, task: str) -> list[GenerationView]:
    """Per-question drill-down of a generation task (e.g. GAOKAO-Bench: extracted answer, gold, reason)."""
    out = []
    for _, rec in _samples(run, task):
        args = rec.get("arguments") or {}
        first = next(iter(args.values()), {}) if isinstance(args, dict) else (args[0] if args else {})
        prompt = str(first.get("arg_0", "")) if isinstance(first, dict) else str(first[0])
        resp = (rec.get("filtered_resps") or [""])[0]
        details = next((v for k, v in rec.items() if isinstance(v, dict) and k not in ("doc", "arguments")), {})
        out.append(GenerationView(int(rec.get("doc_id", 0)), prompt, str(resp), str(rec.get("target", "")),
                                  details))
    return out
