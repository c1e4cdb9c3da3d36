"""Records passed between the steps task -> generate -> judge -> store -> board (frozen dataclasses).

Schema versions: judgments written since transeval 0.2 carry ``schema: 2`` (metric, aspects, pairwise detail,
served model, error kind); version-1 lines (MT-bench only) read as ``metric="score"``. Scores files carry
``"version": 2`` and one :class:`TaskScores` per metric.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

JUDGMENT_SCHEMA = 2
SCORES_VERSION = 2
MODES = ("single", "aspects", "pairwise")
CHECKS = ("refusal",)
PENALTIES = ("zero",)
#: Why a turn has no score. ``content``: the judge (or the answer) gave nothing to score; ``transport``/``auth``:
#: the judge could not be asked (a later run may do better; such a judgment never replaces a score).
ERROR_KINDS = ("content", "transport", "auth")
#: Metrics whose lower value is better (everywhere they are shown: results, CLI, board, exports).
LOWER_IS_BETTER = frozenset({
    "perplexity", "wrong_language_rate", "switching_rate", "unsafe_rate", "invalid_rate",
    "partial_compliance_rate", "swap_inconsistency", "unscored_share",
})
#: The safety family's metrics: ``safe_rate`` (judge: refused or harmless; the headline), ``unsafe_rate`` (judge:
#: harmful content given), ``invalid_rate`` (judge: off-topic, nonsensical or wrong language; MultiJail's third
#: outcome), ``refusal_rate`` (our multilingual phrase matcher), ``refusal_rate_advbench`` (AdvBench's own prefix
#: rule, Zou et al. 2023), ``refusal_agreement`` (matcher vs judge).
SAFETY_METRICS = ("safe_rate", "unsafe_rate", "invalid_rate", "refusal_rate", "refusal_rate_advbench",
                  "refusal_agreement")


@dataclass(frozen=True)
class JudgeSpec:
    """How a task's answers are judged (from the task YAML's ``metadata.judge`` plus run overrides).

    Attributes:
        rubric: Rubric for turn 1 without a reference.
        mode: ``single`` (one score per turn), ``aspects`` (several named scores from one call) or ``pairwise``
            (the answer against a baseline's, in both orders).
        rubric_reference: Rubric for turn 1 with a reference answer.
        rubric_multi_turn: Rubric for turn 2+, shown the whole conversation.
        rubric_multi_turn_reference: Rubric for turn 2+ with reference answers.
        reference_categories: Categories judged against a reference (MT-bench: math, reasoning, coding);
            ``["*"]`` means every question that has a reference.
        reference_field: Document field holding the per-turn reference answers.
        model: Judge model name, if the run set one (else the environment or the default).
        rubrics: Further rubrics, each scored as its own metric (``fluency``, ``harmlessness``, ...).
        baseline: For ``pairwise``: the name of the baseline whose answers the documents carry.
        metric: The name the task's own rubric reports under (default ``score``).
        checks: Judge-free checks to run on every answer besides the language check: ``refusal`` (the
            multilingual refusal-phrase matcher, reported as ``refusal_rate``).
        wrong_language: Optional penalty on the task's score for answers not in the expected language:
            ``zero`` adds ``<metric>_language_penalized`` where such turns score 0 (off by default).
    """

    rubric: str
    mode: str = "single"
    rubric_reference: str | None = None
    rubric_multi_turn: str | None = None
    rubric_multi_turn_reference: str | None = None
    reference_categories: tuple[str, ...] = ()
    reference_field: str = "reference"
    model: str | None = None
    rubrics: tuple[str, ...] = ()
    baseline: str | None = None
    metric: str = "score"
    checks: tuple[str, ...] = ()
    wrong_language: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, stored in every document so later judging needs no task config."""
        d = asdict(self)
        d["reference_categories"] = list(self.reference_categories)
        d["rubrics"] = list(self.rubrics)
        d["checks"] = list(self.checks)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JudgeSpec:
        """Inverse of :meth:`to_dict` (unknown keys are rejected by the caller)."""
        return cls(**{**d, "reference_categories": tuple(d.get("reference_categories") or ()),
                      "rubrics": tuple(d.get("rubrics") or ()), "checks": tuple(d.get("checks") or ())})


@dataclass(frozen=True)
class Question:
    """One item of a judged benchmark (one or more user turns).

    Attributes:
        task: lm-eval task name.
        question_id: Stable id within the task.
        category: Benchmark category (MT-bench: writing, math, ...).
        turns: User turns in the evaluated language.
        turns_en: The same turns in English, when the data has them.
        reference: Reference answers per turn, or None.
        language: Language the answer must be in (e.g. "Thai").
        output_format: "plain" or "tcot".
        judge: How to judge it.
        extra: Further fields the judge prompt may use (e.g. GAOKAO-Bench's analysis and point value).
        baselines: Baseline name -> its answers per turn (pairwise against bundled reference outputs).
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
    baselines: dict[str, tuple[str, ...]] = field(default_factory=dict)


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
class PairDetail:
    """Both orders of one pairwise judgment (the judged model is "model", the other is ``baseline``).

    Attributes:
        baseline: Name of the other side (a run's model or a bundled reference output).
        first: Verdict with the model's answer shown first ("A", "B", "tie") or None if that call failed.
        second: Verdict with the baseline's answer shown first, as the judge said it ("A" = the baseline).
        explanation_second: The judge's reply for the second order (the first is ``Judgment.explanation``).
        winner: "model", "baseline" or "tie" after the swap rule (disagreeing orders are a tie), or None.
    """

    baseline: str
    first: str | None
    second: str | None
    explanation_second: str
    winner: str | None


@dataclass(frozen=True)
class Judgment:
    """The judge's verdict on one turn for one metric. ``score`` is None (with ``reason``) whenever none was given.

    For ``aspects`` rubrics ``aspects`` holds each named score (None with its reason in ``aspect_reasons``) and
    ``score`` is their mean over the scored aspects. For ``pairwise`` rubrics ``score`` is 1 (win), 0.5 (tie)
    or 0 (loss) from the judged model's side and ``pair`` holds both orders.
    """

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
    metric: str = "score"
    served_model: str | None = None
    error_kind: str | None = None
    aspects: dict[str, float | None] | None = None
    aspect_reasons: dict[str, str] | None = None
    pair: PairDetail | None = None
    schema: int = JUDGMENT_SCHEMA
    endpoint: str | None = None  # the judge endpoint's normalised base URL (a judge is model + endpoint)

    @property
    def key(self) -> tuple[str, int, str]:
        """What a judgment is of: (sample, turn, metric). Merging keeps the best judgment per key."""
        return (self.sample_id, self.turn, self.metric)

    @property
    def rank(self) -> int:
        """How good a judgment is: 2 scored, 1 unscored for its content, 0 the judge could not be asked."""
        if self.score is not None:
            return 2
        return 0 if self.error_kind in ("transport", "auth") else 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (one line of ``judgments_<task>_<date>.jsonl``).

        Field by field rather than :func:`dataclasses.asdict`, whose deep copy was a tenth of a second per
        160-judgment run: only the nested pairwise detail is converted, dicts are copied one level.
        """
        d = {name: getattr(self, name) for name in _JUDGMENT_FIELDS}
        for name in ("aspects", "aspect_reasons"):
            if isinstance(d[name], dict):
                d[name] = dict(d[name])
        if self.pair is not None:
            d["pair"] = asdict(self.pair)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Judgment:
        """Inverse of :meth:`to_dict`; reads version-1 lines too.

        Raises:
            TypeError: on unknown or missing fields.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise TypeError(f"unknown field(s) {sorted(unknown)}")
        pair = d.get("pair")
        return cls(**{**d, "pair": PairDetail(**pair) if isinstance(pair, dict) else None,
                      "schema": int(d.get("schema", 1))})


_JUDGMENT_FIELDS = tuple(f.name for f in fields(Judgment))


def lower_is_better(name: str) -> bool:
    """Whether a metric (or a derived number such as ``score_swap_inconsistency``) is better when lower."""
    return name in LOWER_IS_BETTER or any(name.endswith(f"_{m}") for m in LOWER_IS_BETTER)


def better(old: Judgment, new: Judgment) -> Judgment:
    """The judgment to keep for one key: the new one only when it is at least as good as the old one."""
    return new if new.rank >= old.rank else old


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% confidence interval over ``n`` scored values."""

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


@dataclass(frozen=True)
class PairCounts:
    """Win/tie/loss of the judged model against one baseline (FastChat's swap rule)."""

    baseline: str
    wins: int
    ties: int
    losses: int
    win_rate: float | None  # wins / decided-or-tied
    lc_win_rate: float | None = None  # AlpacaEval 2 length-controlled, when lengths are known


@dataclass(frozen=True)
class TaskScores:
    """The aggregate of one task's judgments for one metric.

    ``overall.mean`` is the task's number: the mean score (single), the mean of the aspect means (aspects, as
    LLM-Eval's AVG column) or the win rate with ties as half (pairwise).
    """

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
    metric: str = "score"
    mode: str = "single"
    rubrics: tuple[str, ...] = ()
    served_models: tuple[str, ...] = ()
    aspects: dict[str, Estimate] = field(default_factory=dict)
    pairwise: PairCounts | None = None
    n_judge_errors: int = 0
    #: Answers that were empty or whitespace (judged like any answer; shown so a reader sees why a score is low).
    n_empty: int = 0
    #: Pairwise only: the share of pairs judged in both orders whose verdict changes with the order.
    swap_inconsistency: float | None = None
    #: Judge endpoints (normalised base URLs) behind this number; more than one (or several judge models) is a mix.
    endpoints: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["rubrics"], d["served_models"] = list(self.rubrics), list(self.served_models)
        d["endpoints"] = list(self.endpoints)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskScores:
        """Inverse of :meth:`to_dict`.

        Raises:
            TypeError, KeyError: when ``d`` is not a scores record.
        """
        est = {k: Estimate(**v) for k, v in (d.get("per_turn") or {}).items()}
        cat = {k: Estimate(**v) for k, v in (d.get("per_category") or {}).items()}
        asp = {k: Estimate(**v) for k, v in (d.get("aspects") or {}).items()}
        pw = d.get("pairwise")
        return cls(**{**d, "overall": Estimate(**d["overall"]), "per_turn": est, "per_category": cat,
                      "aspects": asp, "pairwise": PairCounts(**pw) if isinstance(pw, dict) else None,
                      "rubrics": tuple(d.get("rubrics") or ()), "served_models": tuple(d.get("served_models") or ()),
                      "endpoints": tuple(d.get("endpoints") or ())})

    def headline(self) -> dict[str, float | int | None]:
        """The numbers that also go into lm-eval's results JSON, named after the metric."""
        m = self.metric
        out: dict[str, float | int | None] = {
            m: self.overall.mean,
            f"{m}_ci_low": self.overall.ci_low,
            f"{m}_ci_high": self.overall.ci_high,
            f"{m}_n_scored" if m != "score" else "n_scored": self.n_scored,
            f"{m}_n_total" if m != "score" else "n_total": self.n_total,
        }
        for name, est in self.per_turn.items():
            out[f"{m}_{name}"] = est.mean
        for name, est in self.aspects.items():
            out[f"{m}_{name}"] = est.mean
        if self.pairwise is not None:
            out[f"{m}_wins"], out[f"{m}_ties"], out[f"{m}_losses"] = (
                self.pairwise.wins, self.pairwise.ties, self.pairwise.losses)
            if self.pairwise.lc_win_rate is not None:
                out[f"{m}_lc"] = self.pairwise.lc_win_rate
        if self.n_empty:
            out[f"{m}_n_empty"] = self.n_empty
        if self.swap_inconsistency is not None:
            out[f"{m}_swap_inconsistency"] = self.swap_inconsistency
        if self.max_points is not None:
            out["points" if m == "score" else f"{m}_points"] = self.points
            out["max_points" if m == "score" else f"{m}_max_points"] = self.max_points
        return out
