"""Records passed between the steps task -> generate -> judge -> store -> board (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class JudgeSpec:
    """How a task's answers are judged (from the task YAML's ``metadata.judge`` plus run overrides).

    Attributes:
        rubric: Rubric for turn 1 without a reference.
        rubric_reference: Rubric for turn 1 with a reference answer.
        rubric_multi_turn: Rubric for turn 2+, shown the whole conversation.
        rubric_multi_turn_reference: Rubric for turn 2+ with reference answers.
        reference_categories: Categories judged against a reference (MT-bench: math, reasoning, coding).
        reference_field: Document field holding the per-turn reference answers.
        model: Judge model name, if the run set one (else the environment or the default).
    """

    rubric: str
    rubric_reference: str | None = None
    rubric_multi_turn: str | None = None
    rubric_multi_turn_reference: str | None = None
    reference_categories: tuple[str, ...] = ()
    reference_field: str = "reference"
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, stored in every document so later judging needs no task config."""
        d = asdict(self)
        d["reference_categories"] = list(self.reference_categories)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JudgeSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**d, "reference_categories": tuple(d.get("reference_categories") or ())})


@dataclass(frozen=True)
class Question:
    """One multi-turn item of a judged benchmark.

    Attributes:
        task: lm-eval task name.
        question_id: Stable id within the task.
        category: Benchmark category (MT-bench: writing, math, ...).
        turns: User turns in the evaluated language.
        turns_en: The same turns in English, when the data has them.
        reference: Reference answers per turn, or None.
        language: Language of ``turns`` (e.g. "Thai").
        output_format: "plain" or "tcot".
        judge: How to judge it.
        extra: Further fields the judge prompt may use (e.g. GAOKAO-Bench's analysis and point value).
    """

    task: str
    question_id: str
    category: str
    turns: tuple[str, ...]
    turns_en: tuple[str, ...]
    reference: tuple[str, ...] | None
    language: str
    output_format: str
    judge: JudgeSpec
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TurnOutput:
    """What the model produced for one turn.

    Attributes:
        prompt: The exact context sent to the model (rendered chat, or the JSON chat for API models).
        raw: The model's full output, tags included (TCoT) and after any re-prompt.
        answer: The answer that is judged (for TCoT: the text after ``<TH>``), or None if there is none.
        note: Why ``answer`` is None or was repaired (e.g. "tcot: re-prompted with <TH>"), else None.
    """

    prompt: str
    raw: str
    answer: str | None
    note: str | None = None


@dataclass(frozen=True)
class Conversation:
    """A question together with the model's turns."""

    question: Question
    turns: tuple[TurnOutput, ...]


@dataclass(frozen=True)
class Judgment:
    """The judge's verdict on one turn. ``score`` is None (with ``reason``) whenever no rating was given."""

    task: str
    sample_id: str
    turn: int
    score: float | None
    reason: str | None
    judge_model: str
    rubric: str
    rubric_version: str
    explanation: str
    cache_key: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    max_score: float | None = None  # set when the scale is the question's own (GAOKAO-Bench points)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (one line of ``judgments_<task>_<date>.jsonl``)."""
        return asdict(self)


@dataclass(frozen=True)
class Estimate:
    """A mean with its bootstrap confidence interval over ``n`` scored values."""

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


@dataclass(frozen=True)
class TaskScores:
    """The aggregate of one task's judgments (``scores_<task>_<date>.json``)."""

    task: str
    judge_model: str
    n_total: int
    n_scored: int
    overall: Estimate
    per_turn: dict[str, Estimate] = field(default_factory=dict)
    per_category: dict[str, Estimate] = field(default_factory=dict)
    unscored_reasons: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    judge_calls: int = 0
    points: float | None = None
    max_points: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    def headline(self) -> dict[str, float | int | None]:
        """The numbers that also go into lm-eval's results JSON."""
        out: dict[str, float | int | None] = {
            "score": self.overall.mean,
            "score_ci_low": self.overall.ci_low,
            "score_ci_high": self.overall.ci_high,
            "n_scored": self.n_scored,
            "n_total": self.n_total,
        }
        for name, est in self.per_turn.items():
            out[f"score_{name}"] = est.mean
        if self.max_points is not None:
            out["points"], out["max_points"] = self.points, self.max_points
        return out
