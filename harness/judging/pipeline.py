"""The judge step of a run: saved answers -> judgments (saved as they arrive) -> scores -> results JSON.

Used by both entry points: the lm-eval hook (after lm-eval returns the answers and they are written to the run
folder) and ``transeval judge RUN`` (answers read back from the samples files). Records pass explicitly:
conversations in, :class:`TaskJudging` out.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.core.records import Conversation, JudgeSpec, Judgment, TaskScores
from transeval.harness.judging.checks import (
    LOCAL_JUDGES,
    PROPORTIONS,
    derived_judgments,
    is_verdict_metric,
    local_judgments,
)
from transeval.harness.judging.store import (
    JudgmentLog,
    RunLock,
    finalize_judgments,
    judgments_path,
    merge_judgments,
    write_scores,
)
from transeval.harness.lmeval.judged import conversation_from_sample, is_judged_doc
from transeval.judges.config import JudgeSettings, endpoint_of
from transeval.judges.grade import MetricJob, judge

#: The reason of a judgment whose request the endpoint refused (HTTP 4xx; any order of a pairwise one).
_REFUSED = re.compile(r"\bjudge HTTP 4\d\d\b")


@dataclass(frozen=True)
class TaskJudging:
    """What judging one task of one run produced.

    Attributes:
        task: The task.
        scores: Metric -> aggregate, over the merged judgments (earlier good ones kept).
        judgments: The merged judgments (best per sample, turn and metric).
        calls: Judge requests that reached the network this time.
        failed: Judgments of this round that the judge could not be asked for (transport/auth errors).
        total: Judgments made this round.
        kept: Judgments of this round that did not replace a better earlier one.
        unscored: Judgments of this round the endpoint did not answer: transport and key failures, and requests it
            refused (HTTP 4xx). A reply without a valid rating is the judge's verdict on that turn and does not
            count, nor does a turn unscored without a call (an empty answer).
        unscored_reasons: The reason of each of those.
    """

    task: str
    scores: dict[str, TaskScores]
    judgments: list[Judgment]
    calls: int
    failed: int
    total: int
    kept: int
    unscored: int = 0
    unscored_reasons: tuple[str, ...] = ()


def conversations_from_samples(samples: Sequence[dict[str, Any]], path: Path | None = None) -> list[Conversation]:
    """Conversations of a judged task from lm-eval sample records (in memory or read from ``path``).

    Raises:
        TransevalError: naming the file, line and field of a malformed record.
    """
    convs = []
    seen: dict[str, int] = {}
    for i, rec in enumerate(samples, 1):
        line = int(rec.get("_line", i)) if isinstance(rec, dict) else i
        doc = rec.get("doc") if isinstance(rec, dict) else None
        if not is_judged_doc(doc):
            raise TransevalError("not a judged-task sample (no doc with judge, turns, question_id)", file=path,
                                 line=line, field="doc")
        assert isinstance(doc, dict)
        qid = str(doc["question_id"])
        if qid in seen:  # two conversations of one question would be merged turn by turn into one
            raise TransevalError(f"duplicate question id '{qid}' (first on line {seen[qid]})", file=path,
                                 line=line, field="doc.question_id")
        seen[qid] = line
        resps = rec.get("filtered_resps") or []
        if not resps or not isinstance(resps[0], str):
            raise TransevalError("no model response in sample", file=path, line=line, field="filtered_resps")
        assert isinstance(doc, dict)  # is_judged_doc checked it
        try:
            convs.append(conversation_from_sample(doc, resps[0]))
        except TransevalError as exc:
            raise TransevalError(str(exc).split(": ", 1)[-1], file=path, line=line, field=exc.field) from None
    return convs


def run_conversations(run: Any, task: str) -> list[Conversation] | None:
    """The conversations of a judged task of a saved run (None when the task is not judged or has no samples).

    Raises:
        TransevalError: naming the samples file, line and field of a malformed record.
    """
    from transeval.core.jsonl import read_jsonl

    path = run.samples_path(task)
    if not path.exists():
        return None
    records: list[dict[str, Any]] = []
    for lineno, rec in read_jsonl(path):
        if not records and not is_judged_doc(rec.get("doc")):
            return None
        records.append({**rec, "_line": lineno})
    return conversations_from_samples(records, path) if records else None


def _mode(judgments: Sequence[Judgment]) -> tuple[str, tuple[str, ...], tuple[float, float] | None]:
    """How a metric aggregates: its rubric's kind, aspect names and scale, else what its content shows.

    A 0-1 single scale is a proportion; the scale is None when the rubric does not fix one (per-question points,
    aspects on different scales, an unknown rubric).
    """
    from transeval.judges.rubric import load_rubric

    for j in judgments:
        if j.judge_model in LOCAL_JUDGES or j.metric in PROPORTIONS:
            return "proportion", (), None
        try:
            r = load_rubric(j.rubric)
            if r.kind == "single" and r.scale == (0.0, 1.0):
                return "proportion", (), None
            scales = {a.scale for a in r.aspects} if r.aspects else {r.scale}
            only = next(iter(scales)) if len(scales) == 1 else None
            scale = (float(only[0]), float(only[1])) if only and not isinstance(only[1], str) else None
            return r.kind, tuple(a.name for a in r.aspects), scale
        except TransevalError:
            break
    if any(j.pair is not None for j in judgments):
        return "pairwise", (), None
    names = next((tuple(j.aspects) for j in judgments if j.aspects), ())
    return ("aspects", names, None) if names else ("single", (), None)


def score_metrics(task: str, judge_model: str, judgments: Sequence[Judgment], convs: Sequence[Conversation],
                  calls: int = 0) -> dict[str, TaskScores]:
    """Aggregate every metric present in ``judgments``, restricted to the given conversations."""
    # Imported here, not at the top: numpy then loads in the language-check thread while the judge is asked.
    from transeval.harness.stats.estimates import summarize

    categories = {c.question.question_id: c.question.category for c in convs}
    out: dict[str, TaskScores] = {}
    for metric in dict.fromkeys(j.metric for j in judgments):
        mine = [j for j in judgments if j.metric == metric and j.sample_id in categories]
        if is_verdict_metric(mine):
            continue  # a labelled rubric's verdict codes: reported as <label>_rate (checks.derived_judgments)
        mode, aspects, scale = _mode(mine)
        models = sorted({j.judge_model for j in mine})
        out[metric] = summarize(task, ", ".join(models) or judge_model, mine, categories, calls if metric == "score"
                                else 0, metric=metric, mode=mode, aspect_names=aspects, scale=scale)
        endpoints = tuple(sorted({j.endpoint for j in mine if j.endpoint and j.score is not None}))
        if endpoints:
            out[metric] = replace(out[metric], endpoints=endpoints)
        if mode == "pairwise":
            out[metric] = _with_lc(out[metric], mine, convs)
        out[metric] = replace(out[metric], n_empty=count_empty(mine, convs))
    return out


def count_empty(judgments: Sequence[Judgment], convs: Sequence[Conversation]) -> int:
    """How many of the judged turns had an empty or whitespace answer (judged like any answer, counted apart)."""
    answers = {(c.question.question_id, k): t.answer for c in convs for k, t in enumerate(c.turns)}
    seen = {(j.sample_id, j.turn) for j in judgments}
    return sum(1 for key in seen if (a := answers.get(key)) is not None and not a.strip())


def _with_lc(scores: TaskScores, judgments: Sequence[Judgment], convs: Sequence[Conversation]) -> TaskScores:
    """Add AlpacaEval 2's length-controlled win rate (Dubois et al. 2024) when there are enough verdicts."""
    from transeval.harness.stats.winrate import Preference, length_controlled_win_rate

    by_id = {c.question.question_id: c for c in convs}
    prefs = []
    for j in judgments:
        conv = by_id.get(j.sample_id)
        if j.score is None or j.pair is None or conv is None or j.turn >= len(conv.turns):
            continue
        base = conv.question.baselines.get(j.pair.baseline) or ()
        if j.turn >= len(base):
            continue
        prefs.append(Preference(j.sample_id, j.turn, "model", j.pair.baseline, j.score,
                                len(conv.turns[j.turn].answer or ""), len(base[j.turn] or "")))
    if len(prefs) < 5 or scores.pairwise is None:
        return scores
    lc = length_controlled_win_rate(prefs, difficulty=_lc_difficulty(prefs)).get("model")
    if lc is None:
        return scores
    return replace(scores, pairwise=replace(scores.pairwise, lc_win_rate=lc.lc_win_rate))


def _lc_difficulty(prefs: Sequence[Any]) -> dict[str, float] | None:
    """AlpacaEval's precomputed instruction difficulty from ``$TRANSEVAL_LC_DIFFICULTY``, if it covers every question.

    The file is alpaca_eval's ``instruction_difficulty.csv`` (index, difficulty). Without it (or when it misses a
    question) the LC GLM has no difficulty term: alpaca_eval's ``length_controlled_minimal``.
    """
    import os

    from transeval.harness.stats.winrate import read_instruction_difficulty

    path = os.environ.get("TRANSEVAL_LC_DIFFICULTY")
    if not path:
        return None
    table = read_instruction_difficulty(path)
    missing = {p.question_id for p in prefs} - set(table)
    if missing:
        print(f"transeval: warning: {path} has no difficulty for {len(missing)} questions; LC without it",
              file=sys.stderr)
        return None
    return table


class _LocalChecks:
    """The local language and refusal checks of a task, computed in a worker thread while the judge is asked.

    They need only the answers, and the judge's network waits leave the CPU idle: started once the first
    requests are sent (:meth:`start`, the judge's ``meanwhile``), they add nothing to a judging run's wall time.
    :meth:`result` waits for them (and re-raises what they raised).
    """

    def __init__(self, convs: Sequence[Conversation], spec: JudgeSpec) -> None:
        self._convs = convs
        self._spec = spec
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="transeval-local-checks")
        self._future: Future[list[Judgment]] | None = None

    def start(self) -> Future[list[Judgment]]:
        if self._future is None:
            self._future = self._pool.submit(local_judgments, self._convs, self._spec)
        return self._future

    def result(self) -> list[Judgment]:
        return self.start().result()

    def __enter__(self) -> _LocalChecks:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._future is not None:
            self._future.cancel()
        self._pool.shutdown(wait=True)


def judge_task(convs: Sequence[Conversation], jobs: Sequence[MetricJob], settings: JudgeSettings,
               folder: Path | None = None, date_id: str | None = None,
               offline: Mapping[str, tuple[str, str]] | None = None) -> TaskJudging:
    """Judge one task's conversations; with a run folder, save each judgment as it arrives and the scores.

    A judgment replaces an earlier one of the same sample, turn and metric only when it is at least as good,
    so re-judging against a dead endpoint never makes a judged run worse. With ``offline`` (after a Batch API
    round) no call is made: what the cache cannot answer is unscored with the reason given for its key.
    """
    if not convs:
        raise TransevalError("nothing to judge")
    task = convs[0].question.task
    spec = convs[0].question.judge
    endpoint = endpoint_of(settings)

    def mark(j: Judgment) -> Judgment:
        return replace(j, endpoint=endpoint) if j.cache_key is not None and j.endpoint is None else j

    if folder is not None and date_id is not None:
        path = judgments_path(folder, task, date_id)
        with RunLock(folder, date_id):  # one writer per run: another process on it waits, then merges
            with JudgmentLog(path) as log, _LocalChecks(convs, spec) as local:
                outcome = judge(convs, jobs, settings, on_judgment=lambda j: log.append(mark(j)), offline=offline,
                                meanwhile=local.start)
                for j in local.result():
                    log.append(j)
            merged = finalize_judgments(path)
            derived = derived_judgments(merged, spec)
            if derived:
                with JudgmentLog(path) as log:
                    for j in derived:
                        log.append(j)
                merged = finalize_judgments(path)
            scores = score_metrics(task, settings.model, merged, convs, outcome.calls)
            write_scores(folder, task, date_id, scores)
    else:
        with _LocalChecks(convs, spec) as local:
            outcome = judge(convs, jobs, settings, offline=offline, meanwhile=local.start)
            outcome = replace(outcome, judgments=[mark(j) for j in outcome.judgments])
            merged = merge_judgments([*outcome.judgments, *local.result()])
        merged = merge_judgments([*merged, *derived_judgments(merged, spec)])
        scores = score_metrics(task, settings.model, merged, convs, outcome.calls)
    kept_keys = {j.key: j for j in merged}
    kept = sum(1 for j in outcome.judgments if kept_keys.get(j.key) is not j and kept_keys.get(j.key) != j)
    failed = sum(j.error_kind in ("transport", "auth") for j in outcome.judgments)
    unscored = [j.reason or "no score" for j in outcome.judgments if j.score is None and j.cache_key is not None
                and (j.error_kind in ("transport", "auth") or _REFUSED.search(j.reason or ""))]
    for metric, s in scores.items():
        mean = "n/a" if s.overall.mean is None else f"{s.overall.mean:.3g}"
        mixed = ", " in s.judge_model or len(s.endpoints) > 1
        endpoints = f"; mixed judges: {', '.join(s.endpoints)}" if len(s.endpoints) > 1 else ""
        print(f"transeval: {task}: {metric} {mean} ({s.n_scored}/{s.n_total} scored; judge {s.judge_model}"
              f"{'; served ' + ', '.join(s.served_models) if s.served_models else ''}"
              f"{f'; {s.n_empty} empty answers judged' if s.n_empty else ''}"
              f"{f'; swap inconsistency {s.swap_inconsistency:.1%}' if s.swap_inconsistency is not None else ''}"
              f"{endpoints}"
              f"{'; WARNING: one number from several judges' if mixed else ''})",
              file=sys.stderr)
    cached = sum(j.cached for j in outcome.judgments)
    print(f"transeval: {task}: {outcome.calls} API calls ({outcome.attempts} attempts, {cached} judgments cached)",
          file=sys.stderr)
    if outcome.truncated:
        print(f"transeval: {task}: {outcome.truncated} answers longer than {settings.max_answer_chars} characters "
              "were cut for the judge (TRANSEVAL_JUDGE_MAX_ANSWER_CHARS)", file=sys.stderr)
    if failed:
        print(f"transeval: warning: {task}: the judge could not be asked for {failed} judgments"
              f"{f' ({kept} earlier judgments kept)' if kept else ''}; rerun `transeval judge` to retry them "
              "(judged turns are cached)", file=sys.stderr)
    return TaskJudging(task, scores, merged, outcome.calls, failed, len(outcome.judgments), kept, len(unscored),
                       tuple(unscored))
