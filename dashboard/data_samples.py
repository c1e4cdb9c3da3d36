"""Per-sample views for the Samples and Side-by-side pages (pure data, no ``st.*``).

Every task kind reads into one :class:`SampleView`: judged conversations (answers, raw TCoT output, every
metric's judgment), multiple-choice questions (options, the model's pick, the gold answer) and generation tasks
(prompt, output, the scorer's per-sample numbers, e.g. refusal and wrong-language flags of safety tasks).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from transeval.core.errors import TransevalError
from transeval.core.jsonl import read_jsonl
from transeval.core.records import Judgment
from transeval.dashboard.data import Board, _gold_indices, is_judged_task, num, task_language
from transeval.harness.judging.store import Run, merge_judgments, read_judgments
from transeval.harness.lmeval.judged import conversation_from_sample


@dataclass(frozen=True)
class JudgmentView:
    """One metric's verdict on one turn."""

    metric: str
    score: float | None
    reason: str | None
    explanation: str
    judge: str
    rubric: str
    aspects: tuple[tuple[str, float | None], ...] = ()


@dataclass(frozen=True)
class TurnView:
    """One turn: the question (and its English version), the answer, the raw output and the verdicts."""

    question: str
    question_en: str
    answer: str | None
    raw: str
    note: str | None
    reference: str | None
    judgments: tuple[JudgmentView, ...]
    language_note: str = ""


@dataclass(frozen=True)
class SampleView:
    """One sample of one task as the board shows it (all text is shown as plain text).

    Attributes:
        kind: ``judged``, ``choice`` or ``generation``.
        score: The headline number of the sample (mean judge score over turns, 1/0 for correct, the safety
            flag), or None when unscored.
        unscored: Why there is no score (``not judged yet``, the judge's reason), else "".
        language: The language the answer must be in.
        detected: The language detected in the answer (ISO 639-1), or "".
        wrong_language: Whether the answer is mainly not in ``language`` (None when unknown).
        extra: Further (name, value) pairs: options, gold, the scorer's per-sample metrics.
    """

    task: str
    sample_id: str
    category: str
    kind: str
    turns: tuple[TurnView, ...]
    score: float | None
    unscored: str
    language: str
    detected: str
    wrong_language: bool | None
    extra: tuple[tuple[str, str], ...] = ()

    def text(self) -> str:
        """All the sample's text, for search."""
        parts = [self.sample_id, self.category]
        for t in self.turns:
            parts += [t.question, t.question_en, t.answer or "", t.raw, *(j.explanation for j in t.judgments)]
        return "\n".join(parts + [v for _, v in self.extra])


def _language_check(answer: str | None, language: str) -> tuple[str, bool | None]:
    detected, wrong, _ = language_check(answer, language)
    return detected, wrong


def language_check(answer: str | None, language: str) -> tuple[str, bool | None, str]:
    """(main language, wrong language?, why) of an answer, on the basis the wrong-language check decides on.

    The check (:func:`transeval.harness.language.langid.analyse`) counts the expected language's share of the answer's
    estimated words; py3langid's whole-text guess (``detected`` in a check's stored explanation) reads byte
    n-grams, where one Thai or Chinese character weighs several bytes, so a mostly-English answer with some Thai
    is "detected th" yet wrong-language. The board names the language with the largest share of words and
    shows the shares, so the verdict and the language shown agree.
    """
    if not answer:
        return "", None, ""
    from transeval.harness.language import langid

    try:
        check = langid.analyse(answer, language)
    except TransevalError:
        return langid.detect(answer).language, None, ""
    if not check.segments:
        return "", check.wrong_language, "no letters: nothing to check"
    share = dict(check.segments).get(check.expected, 0.0)
    shares = ", ".join(f"{code} {value:.0%}" for code, value in check.segments)
    verdict = "wrong language" if check.wrong_language else "expected language"
    note = (f"{check.expected} is {share:.0%} of the answer's words ({verdict}: below "
            f"{langid.WRONG_LANGUAGE_BELOW:.0%} is wrong); words by language: {shares}; "
            f"whole-text guess: {check.detected.language}")
    return check.segments[0][0], check.wrong_language, note


def _judgments(run: Run, task: str) -> dict[tuple[str, int], list[Judgment]]:
    path = run.judgments_path(task)
    out: dict[tuple[str, int], list[Judgment]] = {}
    if path.exists():
        for j in merge_judgments(read_judgments(path)):
            out.setdefault((j.sample_id, j.turn), []).append(j)
    return out


def _view(j: Judgment) -> JudgmentView:
    explanation = j.explanation
    if j.pair is not None:
        explanation = (f"vs {j.pair.baseline}: answer first -> {j.pair.first}, answer second -> {j.pair.second}, "
                       f"winner {j.pair.winner}\n{j.explanation}\n--- swapped order ---\n{j.pair.explanation_second}")
    return JudgmentView(j.metric, j.score, j.reason, explanation, j.judge_model, f"{j.rubric} v{j.rubric_version}",
                        tuple((j.aspects or {}).items()))


def _judged(run: Run, task: str, recs: list[dict[str, Any]], detect: bool) -> list[SampleView]:
    verdicts = _judgments(run, task)
    judged = run.scores_path(task).exists()
    out = []
    for rec in recs:
        doc = rec.get("doc") or {}
        reply = (rec.get("filtered_resps") or [""])[0]
        conv = conversation_from_sample(doc, reply if isinstance(reply, str) else json.dumps(reply))
        q = conv.question
        turns, scores = [], []
        reasons: list[str] = []
        for t, question in enumerate(q.turns):
            out_t = conv.turns[t] if t < len(conv.turns) else None
            js = tuple(_view(j) for j in verdicts.get((q.question_id, t), []))
            main = next((j for j in js if j.metric == "score"), js[0] if js else None)
            if main is not None and main.score is not None:
                scores.append(main.score)
            elif main is not None and main.reason:
                reasons.append(main.reason)
            note = language_check(out_t.answer if out_t else None, q.language)[2] if detect else ""
            turns.append(TurnView(question, q.turns_en[t] if t < len(q.turns_en) else "",
                                  out_t.answer if out_t else None, out_t.raw if out_t else "",
                                  out_t.note if out_t else None,
                                  q.reference[t] if q.reference and t < len(q.reference) else None, js, note))
        unscored = "" if scores else ("; ".join(dict.fromkeys(reasons)) or
                                      ("not judged yet" if not judged else "no judgment"))
        detected, wrong = _language_check(turns[0].answer if turns else None, q.language) if detect else ("", None)
        out.append(SampleView(task, q.question_id, q.category, "judged", tuple(turns),
                              sum(scores) / len(scores) if scores else None, unscored, q.language, detected, wrong))
    return out


def _metric_fields(rec: dict[str, Any]) -> dict[str, float]:
    skip = {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "doc_hash", "prompt_hash",
            "target_hash", "filter", "metrics"}
    return {k: float(v) for k, v in rec.items() if k not in skip and num(v) is not None}


def _choice(run: Run, task: str, recs: list[dict[str, Any]]) -> list[SampleView]:
    out = []
    language = task_language(run, task)
    for rec in recs:
        args = rec.get("arguments") or {}
        arg_list = list(args.values()) if isinstance(args, dict) else list(args)
        options = [str(a.get("arg_1", "")) if isinstance(a, dict) else str(a[1]) for a in arg_list]
        context = str(arg_list[0].get("arg_0", "")) if arg_list and isinstance(arg_list[0], dict) else ""
        lls = [r[0] if isinstance(r, list) else r for r in (rec.get("filtered_resps") or [])]
        try:
            picked = max(range(len(lls)), key=lambda i: float(lls[i])) if lls else None
        except (TypeError, ValueError):
            picked = None
        gold = _gold_indices(rec.get("target"))
        doc = rec.get("doc") or {}
        question = str(doc.get("question") or doc.get("query") or context)
        texts = [str(doc.get(k, "")) for k in "ABCD"] if all(k in doc for k in "ABCD") else [""] * len(options)
        lines = [f"{i}. {o.strip()} {texts[i] if i < len(texts) else ''}".rstrip() +
                 "".join(m for m, hit in (("   <- model", i == picked), ("   <- gold", i in gold)) if hit)
                 for i, o in enumerate(options)]
        correct = None if picked is None or not gold else float(picked in gold)
        answer = lines[picked] if picked is not None and picked < len(lines) else None
        extra = (("options", "\n".join(lines)), ("gold", ", ".join(lines[g] for g in gold if g < len(lines))),
                 *((k, f"{v:g}") for k, v in _metric_fields(rec).items()))
        out.append(SampleView(task, str(rec.get("doc_id", "")), task, "choice",
                              (TurnView(question, "", answer, answer or "", None, None, ()),), correct,
                              "" if correct is not None else "no prediction", language, "", None, extra))
    return out


def _generation(run: Run, task: str, recs: list[dict[str, Any]], detect: bool) -> list[SampleView]:
    out = []
    for rec in recs:
        doc = rec.get("doc") or {}
        args = rec.get("arguments") or {}
        first = next(iter(args.values()), {}) if isinstance(args, dict) else (args[0] if args else {})
        prompt = str(first.get("arg_0", "")) if isinstance(first, dict) else str(first[0] if first else "")
        resp = (rec.get("filtered_resps") or [""])[0]
        output = resp if isinstance(resp, str) else json.dumps(resp, ensure_ascii=False)
        language = str(doc.get("language") or task_language(run, task))
        metrics = _metric_fields(rec)
        head = next((metrics[m] for m in ("refusal_rate", "acc", "exact_match", "score") if m in metrics),
                    next(iter(metrics.values()), None))
        wrong: bool | None = bool(metrics["wrong_language_rate"]) if "wrong_language_rate" in metrics else None
        detected, note = "", ""
        if detect:
            detected, check, note = language_check(output, language)
            wrong = check if wrong is None else wrong
        extra = (("target", str(rec.get("target", ""))), *((k, f"{v:g}") for k, v in metrics.items()))
        out.append(SampleView(task, str(rec.get("doc_id", "")), str(doc.get("category") or doc.get("subject") or ""),
                              "generation", (TurnView(prompt, "", output, output, None, None, (), note),), head,
                              "" if head is not None else "no per-sample number", language, detected, wrong, extra))
    return out


def samples(run: Run, task: str, detect: bool = True) -> list[SampleView]:
    """Every logged sample of a task of a run (empty when there is no samples log).

    Raises:
        TransevalError: naming the file and line of a malformed samples or judgments file.
    """
    path = run.samples_path(task)
    if not path.exists():
        return []
    recs = [rec for _, rec in read_jsonl(path)]
    if is_judged_task(run, task):
        return _judged(run, task, recs, detect)
    cfg = (run.results.get("configs") or {}).get(task) or {}
    if cfg.get("output_type") in ("multiple_choice", "loglikelihood"):
        return _choice(run, task, recs)
    return _generation(run, task, recs, detect)


def filter_samples(items: Sequence[SampleView], category: str | None = None, low: float | None = None,
                   high: float | None = None, unscored_only: bool = False, wrong_language_only: bool = False,
                   search: str = "") -> list[SampleView]:
    """The samples that pass every given filter (score range applies to scored samples only)."""
    needle = search.strip().casefold()
    out = []
    for s in items:
        if category and s.category != category:
            continue
        if unscored_only and s.score is not None:
            continue
        if s.score is not None and ((low is not None and s.score < low) or (high is not None and s.score > high)):
            continue
        if wrong_language_only and not s.wrong_language:
            continue
        if needle and needle not in s.text().casefold():
            continue
        out.append(s)
    return out


def samples_table(items: Sequence[SampleView]) -> pd.DataFrame:
    """One row per sample (for the CSV download and the overview table)."""
    rows = [{"id": s.sample_id, "category": s.category, "score": s.score, "unscored": s.unscored,
             "language": s.language, "detected": s.detected, "wrong_language": s.wrong_language,
             "question": s.turns[0].question if s.turns else "", "answer": s.turns[0].answer if s.turns else ""}
            for s in items]
    return pd.DataFrame(rows, columns=["id", "category", "score", "unscored", "language", "detected",
                                       "wrong_language", "question", "answer"])


def runs_of(board: Board, model: str, task: str) -> list[Run]:
    """The runs of ``model`` that have ``task``, newest first."""
    paths = board.rows[(board.rows["model"] == model) & (board.rows["task"] == task)]["run"].unique()
    return [r for r in board.runs if str(r.results_path) in set(paths)]


def side_by_side(board: Board, task: str, sample_id: str, models: Sequence[str]) -> list[tuple[str, SampleView | None]]:
    """Each model's answer to one question, with its judgments (None when the model has no such sample)."""
    out: list[tuple[str, SampleView | None]] = []
    for model in models:
        runs = runs_of(board, model, task)
        found = None
        if runs:
            found = next((s for s in samples(runs[0], task, detect=False) if s.sample_id == sample_id), None)
        out.append((model, found))
    return out


def common_questions(board: Board, task: str, models: Sequence[str]) -> list[str]:
    """Question ids every one of ``models`` answered for ``task`` (in the first model's order)."""
    ids: list[str] | None = None
    for model in models:
        runs = runs_of(board, model, task)
        mine = [s.sample_id for s in samples(runs[0], task, detect=False)] if runs else []
        ids = mine if ids is None else [i for i in ids if i in set(mine)]
    return ids or []


def pair_verdicts(board: Board, task: str, sample_id: str, models: Sequence[str]) -> pd.DataFrame:
    """The pairwise verdicts on one question between any two of ``models``, in both presentation orders."""
    rows = []
    comp = board.comparisons
    for _, c in comp[(comp["task"] == task) & comp["model_a"].isin(models) & comp["model_b"].isin(models)].iterrows():
        path = Path(str(c["folder"])) / f"judgments_{task}_pairwise.jsonl"
        if not path.exists():
            continue
        for j in merge_judgments(read_judgments(path)):
            if j.sample_id != sample_id or j.pair is None or j.metric != c["metric"]:
                continue
            rows.append({"model": c["model_a"], "vs": c["model_b"], "metric": j.metric, "turn": j.turn + 1,
                         "model's answer shown first": j.pair.first, "model's answer shown second": j.pair.second,
                         "winner": {"model": c["model_a"], "baseline": c["model_b"]}.get(str(j.pair.winner),
                                                                                          str(j.pair.winner)),
                         "judge": j.judge_model, "explanation (first order)": j.explanation,
                         "explanation (swapped)": j.pair.explanation_second})
    rows.sort(key=lambda r: (r["model"], r["vs"], r["metric"], r["turn"]))  # judgments are stored as they finish
    return pd.DataFrame(rows, columns=["model", "vs", "metric", "turn", "model's answer shown first",
                                       "model's answer shown second", "winner", "judge",
                                       "explanation (first order)", "explanation (swapped)"])
