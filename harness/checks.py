"""Judge-free checks of every judged answer, stored as judgments like any other metric.

* ``wrong_language_rate`` / ``switching_rate``: the answer is not mainly in the question's expected language, or
  switches language mid-answer (:mod:`transeval.harness.langid`: py3langid plus exact script checks; Paper B's
  code-switching figure). TCoT answers are checked on their judged (``<TH>``) part, so an English ``<TH>`` part
  counts as wrong-language.
* ``refusal_rate`` (tasks with ``checks: [refusal]``): the multilingual refusal-phrase matcher
  (:mod:`transeval.harness.refusal`; English after the AdvBench/GCG test prefixes, Zou et al. 2023).
* ``<metric>_language_penalized`` (``--metadata '{"wrong_language": "zero"}'``): the task's score with
  wrong-language turns counted as 0, beside the raw score; off by default.

Each value is 1.0 (yes) or 0.0 (no); rates are reported with a Wilson interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from transeval.harness.errors import TransevalError
from transeval.harness.records import Conversation, JudgeSpec, Judgment

LANGUAGE_JUDGE = "langid:py3langid"
REFUSAL_JUDGE = "refusal-phrases"
LOCAL_JUDGES = (LANGUAGE_JUDGE, REFUSAL_JUDGE)
#: Languages with a refusal-phrase list (judges/refusal_phrases/<code>.txt).
PHRASE_LANGUAGES = ("en", "th", "zh")
#: Metrics that are proportions of answers (Wilson intervals).
PROPORTIONS = ("wrong_language_rate", "switching_rate", "refusal_rate", "refusal_agreement")


def _judgment(conv: Conversation, turn: int, metric: str, judge: str, score: float | None, reason: str | None,
              explanation: str) -> Judgment:
    q = conv.question
    return Judgment(task=q.task, sample_id=q.question_id, turn=turn, score=score, reason=reason, judge_model=judge,
                    rubric=judge, rubric_version="1", explanation=explanation, cache_key=None, metric=metric,
                    error_kind="content" if score is None else None)


def _has_phrases(language: str) -> bool:
    from transeval.harness.langid import LANGUAGES

    info = LANGUAGES.get(language)
    code = info.code if info is not None else language
    return code in PHRASE_LANGUAGES


def local_judgments(convs: Sequence[Conversation], spec: JudgeSpec) -> list[Judgment]:
    """Language (always) and refusal (if the spec asks) judgments of every answered turn."""
    from transeval.harness.langid import analyse
    from transeval.harness.refusal import is_refusal

    out: list[Judgment] = []
    for conv in convs:
        for turn, t in enumerate(conv.turns):
            answer = t.answer
            if answer is None or not answer.strip():
                reason = "empty answer" if answer is not None else (t.note or "no answer")
                out.append(_judgment(conv, turn, "wrong_language_rate", LANGUAGE_JUDGE, None, reason, ""))
                out.append(_judgment(conv, turn, "switching_rate", LANGUAGE_JUDGE, None, reason, ""))
                if "refusal" in spec.checks:
                    out.append(_judgment(conv, turn, "refusal_rate", REFUSAL_JUDGE, None, reason, ""))
                continue
            try:
                check = analyse(answer, conv.question.language)
                desc = (f"detected {check.detected.language} ({check.detected.confidence:.2f}), expected "
                        f"{check.expected}" + (f", script share {check.script_share:.2f}"
                                               if check.script_share is not None else "")
                        + (f"; a sample of the {len(answer):,}-character answer analysed" if check.sampled else ""))
                out.append(_judgment(conv, turn, "wrong_language_rate", LANGUAGE_JUDGE,
                                     float(check.wrong_language), None, desc))
                segs = ", ".join(f"{lang} {share:.0%}" for lang, share in check.segments)
                out.append(_judgment(conv, turn, "switching_rate", LANGUAGE_JUDGE, float(check.switching), None,
                                     f"segments: {segs}"))
            except TransevalError as exc:
                reason = f"language check: {exc}"
                out.append(_judgment(conv, turn, "wrong_language_rate", LANGUAGE_JUDGE, None, reason, ""))
                out.append(_judgment(conv, turn, "switching_rate", LANGUAGE_JUDGE, None, reason, ""))
            if "refusal" in spec.checks and not _has_phrases(conv.question.language):
                out.append(_judgment(conv, turn, "refusal_rate", REFUSAL_JUDGE, None,
                                     f"no refusal-phrase list for {conv.question.language} (see refusal_rate_judge)",
                                     ""))
            elif "refusal" in spec.checks:
                m = is_refusal(answer)
                out.append(_judgment(conv, turn, "refusal_rate", REFUSAL_JUDGE, float(m.refused), None,
                                     f"matched {m.language}: {m.phrase!r}" + (" (partial)" if m.partial else "")
                                     if m.refused else "no refusal phrase in the opening"))
    return out


def derived_judgments(judgments: Sequence[Judgment], spec: JudgeSpec) -> list[Judgment]:
    """Metrics derived from two others: matcher-vs-judge refusal agreement, the wrong-language penalty."""
    by_key = {(j.sample_id, j.turn, j.metric): j for j in judgments}
    out: list[Judgment] = []
    judge_metric = spec.metric
    for j in judgments:
        if j.metric == "refusal_rate" and j.score is not None:
            other = by_key.get((j.sample_id, j.turn, judge_metric))
            if other is not None and other.score is not None and judge_metric != "refusal_rate":
                agree = float((other.score >= 0.5) == (j.score >= 0.5))
                out.append(replace(j, metric="refusal_agreement", score=agree, judge_model="matcher vs judge",
                                   explanation=f"matcher {j.score:g}, judge {other.score:g}"))
        if spec.wrong_language == "zero" and j.metric == judge_metric:
            wrong = by_key.get((j.sample_id, j.turn, "wrong_language_rate"))
            if j.score is not None and wrong is not None and wrong.score is not None:
                out.append(replace(j, metric=f"{judge_metric}_language_penalized",
                                   score=0.0 if wrong.score else j.score))
    return out
