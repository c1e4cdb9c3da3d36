"""Pairwise judging statistics: swap-combined verdicts, win rates, Bradley–Terry ratings, length-controlled win rate.

Sources:

* Position swap and win rates: Zheng et al. 2023, "Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena"
  (arXiv 2306.05685) and FastChat ``fastchat/llm_judge/common.py`` (``play_a_match_pair``), ``show_result.py``
  (``display_result_pairwise``) at lm-sys/FastChat@0e6d3e4.
* Bradley–Terry ratings: Chiang et al. 2024, "Chatbot Arena" (arXiv 2403.04132) §4 and FastChat
  ``fastchat/serve/monitor/rating_systems.py`` / the Arena notebook's ``compute_mle_elo``.
* Length-controlled win rate: Dubois et al. 2024, "Length-Controlled AlpacaEval" (arXiv 2404.04475) and
  alpaca_eval ``src/alpaca_eval/metrics/glm_winrate.py``, ``notebooks/instruction_difficulty.ipynb``
  at tatsu-lab/alpaca_eval@cd543a1 (reimplemented, not copied).

Nothing here reads runs or files: the CLI builds :class:`PairVerdict` records and calls these functions.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from transeval.harness.stats.estimates import estimate
from transeval.judges.parse import Outcome, combine_orders

# Outcome of the comparison from model_a's side: win 1, tie 1/2, loss 0 (FastChat's "adjusted" scoring).
_VALUE = {"model_a": 1.0, "tie": 0.5, "model_b": 0.0}


@dataclass(frozen=True)
class PairVerdict:
    """One pairwise judgment of two models' answers to one turn, judged in both orders.

    Attributes:
        question_id: The question judged.
        category: Its benchmark category.
        turn: Turn index (0-based, as in the judgments files).
        model_a: The model whose answer was shown in position A in the first order.
        model_b: The other model.
        first: The judge's verdict with model_a's answer in position A: "A", "B" or "tie"; None if it failed.
        second: The verdict with the positions swapped (here "A" means model_b's answer); None if it failed.
        len_a: Length of model_a's answer in characters, if known (for the length-controlled win rate).
        len_b: Length of model_b's answer in characters, if known.
    """

    question_id: str
    category: str
    turn: int
    model_a: str
    model_b: str
    first: str | None
    second: str | None
    len_a: int | None = None
    len_b: int | None = None

    @property
    def outcome(self) -> Outcome | None:
        """The swap-combined winner ("model_a", "model_b", "tie"), or None when either order failed."""
        return combine_orders(self.first, self.second)




def _oriented(verdicts: Iterable[PairVerdict], model: str, baseline: str) -> list[tuple[PairVerdict, Outcome | None]]:
    """The verdicts between ``model`` and ``baseline``, each with its outcome seen from ``model`` as model_a."""
    flip = {"model_a": "model_b", "model_b": "model_a", "tie": "tie"}
    out: list[tuple[PairVerdict, Outcome | None]] = []
    for v in verdicts:
        if (v.model_a, v.model_b) == (model, baseline):
            out.append((v, v.outcome))
        elif (v.model_a, v.model_b) == (baseline, model):
            o = v.outcome
            out.append((v, None if o is None else flip[o]))
    return out


# --------------------------------------------------------------------------------------------------- win rate


@dataclass(frozen=True)
class WinRateResult:
    """Wins, ties and losses of a model against a baseline (FastChat ``show_result.py --mode pairwise-baseline``).

    Attributes:
        model: The model rated.
        baseline: Its opponent.
        wins: Comparisons the model won in both orders.
        ties: Ties, including the two orders disagreeing.
        losses: Comparisons the baseline won.
        n: wins + ties + losses.
        n_unscored: Comparisons where either order's judgment failed (not in ``n``).
        win_rate: wins / n (FastChat ``win_rate``); None when n is 0.
        adjusted: (wins + ties / 2) / n (FastChat ``win_rate_adjusted``); None when n is 0.
        ci_low: Lower end of the 95% bootstrap CI of ``adjusted`` (questions resampled with all their turns);
            None for fewer than 2 questions.
        ci_high: Upper end of that CI.
        per_category: The same per category (their own sub-results are empty).
        per_turn: The same per turn index.
    """

    model: str
    baseline: str
    wins: int
    ties: int
    losses: int
    n: int
    n_unscored: int
    win_rate: float | None
    adjusted: float | None
    ci_low: float | None
    ci_high: float | None
    per_category: Mapping[str, WinRateResult] = field(default_factory=dict)
    per_turn: Mapping[int, WinRateResult] = field(default_factory=dict)


def _tally(
    rows: Sequence[tuple[PairVerdict, Outcome | None]], model: str, baseline: str, iters: int, seed: int
) -> WinRateResult:
    """Counts, rates and the cluster-bootstrap CI of one set of oriented verdicts."""
    scored = [(v, o) for v, o in rows if o is not None]
    wins = sum(o == "model_a" for _, o in scored)
    ties = sum(o == "tie" for _, o in scored)
    losses = sum(o == "model_b" for _, o in scored)
    n = len(scored)
    by_question: dict[str, list[float]] = defaultdict(list)
    for v, o in scored:
        by_question[v.question_id].append(_VALUE[str(o)])
    est = estimate(list(by_question.values()), iters=iters, seed=seed)
    return WinRateResult(
        model=model,
        baseline=baseline,
        wins=wins,
        ties=ties,
        losses=losses,
        n=n,
        n_unscored=len(rows) - n,
        win_rate=wins / n if n else None,
        adjusted=est.mean,
        ci_low=est.ci_low,
        ci_high=est.ci_high,
    )


def win_rate(
    verdicts: Iterable[PairVerdict], model: str, baseline: str, iters: int = 2000, seed: int = 1234
) -> WinRateResult:
    """Win rate of ``model`` against ``baseline`` over swap-combined pairwise verdicts.

    Follows FastChat's ``show_result.py`` (Zheng et al. 2023, arXiv 2306.05685): a comparison is a win only when
    both orders agree (:func:`combine_orders`), ``win_rate`` = wins / n and ``adjusted`` counts each tie as half a
    win. The 95% CI of ``adjusted`` is a percentile bootstrap that resamples questions, keeping a question's turns
    together (:func:`transeval.harness.stats.estimates.estimate`). Verdicts of other pairs are ignored; ``model``
    may be in either role of a verdict. Each verdict counts once, so pass one verdict per (question, turn, pair).

    Args:
        verdicts: Pairwise verdicts (any pairs).
        model: The model rated.
        baseline: Its opponent.
        iters: Bootstrap resamples.
        seed: RNG seed.

    Returns:
        Overall result with per-category and per-turn sub-results.
    """
    rows = _oriented(verdicts, model, baseline)
    overall = _tally(rows, model, baseline, iters, seed)
    per_category = {
        cat: _tally([r for r in rows if r[0].category == cat], model, baseline, iters, seed)
        for cat in sorted({v.category for v, _ in rows})
    }
    per_turn = {
        t: _tally([r for r in rows if r[0].turn == t], model, baseline, iters, seed)
        for t in sorted({v.turn for v, _ in rows})
    }
    return replace(overall, per_category=per_category, per_turn=per_turn)


# --------------------------------------------------------------------------------------------------- Bradley-Terry


@dataclass(frozen=True)
class Rating:
    """A Bradley–Terry rating on the Elo-like scale with its 95% bootstrap CI.

    Attributes:
        rating: scale * log_base(strength), centred so that the mean over rated models is ``init``.
        ci_low: 2.5th percentile over bootstrap rounds (None without usable rounds).
        ci_high: 97.5th percentile.
        n: Scored comparisons the model took part in.
    """

    rating: float
    ci_low: float | None
    ci_high: float | None
    n: int


# L2 strength of the BT fit: sklearn minimises C * sum(weighted log loss) + ||beta||^2 / 2. This is negligible
# on data where the maximum-likelihood ratings exist (well under 0.01 rating points on the tests' cases) and keeps
# them finite when a model won or lost every comparison, where the MLE is infinite.
_BT_C = 1e6


def _bt_fit(models: Sequence[str], battles: Sequence[tuple[str, str, float]], base: float) -> np.ndarray:
    """Natural-scale BT strengths (log-base units, mean 0) fitted by logistic regression on all outcomes."""
    index = {m: i for i, m in enumerate(models)}
    won: dict[tuple[int, int], float] = defaultdict(float)  # (i, j), i < j -> [wins of i, wins of j]
    lost: dict[tuple[int, int], float] = defaultdict(float)
    for a, b, value in battles:
        i, j = index[a], index[b]
        if i > j:
            i, j, value = j, i, 1.0 - value
        won[(i, j)] += value  # a tie counts half a win each way
        lost[(i, j)] += 1.0 - value
    pairs = sorted(set(won) | set(lost))
    x = np.zeros((2 * len(pairs), len(models)))
    y = np.zeros(2 * len(pairs))
    w = np.zeros(2 * len(pairs))
    for r, (i, j) in enumerate(pairs):
        for k, (label, weight) in enumerate(((1.0, won[(i, j)]), (0.0, lost[(i, j)]))):
            x[2 * r + k, i] = math.log(base)
            x[2 * r + k, j] = -math.log(base)
            y[2 * r + k] = label
            w[2 * r + k] = weight
    lr = LogisticRegression(fit_intercept=False, C=_BT_C, tol=1e-10, max_iter=1_000, solver="newton-cholesky")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr.fit(x, y, sample_weight=w)
    beta = lr.coef_[0]
    return beta - beta.mean()


def bradley_terry(
    verdicts: Iterable[PairVerdict],
    iters: int = 200,
    seed: int = 1234,
    scale: float = 400,
    base: float = 10,
    init: float = 1000,
) -> dict[str, Rating]:
    """Bradley–Terry ratings of every model in the verdicts, the way Chatbot Arena computes them.

    Chiang et al. 2024 (arXiv 2403.04132) §4: maximum-likelihood BT coefficients from a logistic regression over all
    pairwise outcomes, a tie counting as half a win for each side, reported as ``scale * beta + init`` where
    P(i beats j) = 1 / (1 + base ** (-(R_i - R_j) / scale)) (the Arena notebook's ``compute_mle_elo``: SCALE 400,
    BASE 10, INIT_RATING 1000). Ratings are centred so their mean is ``init`` (Arena anchors one named model instead).
    Outcomes are swap-combined (:func:`combine_orders`); unscored comparisons are left out. The CI is the 2.5/97.5
    percentile over ``iters`` bootstrap refits. Arena resamples battles, each of which is a different prompt; here
    one question yields the battles of all pairs and turns, so whole questions are resampled, as in
    :func:`win_rate`. A model absent from a bootstrap sample is left out of that round. A negligible L2 term
    keeps ratings finite when a model won or lost every comparison (the MLE does not exist then). Ratings of
    models that were never compared, directly or through others, are not comparable.

    Args:
        verdicts: Pairwise verdicts between any models.
        iters: Bootstrap rounds (0: no CI).
        seed: RNG seed.
        scale: Rating points per factor ``base`` in odds.
        base: Odds base.
        init: Mean rating.

    Returns:
        Model -> rating, best first. Models with no scored comparison are absent.
    """
    battles_by_q: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for v in verdicts:
        o = v.outcome
        if o is not None and v.model_a != v.model_b:
            battles_by_q[v.question_id].append((v.model_a, v.model_b, _VALUE[o]))
    battles = [b for q in battles_by_q.values() for b in q]
    if not battles:
        return {}
    models = sorted({m for a, b, _ in battles for m in (a, b)})
    counts = {m: sum(m in (a, b) for a, b, _ in battles) for m in models}
    point = scale * _bt_fit(models, battles, base) + init

    questions = list(battles_by_q)
    rng = np.random.default_rng(seed)
    boot = np.full((iters, len(models)), np.nan)
    for r in range(iters):
        sample = [b for k in rng.integers(0, len(questions), len(questions)) for b in battles_by_q[questions[k]]]
        present = sorted({m for a, b, _ in sample for m in (a, b)})
        cols = [models.index(m) for m in present]
        boot[r, cols] = scale * _bt_fit(present, sample, base) + init
    out = {}
    for k, m in enumerate(models):
        col = boot[:, k][~np.isnan(boot[:, k])]
        lo, hi = (float(v) for v in np.percentile(col, [2.5, 97.5])) if len(col) else (None, None)
        out[m] = Rating(float(point[k]), lo, hi, counts[m])
    return dict(sorted(out.items(), key=lambda kv: -kv[1].rating))


# --------------------------------------------------------------------------------------------------- LC win rate


@dataclass(frozen=True)
class Preference:
    """The judge's preference between a model's and the baseline's answer to one instruction.

    Attributes:
        question_id: The question (bootstrap unit: its turns are resampled together).
        turn: Turn index; (question_id, turn) is one instruction of the GLM.
        model: The model compared.
        baseline: The baseline it is compared with.
        preference: 1.0 the model's answer won, 0.0 the baseline's, 0.5 a tie.
        len_model: Length of the model's answer (characters).
        len_baseline: Length of the baseline's answer.
    """

    question_id: str
    turn: int
    model: str
    baseline: str
    preference: float
    len_model: int
    len_baseline: int


@dataclass(frozen=True)
class LCWinRate:
    """Raw and length-controlled win rate of one model against the baseline (both in [0, 1]).

    Attributes:
        model: The model.
        baseline: The baseline.
        n: Instructions with a preference.
        win_rate: Mean preference, ties as half (AlpacaEval's ``win_rate``; FastChat's adjusted rate).
        lc_win_rate: The GLM's mean predicted preference with the length term set to zero.
        ci_low: 2.5th percentile of ``lc_win_rate`` over bootstrap refits (questions resampled); None without.
        ci_high: 97.5th percentile.
        length_coef: Fitted weight of tanh(standardised length difference) (> 0: longer answers are preferred).
        with_difficulty: Whether the GLM had the instruction-difficulty term (a precomputed table was given).
    """

    model: str
    baseline: str
    n: int
    win_rate: float
    lc_win_rate: float
    ci_low: float | None
    ci_high: float | None
    length_coef: float
    with_difficulty: bool


def preferences_from_verdicts(verdicts: Iterable[PairVerdict], baseline: str) -> list[Preference]:
    """The swap-combined preferences of every model against ``baseline`` that have both answer lengths.

    Args:
        verdicts: Pairwise verdicts; those not involving ``baseline``, unscored ones and those without lengths are
            skipped.
        baseline: The reference model.

    Returns:
        One preference per scored verdict, oriented so that 1.0 means the other model won.
    """
    out = []
    for v in verdicts:
        if baseline not in (v.model_a, v.model_b) or v.model_a == v.model_b:
            continue
        o = v.outcome
        if o is None or v.len_a is None or v.len_b is None:
            continue
        if v.model_b == baseline:
            out.append(Preference(v.question_id, v.turn, v.model_a, baseline, _VALUE[o], v.len_a, v.len_b))
        else:
            out.append(Preference(v.question_id, v.turn, v.model_b, baseline, 1.0 - _VALUE[o], v.len_b, v.len_a))
    return out


#: alpaca_eval's GLM fit (``glm_winrate.fit_LogisticRegressionCV``): sklearn's ``LogisticRegressionCV`` defaults
#: (10 penalties log-spaced over 1e-4..1e4), L1, liblinear, no separate intercept, ``random_state=123``, 5 group folds.
LC_CS = tuple(np.logspace(-4, 4, 10))
LC_SEED = 123
LC_FOLDS = 5


def _liblinear_state(k: int) -> np.random.RandomState:
    """The random state liblinear gets for the k-th penalty of a ``LogisticRegressionCV`` path.

    sklearn's ``_logistic_regression_path`` makes one ``RandomState(random_state)`` per path and liblinear draws
    its seed from it once per penalty, so the k-th penalty of each fold's path is fitted with the (k+1)-th draw
    (and the final refit, a path of one penalty, with the first).
    """
    state = np.random.RandomState(LC_SEED)
    for _ in range(k):
        state.randint(np.iinfo("i").max)
    return state


def _l1_fit(x: np.ndarray, p: np.ndarray, c: float, k: int = 0) -> LogisticRegression:
    """alpaca_eval's fit on soft labels: each row twice, y=1 with weight p and y=0 with weight 1 - p (L1, liblinear).

    ``k``: the penalty's position in the cross-validation path (its liblinear seed, see :func:`_liblinear_state`).
    """
    lr = LogisticRegression(C=c, penalty="l1", solver="liblinear", fit_intercept=False,
                            random_state=_liblinear_state(k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning; sklearn's deprecation notice for penalty=
        lr.fit(np.vstack([x, x]), np.concatenate([np.ones(len(p)), np.zeros(len(p))]),
               sample_weight=np.concatenate([p, 1.0 - p]))
    return lr


def _choose_c(x: np.ndarray, p: np.ndarray) -> float:
    """The penalty of ``LC_CS`` with the best held-out soft log loss, as alpaca_eval's ``LogisticRegressionCV``.

    Folds: ``GroupKFold(5)`` over the duplicated rows, each instruction's two copies one group; score per fold:
    ``-mean(p log q + (1 - p) log(1 - q))`` over the fold's rows (q clipped to 1e-15), summed over folds, the
    first best penalty wins (``argmax``).
    """
    n = len(p)
    n_splits = min(LC_FOLDS, n)
    if n_splits < 2:
        return 1.0
    xx, pp = np.vstack([x, x]), np.concatenate([p, p])  # y_true of both copies is p
    yy = np.concatenate([np.ones(n), np.zeros(n)])
    groups = np.concatenate([np.arange(n), np.arange(n)])
    folds = list(GroupKFold(n_splits=n_splits).split(xx, yy, groups))
    scores = np.zeros(len(LC_CS))
    for k, c in enumerate(LC_CS):
        for train, test in folds:
            tr = train[train < n]  # the y=1 copies of the training instructions (their y=0 copies are the rest)
            q = np.clip(_l1_fit(xx[tr], pp[tr], c, k).predict_proba(xx[test])[:, 1], 1e-15, 1 - 1e-15)
            scores[k] += float(np.mean(pp[test] * np.log(q) + (1 - pp[test]) * np.log(1 - q)))
    return float(LC_CS[int(np.argmax(scores))])


def read_instruction_difficulty(path: str | Path) -> dict[str, float]:
    """AlpacaEval's precomputed instruction difficulty (``instruction_difficulty.csv``: index, difficulty), by id.

    The first column is the instruction's index in AlpacaEval's 805 (our ``alpaca_eval_th`` question ids), the
    second its difficulty.

    Raises:
        TransevalError: naming the file and line of a missing file or a malformed row.
    """
    import csv

    from transeval.core.errors import TransevalError

    path = Path(path)
    if not path.is_file():
        raise TransevalError("file not found", file=path)
    out: dict[str, float] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh), 1):
            if lineno == 1 or not row:
                continue
            try:
                out[row[0].strip()] = float(row[-1])
            except (ValueError, IndexError):
                raise TransevalError("expected index,difficulty", file=path, line=lineno) from None
    if not out:
        raise TransevalError("no rows", file=path)
    return out


def _lc_design(rows: Sequence[Preference], difficulty: Mapping[str, float] | None) -> np.ndarray:
    """alpaca_eval's design matrix, column for column.

    ``np.tanh(std_delta_len)`` with delta_len = len(baseline) - len(model) divided by its standard deviation
    (ddof 1, not centred), ``instruction_difficulty`` when given, and the constant ``not_gamed_baseline``.
    """
    delta = np.array([p.len_baseline - p.len_model for p in rows], dtype=float)
    std = float(np.std(delta, ddof=1)) if len(rows) > 1 else 0.0
    cols = [np.tanh(delta / std) if std > 0 else np.zeros(len(rows))]
    if difficulty is not None:
        cols.append(np.array([difficulty[p.question_id] for p in rows], dtype=float))
    cols.append(np.ones(len(rows)))
    return np.column_stack(cols)


def _lc_predict(lr: LogisticRegression, x: np.ndarray) -> float:
    """Mean predicted preference with the length column zeroed."""
    x0 = x.copy()
    x0[:, 0] = 0.0
    return float(lr.predict_proba(x0)[:, 1].mean())


def length_controlled_win_rate(
    preferences: Sequence[Preference], iters: int = 200, seed: int = 1234,
    difficulty: Mapping[str, float] | None = None,
) -> dict[str, LCWinRate]:
    """AlpacaEval 2's length-controlled win rate of each model against the (single) baseline, as alpaca_eval does.

    Dubois et al. 2024 (arXiv 2404.04475), reimplemented (not copied) from alpaca_eval's ``glm_winrate.py``
    ``get_length_controlled_winrate`` and checked against it on real annotations (``bench/lc_vs_alpaca_eval.py``):
    per model, a logistic GLM of the judge's preference (soft labels: a tie is 0.5) without a separate intercept
    on ``np.tanh(std_delta_len)`` (delta_len = len(baseline) - len(model) over its standard deviation, not centred),
    ``instruction_difficulty`` when ``difficulty`` is given, and a constant (alpaca_eval's ``not_gamed_baseline``).
    Fit: each instruction twice (y=1 weighted p, y=0 weighted 1 - p), L1 (liblinear, ``random_state=123``), the
    penalty picked from 10 values in 1e-4..1e4 by 5-fold grouped cross-validation on the soft log loss, then refit
    on all rows. The LC win rate is the mean prediction with the length term at zero.

    Without ``difficulty`` this is alpaca_eval's ``length_controlled_minimal`` formula; with AlpacaEval's
    precomputed instruction difficulty (``read_instruction_difficulty``; the 805 AlpacaEval-Thai instructions are
    AlpacaEval's, translated) its ``length_controlled_noreg``. Its default ``length_controlled_v1`` also
    regularises towards two "gamed" (verbose/concise) baselines' annotations (``df_gamed.csv`` on the HF hub),
    which are not bundled. Rows are used in the given order (the folds depend on it, as in alpaca_eval).

    The CI refits with the chosen penalty on ``iters`` resamples of whole questions.

    Args:
        preferences: Preferences of one or more models against one baseline (see :func:`preferences_from_verdicts`).
        iters: Bootstrap rounds for the CI (0: none).
        seed: RNG seed of the bootstrap.
        difficulty: Instruction difficulty by question id (every question of the preferences must have one).

    Returns:
        Model -> result, in name order.

    Raises:
        ValueError: Preferences against more than one baseline, a preference outside [0, 1], or a question
            without a difficulty.
    """
    if not preferences:
        return {}
    baselines = {p.baseline for p in preferences}
    if len(baselines) != 1:
        raise ValueError(f"preferences must share one baseline, got {sorted(baselines)}")
    if any(not 0.0 <= p.preference <= 1.0 for p in preferences):
        raise ValueError("preference must be in [0, 1] (1 model wins, 0 baseline wins, 0.5 tie)")
    if difficulty is not None:
        missing = sorted({p.question_id for p in preferences} - set(difficulty))
        if missing:
            raise ValueError(f"no instruction difficulty for question(s) {missing[:5]}")
    by_model: dict[str, list[Preference]] = defaultdict(list)
    for p in preferences:
        by_model[p.model].append(p)
    rng = np.random.default_rng(seed)
    out = {}
    for m in sorted(by_model):
        rows = by_model[m]
        x = _lc_design(rows, difficulty)
        y = np.array([p.preference for p in rows])
        c = _choose_c(x, y)
        lr = _l1_fit(x, y, c)
        groups = np.array([p.question_id for p in rows])
        qids = sorted(set(groups.tolist()))
        members = {q: np.flatnonzero(groups == q) for q in qids}
        boot = []
        for _ in range(iters if len(qids) > 1 else 0):
            idx = np.concatenate([members[qids[k]] for k in rng.integers(0, len(qids), len(qids))])
            boot.append(_lc_predict(_l1_fit(x[idx], y[idx], c), x[idx]))
        lo, hi = (float(v) for v in np.percentile(boot, [2.5, 97.5])) if boot else (None, None)
        out[m] = LCWinRate(
            model=m,
            baseline=rows[0].baseline,
            n=len(rows),
            win_rate=float(y.mean()),
            lc_win_rate=_lc_predict(lr, x),
            ci_low=lo,
            ci_high=hi,
            length_coef=-float(lr.coef_[0][0]),  # our orientation: > 0 when the longer answer is preferred
            with_difficulty=difficulty is not None,
        )
    return out
