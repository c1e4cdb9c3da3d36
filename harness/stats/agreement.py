"""Agreement between judges (LLM vs human, or two LLMs): scores, pairwise verdicts, leaderboards; label files.

Sources: Zheng et al. 2023, "Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena" (arXiv 2306.05685) §4.2 and
FastChat ``fastchat/llm_judge/compute_agreement.py`` (lm-sys/FastChat@0e6d3e4) for pairwise agreement; Cohen 1960
and Cohen 1968 (weighted kappa) via ``sklearn.metrics.cohen_kappa_score``; Spearman's rho and Kendall's tau-b via
``scipy.stats``. The LLMEval-1 leaderboards (llmeval/llmeval-1, arXiv 2312.07398) are read as published.
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from sklearn.metrics import cohen_kappa_score
from transeval.core.errors import TransevalError
from transeval.core.jsonl import read_jsonl

WINNERS = ("model_a", "model_b", "tie")


def _finite(x: float) -> float | None:
    """A statistic, or None where it is undefined (NaN)."""
    return None if math.isnan(x) else float(x)


# --------------------------------------------------------------------------------------------------- scores


@dataclass(frozen=True)
class ScoreAgreement:
    """Agreement of two graders' numeric scores on the same items.

    Attributes:
        n: Items both scored.
        n_skipped: Items where either score is None.
        exact: Fraction with equal scores.
        within_1: Fraction whose scores differ by at most 1.
        cohen_kappa: Cohen's kappa, quadratic-weighted on an ordinal scale of more than 2 labels; None if undefined
            (e.g. both graders gave one constant score).
        spearman: Spearman's rho; None if undefined (a constant grader, or fewer than 2 items).
        per_category: The same per category (empty sub-results), when categories were given.
    """

    n: int
    n_skipped: int
    exact: float | None
    within_1: float | None
    cohen_kappa: float | None
    spearman: float | None
    per_category: Mapping[str, ScoreAgreement] = field(default_factory=dict)


def _labels(values: Sequence[float], scale: Sequence[float] | None) -> list[float]:
    """The ordered label set for kappa: ``scale``, else every integer between the extremes, else the values seen."""
    if scale is not None:
        labels = sorted(set(scale))
        outside = sorted(set(values) - set(labels))
        if outside:
            raise ValueError(f"scores {outside} are not on the scale {labels}")
        return labels
    if all(float(v).is_integer() for v in values):
        return [float(v) for v in range(int(min(values)), int(max(values)) + 1)]
    return sorted(set(values))


def _score_stats(pairs: Sequence[tuple[float, float]], n_skipped: int, scale: Sequence[float] | None) -> ScoreAgreement:
    n = len(pairs)
    if n == 0:
        return ScoreAgreement(0, n_skipped, None, None, None, None)
    a = np.array([p[0] for p in pairs], dtype=float)
    b = np.array([p[1] for p in pairs], dtype=float)
    labels = _labels(list(a) + list(b), scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined statistics (constant input) come back as NaN -> None
        # kappa's weights depend on label positions only; integer codes also let sklearn take half-point scores
        code = {v: i for i, v in enumerate(labels)}
        kappa = cohen_kappa_score(
            [code[v] for v in a.tolist()],
            [code[v] for v in b.tolist()],
            labels=list(range(len(labels))),
            weights="quadratic" if len(labels) > 2 else None,
        )
        rho = stats.spearmanr(a, b).statistic if n > 1 else math.nan
    return ScoreAgreement(
        n=n,
        n_skipped=n_skipped,
        exact=float(np.mean(a == b)),
        within_1=float(np.mean(np.abs(a - b) <= 1)),
        cohen_kappa=_finite(float(kappa)),
        spearman=_finite(float(rho)),
    )


def score_agreement(
    a: Sequence[float | None],
    b: Sequence[float | None],
    *,
    categories: Sequence[str] | None = None,
    scale: Sequence[float] | None = None,
) -> ScoreAgreement:
    """Agreement of two aligned score sequences (item i of ``a`` and of ``b`` grade the same answer).

    Exact and within-1 agreement as in judge-human comparisons of MT-bench-style 1–10 grading (Zheng et al. 2023);
    Cohen's kappa (Cohen 1960) with quadratic weights (Cohen 1968) when the scale is ordinal with more than two
    labels, plain kappa for two labels (where all weightings coincide); Spearman's rank correlation.

    Args:
        a: One grader's scores; None where it gave none.
        b: The other grader's scores, aligned with ``a``.
        categories: Optional category of each item, for ``per_category``.
        scale: The possible scores (e.g. ``range(1, 11)``), which fixes kappa's label distances; by default every
            integer between the lowest and highest score seen (or the distinct values, for non-integer scores).

    Returns:
        The agreement; a statistic is None where it is undefined.

    Raises:
        ValueError: Sequences of different lengths, or a score outside ``scale``.
    """
    if len(a) != len(b) or (categories is not None and len(categories) != len(a)):
        raise ValueError("score sequences (and categories) must have the same length")
    pairs: list[tuple[float, float]] = []
    skipped = 0
    by_cat: dict[str, list[tuple[float, float]]] = defaultdict(list)
    skipped_cat: dict[str, int] = defaultdict(int)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        cat = categories[i] if categories is not None else None
        if x is None or y is None:
            skipped += 1
            if cat is not None:
                skipped_cat[cat] += 1
            continue
        pairs.append((float(x), float(y)))
        if cat is not None:
            by_cat[cat].append((float(x), float(y)))
    overall = _score_stats(pairs, skipped, scale)
    cats = sorted(set(by_cat) | set(skipped_cat))
    per_category = {c: _score_stats(by_cat[c], skipped_cat[c], scale) for c in cats}
    return replace(overall, per_category=per_category)


# --------------------------------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class VerdictAgreement:
    """Agreement of two judges' pairwise winners, with and without ties (MT-bench's human study).

    Attributes:
        n: Comparisons both judged.
        n_skipped: Comparisons where either verdict is None.
        agree: Of those, how many had the same verdict (a tie matching a tie).
        with_tie: agree / n ("setup S1"); None when n is 0.
        n_without_tie: Comparisons where neither judge said tie.
        agree_without_tie: Of those, how many had the same winner.
        without_tie: agree_without_tie / n_without_tie ("setup S2"); None when that is 0.
    """

    n: int
    n_skipped: int
    agree: int
    with_tie: float | None
    n_without_tie: int
    agree_without_tie: int
    without_tie: float | None


#: Tie labels of the published MT-bench judgments: humans' "tie (bothbad)", GPT-4's "tie (inconsistent)" (the two
#: orders disagreed). FastChat's ``compute_agreement.py`` counts any of them as a tie equal to any other.
TIE_VARIANTS = ("tie (bothbad)", "tie (inconsistent)")


def _winner(value: str) -> str:
    """Normalise a verdict: every published tie variant is a tie."""
    if value in WINNERS:
        return value
    if value in TIE_VARIANTS:
        return "tie"
    raise ValueError(f"winner must be one of {', '.join(WINNERS)}, got {value!r}")


def verdict_agreement(a: Sequence[str | None], b: Sequence[str | None]) -> VerdictAgreement:
    """Agreement of two aligned sequences of pairwise winners ("model_a", "model_b", "tie").

    Zheng et al. 2023 §4.2 report agreement in two setups; FastChat's ``compute_agreement.py`` computes them:
    "with tie" (S1) counts every comparison both judged, a tie agreeing only with a tie; "without tie" (S2) drops
    every comparison where *either* judge voted a tie (``ban=["tie"]`` applied to both votes) and counts equal
    winners among the rest. An inconsistent swap-order verdict is already a tie (see
    :func:`transeval.harness.stats.winrate.combine_orders`), as in the paper. For several human votes on one comparison,
    pass one aligned pair per vote, as FastChat does.

    Args:
        a: One judge's winners; None where it gave none.
        b: The other judge's winners, aligned with ``a``.

    Returns:
        The agreement.

    Raises:
        ValueError: Sequences of different lengths, or an unknown winner value.
    """
    if len(a) != len(b):
        raise ValueError("verdict sequences must have the same length")
    n = skipped = agree = n_nt = agree_nt = 0
    for x, y in zip(a, b, strict=True):
        if x is None or y is None:
            skipped += 1
            continue
        x, y = _winner(x), _winner(y)
        n += 1
        agree += x == y
        if x != "tie" and y != "tie":
            n_nt += 1
            agree_nt += x == y
    return VerdictAgreement(
        n=n,
        n_skipped=skipped,
        agree=agree,
        with_tie=agree / n if n else None,
        n_without_tie=n_nt,
        agree_without_tie=agree_nt,
        without_tie=agree_nt / n_nt if n_nt else None,
    )


# --------------------------------------------------------------------------------------------------- leaderboards


@dataclass(frozen=True)
class RankCorrelation:
    """Rank agreement of two leaderboards over the models both contain.

    Attributes:
        n: Models on both boards.
        spearman: Spearman's rho of their scores (None for fewer than 2 models or a constant board).
        kendall: Kendall's tau-b (ties handled as scipy's default).
        only_in_a: Models only on the first board, sorted.
        only_in_b: Models only on the second board, sorted.
    """

    n: int
    spearman: float | None
    kendall: float | None
    only_in_a: tuple[str, ...]
    only_in_b: tuple[str, ...]


def rank_correlation(board_a: Mapping[str, float], board_b: Mapping[str, float]) -> RankCorrelation:
    """Spearman's rho and Kendall's tau-b between two model -> score boards (``scipy.stats``).

    Args:
        board_a: One leaderboard (higher is better, or both lower-is-better).
        board_b: The other.

    Returns:
        The correlations over the shared models and the models missing from one board.
    """
    common = sorted(set(board_a) & set(board_b))
    x = [float(board_a[m]) for m in common]
    y = [float(board_b[m]) for m in common]
    rho = tau = math.nan
    if len(common) > 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rho = float(stats.spearmanr(x, y).statistic)
            tau = float(stats.kendalltau(x, y).statistic)
    return RankCorrelation(
        n=len(common),
        spearman=_finite(rho),
        kendall=_finite(tau),
        only_in_a=tuple(sorted(set(board_a) - set(board_b))),
        only_in_b=tuple(sorted(set(board_b) - set(board_a))),
    )


# --------------------------------------------------------------------------------------------------- files


@dataclass(frozen=True)
class Label:
    """One human (or other reference) label.

    Attributes:
        sample_id: The item labelled (a question / sample id).
        turn: Turn index, 0-based (default 0).
        score: A numeric grade, or None for a pairwise label.
        winner: "model_a", "model_b" or "tie" for a pairwise label, else None.
        model: The model graded, or for a pairwise label model_a, if given.
        category: The item's category, if given.
        line: Line (or record number, in a JSON array) of the label in its file (for messages).
        model_b: For a pairwise label: the other model, if given.
        judge: Who labelled it (``expert_0``, ``author_2``, ``gpt-4/pair-v2``), if given.
    """

    sample_id: str
    turn: int
    score: float | None
    winner: str | None
    model: str | None
    category: str | None
    line: int
    model_b: str | None = None
    judge: str | None = None


LABEL_FIELDS = ("sample_id", "turn", "score", "winner", "model", "category", "model_a", "model_b", "judge")
#: The MT-bench human judgments as published (lmsys/mt_bench_human_judgments, FastChat ``compute_agreement.py``'s
#: input): turn is 1-based there.
MTBENCH_VOTE_FIELDS = ("question_id", "model_a", "model_b", "winner", "judge", "turn")
_MTBENCH_VOTE_EXTRA = ("conversation_a", "conversation_b", "tstamp")
#: FastChat's own pairwise judgment lines (``model_judgment/gpt-4_pair.jsonl``).
FASTCHAT_PAIR_FIELDS = ("question_id", "model_1", "model_2", "g1_winner", "g2_winner", "judge", "turn")
_FASTCHAT_PAIR_EXTRA = ("g1_user_prompt", "g1_judgment", "g2_user_prompt", "g2_judgment", "tstamp")


def _read_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the (line, row) records of a CSV file; blank lines are skipped, ragged rows raise."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader, [])]
            if not any(header):
                raise TransevalError("empty file (expected a header line)", file=path, line=1)
            rows = []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise TransevalError(
                        f"expected {len(header)} fields as in the header, got {len(row)}",
                        file=path,
                        line=reader.line_num,
                    )
                rows.append((reader.line_num, dict(zip(header, (c.strip() for c in row), strict=True))))
        except csv.Error as exc:
            raise TransevalError(f"not valid CSV ({exc})", file=path, line=reader.line_num) from None
        except UnicodeDecodeError:
            raise TransevalError("not UTF-8 text", file=path) from None
    return header, rows


def _parse_label(rec: Mapping[str, Any], path: Path, line: int, from_csv: bool) -> Label:
    """One validated label from a CSV row or JSON object."""

    def err(msg: str, fld: str) -> TransevalError:
        return TransevalError(msg, file=path, line=line, field=fld)

    unknown = sorted(set(rec) - set(LABEL_FIELDS))
    if unknown:
        raise err(f"unknown column (allowed: {', '.join(LABEL_FIELDS)})", unknown[0])

    def text(fld: str, required: bool = False) -> str | None:
        v = rec.get(fld)
        if v is None or (isinstance(v, str) and not v.strip()):
            if required:
                raise err("missing value", fld)
            return None
        if isinstance(v, bool) or not isinstance(v, str | int):
            raise err(f"expected text, got {v!r}", fld)
        return str(v).strip()

    if rec.get("model") not in (None, "") and rec.get("model_a") not in (None, ""):
        raise err("give either 'model' or 'model_a'", "model_a")
    sample_id = text("sample_id", required=True) or ""
    turn_raw = rec.get("turn")
    turn = 0
    if turn_raw is not None and turn_raw != "":
        try:
            if isinstance(turn_raw, bool) or (not from_csv and not isinstance(turn_raw, int)):
                raise ValueError
            turn = int(turn_raw)
        except ValueError:
            raise err(f"turn must be an integer >= 0, got {turn_raw!r}", "turn") from None
        if turn < 0:
            raise err(f"turn must be an integer >= 0, got {turn_raw!r}", "turn")

    has_score = rec.get("score") not in (None, "")
    has_winner = rec.get("winner") not in (None, "")
    if has_score == has_winner:
        which = "both" if has_score else "neither"
        raise err(f"a label needs exactly one of 'score' and 'winner', this row has {which}", "score")
    score: float | None = None
    winner: str | None = None
    if has_score:
        raw = rec["score"]
        try:
            if isinstance(raw, bool) or (not from_csv and not isinstance(raw, int | float)):
                raise ValueError
            score = float(raw)
        except ValueError:
            raise err(f"score must be a number, got {raw!r}", "score") from None
        if not math.isfinite(score):
            raise err(f"score must be a finite number, got {raw!r}", "score")
    else:
        raw = rec["winner"]
        if not isinstance(raw, str) or raw.strip() not in (*WINNERS, *TIE_VARIANTS):
            raise err(f"winner must be one of {', '.join(WINNERS)}, got {raw!r}", "winner")
        winner = _winner(raw.strip())
    return Label(sample_id, turn, score, winner, text("model") or text("model_a"), text("category"), line,
                 text("model_b"), text("judge"))


def _judge_name(value: Any) -> str:
    """A published judge field as text (GPT-4's is a list such as ``["gpt-4", "pair-v2"]``)."""
    return "/".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _published_label(rec: Mapping[str, Any], path: Path, line: int) -> Label | None:
    """A label from an MT-bench human-judgment record or a FastChat pair judgment line (None: a failed judgment).

    Raises:
        TransevalError: naming the file, line and field of a missing or malformed value.
    """
    def err(msg: str, fld: str) -> TransevalError:
        return TransevalError(msg, file=path, line=line, field=fld)

    fastchat = "g1_winner" in rec
    fields, extra = (FASTCHAT_PAIR_FIELDS, _FASTCHAT_PAIR_EXTRA) if fastchat else (MTBENCH_VOTE_FIELDS,
                                                                                  _MTBENCH_VOTE_EXTRA)
    unknown = sorted(set(rec) - set(fields) - set(extra))
    if unknown:
        raise err(f"unknown field (MT-bench judgments have: {', '.join(fields)})", unknown[0])
    for fld in fields:
        if rec.get(fld) in (None, ""):
            raise err("missing value", fld)
    turn = rec["turn"]
    if isinstance(turn, bool) or not isinstance(turn, int) or turn < 1:
        raise err(f"turn must be an integer >= 1 (1-based, as published), got {turn!r}", "turn")
    a, b = (rec["model_1"], rec["model_2"]) if fastchat else (rec["model_a"], rec["model_b"])
    if fastchat:
        g1, g2 = rec["g1_winner"], rec["g2_winner"]
        for fld, v in (("g1_winner", g1), ("g2_winner", g2)):
            if v not in ("model_1", "model_2", "tie", "error"):
                raise err(f"must be model_1, model_2, tie or error, got {v!r}", fld)
        if "error" in (g1, g2):
            return None  # FastChat's show_result.py drops it too
        winner = {"model_1": "model_a", "model_2": "model_b"}.get(g1, "tie") if g1 == g2 else "tie"
    else:
        raw = rec["winner"]
        if not isinstance(raw, str) or raw not in (*WINNERS, *TIE_VARIANTS):
            raise err(f"winner must be one of {', '.join((*WINNERS, *TIE_VARIANTS))}, got {raw!r}", "winner")
        winner = _winner(raw)
    return Label(str(rec["question_id"]), turn - 1, None, winner, str(a), None, line, str(b), _judge_name(rec["judge"]))


def _json_records(path: Path) -> list[tuple[int, Mapping[str, Any]]]:
    """(record number, record) of a JSON array file, or (line, record) when the ``.json`` file is JSON lines."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise TransevalError("not UTF-8 text", file=path) from None
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return list(read_jsonl(path))
        raise TransevalError(f"not valid JSON ({exc.msg})", file=path, line=exc.lineno) from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise TransevalError("expected a JSON array of objects (MT-bench judgments)", file=path)
    return list(enumerate(data, 1))


def read_labels(path: str | Path) -> list[Label]:
    """Read reference labels from a ``.csv`` (with a header), ``.jsonl`` or ``.json`` file, strictly.

    Columns: ``sample_id`` (required), ``turn`` (optional, 0-based, default 0), exactly one of ``score`` (a number)
    and ``winner`` ("model_a" | "model_b" | "tie"; FastChat's "tie (bothbad)" and "tie (inconsistent)" are read
    as "tie") per row, and optional ``model`` (or ``model_a``), ``model_b``, ``judge`` and ``category``.

    Two published formats are read as they are (``.jsonl``, or ``.json`` as an array or JSON lines): the MT-bench
    human judgments (``question_id, model_a, model_b, winner, judge, turn``, turn 1-based, as in
    lmsys/mt_bench_human_judgments; ``conversation_a``/``conversation_b`` are ignored) and FastChat's pairwise
    judgment lines (``gpt-4_pair.jsonl``: ``model_1, model_2, g1_winner, g2_winner``, combined as
    ``show_result.py`` does: two equal verdicts win, otherwise a tie; a line with an "error" order is skipped).

    Any other column, a missing or malformed value, or a second label for the same (sample_id, turn, models,
    judge) raises :class:`TransevalError` with the file, line and field.

    Args:
        path: The label file.

    Returns:
        The labels in file order.

    Raises:
        TransevalError: The file is missing, of another type, empty, or has a bad row.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".json"):
        raise TransevalError("label files must be .csv or .jsonl (or MT-bench judgments as .json)", file=path)
    if not path.is_file():
        raise TransevalError("file not found", file=path)
    labels: list[Label] = []
    seen: dict[tuple[str, int, str | None, str | None, str | None], int] = {}
    rows: Iterable[tuple[int, Mapping[str, Any]]]
    if suffix == ".csv":
        header, rows = _read_csv(path)
        if "sample_id" not in header:
            raise TransevalError("missing column", file=path, line=1, field="sample_id")
        if "score" not in header and "winner" not in header:
            raise TransevalError("missing column: need 'score' or 'winner'", file=path, line=1, field="score")
        unknown = sorted(set(header) - set(LABEL_FIELDS))
        if unknown:
            raise TransevalError(
                f"unknown column (allowed: {', '.join(LABEL_FIELDS)})", file=path, line=1, field=unknown[0]
            )
    else:
        rows = _json_records(path) if suffix == ".json" else read_jsonl(path)
    for line, rec in rows:
        published = suffix != ".csv" and ("question_id" in rec and "sample_id" not in rec)
        parsed = _published_label(rec, path, line) if published else _parse_label(rec, path, line,
                                                                                    from_csv=suffix == ".csv")
        if parsed is None:
            continue
        label = parsed
        key = (label.sample_id, label.turn, label.model, label.model_b, label.judge)
        if key in seen:
            who = label.model if label.model_b is None else f"{label.model} vs {label.model_b}"
            raise TransevalError(
                f"duplicate label for sample_id {label.sample_id!r}, turn {label.turn}, model {who!r}"
                f"{f', judge {label.judge!r}' if label.judge else ''} (first on line {seen[key]})",
                file=path,
                line=line,
                field="sample_id",
            )
        seen[key] = line
        labels.append(label)
    if not labels:
        raise TransevalError("no labels in file", file=path)
    return labels


def read_leaderboard_csv(
    path: str | Path, score_column: str = "overall", *, name_column: str = "llm_name"
) -> dict[str, float]:
    """A model -> score board from a leaderboard CSV such as LLMEval-1's ``results/*.csv``.

    Args:
        path: The CSV (header ``llm_name,overall,overall_rank,...`` in LLMEval-1's itemized boards,
            ``llm_name,pairwise,pairwise_rank`` in its pairwise ones).
        score_column: The column holding the score.
        name_column: The column holding the model name.

    Returns:
        Scores by model, in file order.

    Raises:
        TransevalError: Missing file or column, a non-numeric score, an empty or repeated model name.
    """
    path = Path(path)
    if not path.is_file():
        raise TransevalError("file not found", file=path)
    header, rows = _read_csv(path)
    for col in (name_column, score_column):
        if col not in header:
            raise TransevalError(f"missing column (columns: {', '.join(header)})", file=path, line=1, field=col)
    board: dict[str, float] = {}
    for line, rec in rows:
        name = rec[name_column]
        if not name:
            raise TransevalError("missing model name", file=path, line=line, field=name_column)
        if name in board:
            raise TransevalError(f"model {name!r} listed twice", file=path, line=line, field=name_column)
        try:
            score = float(rec[score_column])
        except ValueError:
            raise TransevalError(
                f"score must be a number, got {rec[score_column]!r}", file=path, line=line, field=score_column
            ) from None
        if not math.isfinite(score):
            raise TransevalError(
                f"score must be finite, got {rec[score_column]!r}", file=path, line=line, field=score_column
            )
        board[name] = score
    if not board:
        raise TransevalError("no models in file", file=path)
    return board
