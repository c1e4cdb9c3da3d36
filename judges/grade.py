"""Judge conversations turn by turn: single-answer grading, aspect grading and pairwise comparison.

One path for every judged benchmark. A task's judge spec names its own rubric (reported as ``score``) and any
further rubrics (each reported as its own metric, e.g. ``fluency``); :func:`judge` plans every call, runs them
concurrently through the cache, and hands each finished :class:`Judgment` to ``on_judgment`` at once, so the
caller can save it before the next one arrives.

Pairwise rubrics (FastChat ``pair-v2``) judge each turn twice, the model's answer first and then the baseline's
first; two verdicts that disagree count as a tie (FastChat's rule, ``gen_judgment.py``/``show_result.py``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from transeval.core.errors import TransevalError
from transeval.core.records import Conversation, JudgeSpec, Judgment, PairDetail
from transeval.judges.cache import JudgeCache, cache_key
from transeval.judges.client import JudgeClient, JudgeRequest, JudgeResult, public_url
from transeval.judges.config import JudgeSettings
from transeval.judges.parse import combine_orders
from transeval.judges.rubric import FIELDS, Rubric, load_rubric, multi_turn_companion

log = logging.getLogger(__name__)
TRUNCATION_MARK = "\n[... {n} characters omitted by transeval: answer longer than the judge cap]"


@dataclass(frozen=True)
class MetricJob:
    """One metric to judge over a task's conversations.

    Attributes:
        metric: Name it is reported under (``score`` for the task's own rubric).
        rubric: A fixed rubric, or None to pick per turn from the question's judge spec (reference-guided,
            multi-turn variants).
        baseline: For pairwise rubrics: whose answers (``Question.baselines``) the model's are compared with.
    """

    metric: str
    rubric: str | None = None
    baseline: str | None = None


def jobs_for(spec: JudgeSpec, extra_rubrics: Sequence[str] = (), own: bool = True) -> list[MetricJob]:
    """The metrics of a task: its own rubric as ``score`` (if ``own``) plus each extra rubric under its metric.

    Raises:
        TransevalError: for an unknown rubric, or two rubrics reporting the same metric.
    """
    jobs = [MetricJob(spec.metric, None, spec.baseline)] if own else []
    for name in dict.fromkeys([*spec.rubrics, *extra_rubrics]):
        rubric = load_rubric(name)
        jobs.append(MetricJob(rubric.metric, name, spec.baseline if rubric.kind == "pairwise" else None))
    seen: set[str] = set()
    for job in jobs:
        if job.metric in seen:
            raise TransevalError(f"two rubrics report the metric '{job.metric}'", field="rubrics")
        seen.add(job.metric)
    return jobs


#: Pairwise rubrics and their reference-guided form, used for a question with references in the task's reference
#: categories (FastChat ``gen_judgment.py`` judges math, reasoning and coding pairs with ``pair-math-v1``).
REFERENCE_PAIRWISE = {"pair-v2": "pair-math-v1"}


def uses_reference(conv: Conversation, turn: int) -> bool:
    """Whether this turn is judged against a reference: its category is a reference category and it has one."""
    q = conv.question
    cats = q.judge.reference_categories
    return (q.category in cats or "*" in cats) and q.reference is not None and len(q.reference) > turn


def pick_rubric(conv: Conversation, turn: int, job: MetricJob | None = None) -> Rubric:
    """The rubric for one turn.

    The job's own rubric, else the spec's: reference-guided for its reference categories, multi-turn after turn 1.
    A job's pairwise rubric with a reference-guided form (:data:`REFERENCE_PAIRWISE`) uses that form where the
    question has references (``pair-v2`` -> ``pair-math-v1``, turn 2 ``pair-math-v1-multi-turn``), as FastChat does.
    """
    if job is not None and job.rubric is not None:
        name = job.rubric
        if name in REFERENCE_PAIRWISE and uses_reference(conv, turn):
            name = REFERENCE_PAIRWISE[name]
        rubric = load_rubric(name)
        companion = multi_turn_companion(name) if turn > 0 and not rubric.multi_turn else None
        return load_rubric(companion) if companion else rubric  # pair-v2 -> pair-v2-multi-turn for turn 2
    spec = conv.question.judge
    use_ref = uses_reference(conv, turn)
    if turn == 0:
        name = spec.rubric_reference if use_ref and spec.rubric_reference else spec.rubric
    else:
        multi = spec.rubric_multi_turn_reference if use_ref else spec.rubric_multi_turn
        name = multi or spec.rubric_multi_turn or spec.rubric
    return load_rubric(name)


def available_fields(conv: Conversation, rubric: Rubric) -> set[str]:
    """The template fields the judging step can fill for this conversation and rubric kind."""
    have = set(FIELDS[rubric.kind]) | set(conv.question.extra)
    if not conv.question.reference:
        have -= {"ref_answer_1", "ref_answer_2"}
    return have


def clean_text(text: str) -> str:
    """Text safe to send and store: lone surrogates (from broken JSON escapes) become U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return re.sub("[\ud800-\udfff]", "\ufffd", text)


def check_rubrics(convs: Sequence[Conversation], jobs: Sequence[MetricJob]) -> None:
    """Before any call: every rubric that will be used loads, and each question can fill its template.

    Raises:
        TransevalError: naming the rubric file, the template field and the task.
    """
    seen: set[tuple[str, frozenset[str]]] = set()
    for conv in convs:
        for turn in range(len(conv.question.turns)):
            for job in jobs:
                rubric = pick_rubric(conv, turn, job)
                have = frozenset(available_fields(conv, rubric))
                if (rubric.name, have) not in seen:
                    seen.add((rubric.name, have))
                    rubric.check_fields(set(have), conv.question.task)


def _cap(text: str, limit: int) -> str:
    text = clean_text(text)
    if limit <= 0 or len(text) <= limit:
        return text
    return text[:limit] + TRUNCATION_MARK.format(n=len(text) - limit)


def _values(conv: Conversation, turn: int, rubric: Rubric, limit: int,
            baseline: Sequence[str | None] = ()) -> dict[str, str]:
    q = conv.question
    answers = [_cap(t.answer or "", limit) for t in conv.turns]
    values: dict[str, str] = {**q.extra, "question": clean_text(q.turns[turn]), "language": q.language}
    for k in range(min(2, len(q.turns))):
        values[f"question_{k + 1}"] = clean_text(q.turns[k])
    if rubric.kind == "pairwise":
        other = [_cap(b or "", limit) for b in baseline]
        values["answer_a"], values["answer_b"] = answers[turn], other[turn] if turn < len(other) else ""
        for k in range(min(2, len(q.turns))):
            values[f"answer_a_{k + 1}"] = answers[k] if k < len(answers) else ""
            values[f"answer_b_{k + 1}"] = other[k] if k < len(other) else ""
    else:
        values["answer"] = answers[turn] if turn < len(answers) else ""
        for k in range(min(2, len(q.turns))):
            values[f"answer_{k + 1}"] = answers[k] if k < len(answers) else ""
    if q.reference:
        for k, ref in enumerate(q.reference[:2]):
            values[f"ref_answer_{k + 1}"] = clean_text(ref)
    return {k: clean_text(v) for k, v in values.items()}


def _swap(values: dict[str, str]) -> dict[str, str]:
    out = dict(values)
    for key in list(values):
        if key.startswith("answer_a"):
            out[key], out["answer_b" + key[len("answer_a"):]] = values["answer_b" + key[len("answer_a"):]], values[key]
    return out


@dataclass(frozen=True)
class _Planned:
    conv: Conversation
    turn: int
    job: MetricJob
    rubric: Rubric
    requests: tuple[JudgeRequest, ...]
    unscored: str | None
    values: dict[str, str]
    answers: tuple[str, ...]


def _plan(conv: Conversation, turn: int, job: MetricJob, settings: JudgeSettings) -> _Planned:
    rubric = pick_rubric(conv, turn, job)
    baseline: tuple[str | None, ...] = ()
    if rubric.kind == "pairwise":
        if job.baseline is None or job.baseline not in conv.question.baselines:
            return _Planned(conv, turn, job, rubric, (), f"no answers of baseline '{job.baseline}' for this question",
                            {}, ())
        baseline = tuple(conv.question.baselines[job.baseline])
    values = _values(conv, turn, rubric, settings.max_answer_chars, baseline)
    answers = tuple(t.answer or "" for t in conv.turns) + tuple(b or "" for b in baseline)

    def unscored(reason: str) -> _Planned:
        return _Planned(conv, turn, job, rubric, (), reason, values, answers)

    out = conv.turns[turn] if turn < len(conv.turns) else None
    if out is None or out.answer is None:
        return unscored(out.note if out and out.note else "no answer")
    # An empty or whitespace answer is judged like any other (the judge sees what the model produced, as in
    # FastChat, and rates it): a failure of the model counts against the model; only the judge's failures are
    # unscored. The scores count such answers in ``n_empty``.
    if rubric.kind == "pairwise" and not (turn < len(baseline) and baseline[turn] is not None):
        return unscored(f"baseline '{job.baseline}' has no answer for this turn")
    if rubric.multi_turn and turn > 1:
        return unscored(f"rubric {rubric.name} covers two turns only")
    orders = [values, _swap(values)] if rubric.kind == "pairwise" else [values]
    requests = []
    for vals in orders:
        try:
            messages = rubric.render(vals)
        except TransevalError as exc:
            return unscored(f"cannot render judge prompt: {exc}")
        key = cache_key(settings.model, messages, settings.decoding, rubric.ident, public_url(settings.base_url))
        requests.append(JudgeRequest(key, messages, rubric.json_schema()))
    return _Planned(conv, turn, job, rubric, tuple(requests), None, values, answers)


def _own_max(rubric: Rubric, values: Mapping[str, str]) -> float | None:
    """The question's own maximum score, for rubrics whose scale is per question."""
    return rubric.max_score(values) if isinstance(rubric.scale[1], str) else None


@dataclass(frozen=True)
class JudgeOutcome:
    """Every judgment of one call of :func:`judge`, with what it cost."""

    judgments: list[Judgment]
    calls: int
    attempts: int
    truncated: int = 0


def _verdict(p: _Planned, settings: JudgeSettings, results: Sequence[JudgeResult]) -> Judgment:
    q = p.conv.question
    base: dict[str, Any] = dict(
        task=q.task, sample_id=q.question_id, turn=p.turn, judge_model=settings.model, rubric=p.rubric.name,
        rubric_version=p.rubric.version, metric=p.job.metric,
        cache_key=p.requests[0].key if p.requests else None,
        max_score=_own_max(p.rubric, p.values) if p.values else None,
    )
    if not results:
        return Judgment(score=None, reason=p.unscored, explanation="", error_kind="content", **base)
    usage: dict[str, Any] = dict(
        prompt_tokens=sum(r.prompt_tokens for r in results),
        completion_tokens=sum(r.completion_tokens for r in results),
        cached=all(r.cached for r in results),
        served_model=next((r.served_model for r in results if r.served_model), None),
    )
    failed = next((r for r in results if r.text is None), None)
    if p.rubric.kind == "pairwise":
        verdicts = [p.rubric.parse_verdict(r.text, p.answers) if r.text is not None else (None, r.error)
                    for r in results]
        outcome = combine_orders(verdicts[0][0], verdicts[1][0])
        winner = {"model_a": "model", "model_b": "baseline", "tie": "tie"}.get(outcome or "")
        detail = PairDetail(str(p.job.baseline), verdicts[0][0], verdicts[1][0], results[1].text or "", winner)
        score = {"model": 1.0, "tie": 0.5, "baseline": 0.0}.get(winner or "")
        reason = None if winner else "; ".join(f"order {i + 1}: {v[1]}" for i, v in enumerate(verdicts) if v[1])
        return Judgment(score=score, reason=reason, explanation=results[0].text or "", pair=detail,
                        error_kind=None if winner else (failed.error_kind if failed else "content"), **base, **usage)
    r = results[0]
    if r.text is None:
        return Judgment(score=None, reason=r.error, explanation="", error_kind=r.error_kind, **base, **usage)
    if p.rubric.kind == "aspects":
        parsed = p.rubric.parse_aspects(r.text)
        mean = parsed.mean
        reason = None if mean is not None else "no aspect scored: " + "; ".join(parsed.reasons.values())
        return Judgment(score=mean, reason=reason, explanation=r.text, aspects=parsed.scores,
                        aspect_reasons=parsed.reasons or None, error_kind=None if mean is not None else "content",
                        **base, **usage)
    one = p.rubric.parse(r.text, p.answers, p.values)
    return Judgment(score=one.score, reason=one.reason, explanation=r.text,
                    error_kind=None if one.score is not None else "content", **base, **usage)


def planned_requests(convs: Sequence[Conversation], jobs: Sequence[MetricJob],
                     settings: JudgeSettings) -> list[JudgeRequest]:
    """Every request :func:`judge` would send for these conversations and jobs (for the Batch API)."""
    return [r for job in jobs for c in convs for t in range(len(c.question.turns))
            for r in _plan(c, t, job, settings).requests]


def judge(
    convs: Sequence[Conversation],
    jobs: Sequence[MetricJob],
    settings: JudgeSettings,
    on_judgment: Callable[[Judgment], None] | None = None,
    desc: str | None = None,
    offline: Mapping[str, tuple[str, str]] | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> JudgeOutcome:
    """Judge every turn of every conversation for every metric job.

    Args:
        convs: Conversations of one task.
        jobs: What to judge (see :func:`jobs_for`).
        settings: The judge endpoint and limits.
        on_judgment: Called with each judgment as soon as it is complete (from one thread at a time).
        desc: Progress-bar label.
        offline: Answer from the cache only (after a Batch API round): request key -> (why it has no answer,
            error kind).
        meanwhile: Called once the first requests are in flight (or when there are none), e.g. to start CPU work
            that then overlaps the judge's network waits (see :meth:`JudgeClient.run`).

    Returns:
        One judgment per (conversation, turn, job), in that order, and the number of calls made.
    """
    plans = [_plan(c, t, job, settings) for job in jobs for c in convs for t in range(len(c.question.turns))]
    flat: list[tuple[int, int]] = [(i, k) for i, p in enumerate(plans) for k in range(len(p.requests))]
    results: list[list[JudgeResult | None]] = [[None] * len(p.requests) for p in plans]
    done: list[Judgment | None] = [None] * len(plans)
    lock = threading.Lock()

    def finish(i: int) -> None:
        j = _verdict(plans[i], settings, [r for r in results[i] if r is not None])
        done[i] = j
        if on_judgment is not None:
            on_judgment(j)

    for i, p in enumerate(plans):
        if not p.requests:
            finish(i)

    def on_result(n: int, result: JudgeResult) -> None:
        i, k = flat[n]
        with lock:
            results[i][k] = result
            if all(r is not None for r in results[i]):
                finish(i)

    cache = JudgeCache(settings.cache_path)
    client = JudgeClient(settings, cache, offline)
    task = convs[0].question.task if convs else "?"
    try:
        client.run([plans[i].requests[k] for i, k in flat], desc=desc or f"judging {task} ({settings.model})",
                   on_result=on_result, meanwhile=meanwhile)
    finally:
        cache.close()
    limit = settings.max_answer_chars
    truncated = sum(1 for c in convs for t in c.turns if limit and t.answer and len(t.answer) > limit)
    return JudgeOutcome([j for j in done if j is not None], client.calls, client.attempts, truncated)
