"""Judge conversations turn by turn with MT-bench-style single-answer grading."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from transeval.harness.errors import TransevalError
from transeval.harness.records import Conversation, Judgment, TaskScores
from transeval.harness.stats import summarize
from transeval.judges.cache import JudgeCache, cache_key
from transeval.judges.client import JudgeClient, JudgeRequest, is_unreachable
from transeval.judges.config import JudgeSettings, resolve_settings
from transeval.judges.rubric import Rubric, load_rubric

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Planned:
    conv: Conversation
    turn: int
    rubric: Rubric
    request: JudgeRequest | None
    unscored: str | None
    values: dict[str, str]


def pick_rubric(conv: Conversation, turn: int) -> Rubric:
    """The rubric for one turn: reference-guided for the spec's reference categories, multi-turn after turn 1."""
    q, spec = conv.question, conv.question.judge
    use_ref = q.category in spec.reference_categories and q.reference is not None and len(q.reference) > turn
    if turn == 0:
        name = spec.rubric_reference if use_ref and spec.rubric_reference else spec.rubric
    else:
        multi = spec.rubric_multi_turn_reference if use_ref else spec.rubric_multi_turn
        name = multi or spec.rubric_multi_turn or spec.rubric
    return load_rubric(name)


def _values(conv: Conversation, turn: int, rubric: Rubric) -> dict[str, str]:
    q = conv.question
    answers = [t.answer or "" for t in conv.turns]
    values = {"question": q.turns[turn], "answer": answers[turn] if turn < len(answers) else ""}
    if rubric.multi_turn:
        for k in range(min(2, len(q.turns))):
            values[f"question_{k + 1}"] = q.turns[k]
            values[f"answer_{k + 1}"] = answers[k] if k < len(answers) else ""
    if q.reference:
        for k, ref in enumerate(q.reference[:2]):
            values[f"ref_answer_{k + 1}"] = ref
    return {**q.extra, **values}


def _own_max(rubric: Rubric, values: dict[str, str]) -> float | None:
    """The question's own maximum score, for rubrics whose scale is per question."""
    return rubric.max_score(values) if isinstance(rubric.scale[1], str) else None


def _plan(conv: Conversation, turn: int, settings: JudgeSettings) -> _Planned:
    rubric = pick_rubric(conv, turn)
    values = _values(conv, turn, rubric)
    out = conv.turns[turn] if turn < len(conv.turns) else None
    if out is None or out.answer is None:
        return _Planned(conv, turn, rubric, None, (out.note if out and out.note else "no answer"), values)
    if not out.answer.strip():
        return _Planned(conv, turn, rubric, None, "empty answer", values)
    if rubric.multi_turn and turn > 1:
        return _Planned(conv, turn, rubric, None, f"rubric {rubric.name} covers two turns only", values)
    try:
        messages = rubric.render(values)
    except TransevalError as exc:
        return _Planned(conv, turn, rubric, None, f"cannot render judge prompt: {exc}", values)
    key = cache_key(settings.model, messages, settings.decoding, f"{rubric.name}@{rubric.version}#{rubric.digest}")
    return _Planned(conv, turn, rubric, JudgeRequest(key, messages), None, values)


def judge_conversations(
    convs: Sequence[Conversation], settings: JudgeSettings | None = None
) -> tuple[list[Judgment], TaskScores]:
    """Judge every turn of every conversation of one task.

    Args:
        convs: Conversations of a single task.
        settings: Judge settings; by default from the environment and the task's judge spec.

    Returns:
        One judgment per (conversation, turn), and their aggregate.
    """
    if not convs:
        raise ValueError("nothing to judge")
    task = convs[0].question.task
    settings = settings or resolve_settings(convs[0].question.judge.model)
    plans = [_plan(c, t, settings) for c in convs for t in range(len(c.question.turns))]
    cache = JudgeCache(settings.cache_path)
    client = JudgeClient(settings, cache)
    try:
        requests = [p.request for p in plans if p.request is not None]
        results = iter(client.run(requests, desc=f"judging {task} ({settings.model})"))
    finally:
        cache.close()

    def verdict(p: _Planned, score: float | None, reason: str | None, explanation: str = "", **usage: Any) -> Judgment:
        return Judgment(
            task=task, sample_id=p.conv.question.question_id, turn=p.turn, score=score, reason=reason,
            judge_model=settings.model, rubric=p.rubric.name, rubric_version=p.rubric.version,
            explanation=explanation, cache_key=p.request.key if p.request else None,
            max_score=_own_max(p.rubric, p.values), **usage,
        )

    judgments: list[Judgment] = []
    for p in plans:
        if p.request is None:
            judgments.append(verdict(p, None, p.unscored))
            continue
        r = next(results)
        if r.text is None:
            judgments.append(verdict(p, None, r.error))
            continue
        parsed = p.rubric.parse(r.text, tuple(t.answer or "" for t in p.conv.turns), p.values)
        judgments.append(verdict(p, parsed.score, parsed.reason, r.text, prompt_tokens=r.prompt_tokens,
                                 completion_tokens=r.completion_tokens, cached=r.cached))
    categories = {c.question.question_id: c.question.category for c in convs}
    scores = summarize(task, settings.model, judgments, categories, calls=client.calls)
    print(
        f"transeval: {task}: judge {settings.model}: {scores.n_scored}/{scores.n_total} turns scored, "
        f"{client.calls} API calls ({sum(j.cached for j in judgments)} cached), "
        f"tokens prompt={scores.prompt_tokens} completion={scores.completion_tokens}",
        file=sys.stderr,
    )
    lost = sum(is_unreachable(j.reason) for j in judgments)
    if lost:
        print(f"transeval: warning: {task}: the judge could not be reached for {lost} turns; they are unscored. "
              "Rerun `transeval judge <output_path>` to judge them (judged turns are cached).", file=sys.stderr)
    return judgments, scores
