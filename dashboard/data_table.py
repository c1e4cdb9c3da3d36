"""The leaderboard's first screen as data: models as rows, each benchmark family's headline first (no ``st.*``).

Columns are :class:`Column` s named ``task:metric`` (what the page's metric picker, the URL and
``transeval board RUN --export FILE --metrics ...`` use). The default columns are each task's headline, in the
order of :data:`FAMILIES` (MT-bench score, AlpacaEval win rate and LC, LLM-Eval AVG, safety ``safe_rate``,
knowledge accuracy, perplexity), then every rubric a task was also judged with (``fluency``, a user's
``conciseness``) under its own name. Any other judged metric (aspects, turns, refusal, wrong-language) can be
picked. Every cell keeps its number (for sorting) and a compact text form, ``6.10 ±0.60 (160)``: the half-width
of the 95% interval and the n it was computed on, plus the judge's reliability beside judged numbers (unscored
share, swap inconsistency, empty answers, mixed judges).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
from transeval.core.errors import TransevalError
from transeval.dashboard.data import (
    DEMO_JUDGE_NOTE,
    SAFETY_TASKS,
    Board,
    base_metric,
    fmt,
    is_proportion,
    is_safety_task,
    latest,
    lower_is_better,
    num,
)
from transeval.harness.judging.checks import LOCAL_JUDGES

#: Benchmark families in first-screen order: (label, task-name prefixes, headline label).
FAMILIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("MT-bench", ("thai_mtbench", "mtbench"), "MT-bench score"),
    ("AlpacaEval", ("alpaca_eval",), "AlpacaEval win rate"),
    ("LLM-Eval", ("llm_eval",), "LLM-Eval AVG"),
    ("Safety", SAFETY_TASKS, "safety"),
    ("Knowledge", ("ceval", "mmlu", "agieval", "gaokao", "demo_knowledge", "cmmlu"), "accuracy"),
    ("Perplexity", ("perplexity",), "perplexity"),
)
#: The metric a family's headline label names (another metric of the task keeps its own name).
FAMILY_METRIC = {"MT-bench": "score", "AlpacaEval": "win_rate", "LLM-Eval": "score"}
#: What a metric is called in a column header.
METRIC_LABELS = {"safe_rate": "safe rate", "refusal_rate": "refusal rate (matcher)",
                 "refusal_rate_advbench": "refusal rate (AdvBench rule)",
                 "refusal_agreement": "matcher–judge agreement", "refusal_rate_judge": "refusal rate (judge)",
                 "unsafe_rate": "unsafe rate", "invalid_rate": "invalid rate",
                 "wrong_language_rate": "wrong-language rate", "switching_rate": "switching rate",
                 "win_rate": "win rate", "acc": "accuracy", "acc_norm": "accuracy (norm)"}
LOWER_MARK = " ↓"
#: Suffix of a knowledge suite's average column's metric (``acc (avg)``).
AVG = " (avg)"
#: Judge-free checks stored as judgments (language ID, refusal phrases, AdvBench's prefix rule, their agreement).
LOCAL_CHECKS = frozenset({*LOCAL_JUDGES, "matcher vs judge", "advbench-prefixes"})
NOT_JUDGED_CELL = "not judged"
DEFAULT = "default"
#: Safety metrics shown inside a safety headline cell (the matcher's rates and its agreement with the judge).
SAFETY_COMPANIONS = (("refusal_rate", "matcher"), ("refusal_rate_advbench", "AdvBench rule"),
                     ("refusal_agreement", "agreement"))


@dataclass(frozen=True)
class Column:
    """One leaderboard column: a task's metric.

    Attributes:
        task: lm-eval task (or group) name.
        metric: Metric as the board's rows name it (``score``, ``conciseness``, ``score/turn1``, ``acc``).
        label: The header, with ``↓`` for lower-is-better metrics.
        family: The benchmark family (:data:`FAMILIES`) or ``Other``.
        role: ``headline``, ``lc``, ``rubric``, ``check``, ``part`` or ``other``.
    """

    task: str
    metric: str
    label: str
    family: str
    role: str

    @property
    def key(self) -> str:
        """``task:metric``: how the picker, the URL and ``--metrics`` name the column."""
        return f"{self.task}:{self.metric}"

    @property
    def lower_better(self) -> bool:
        """Whether a lower value is better."""
        return lower_is_better(self.metric)


def family_of(task: str) -> tuple[int, str, str]:
    """(order, family, headline label) of a task by its name; unknown tasks come last as ``Other``."""
    for i, (family, prefixes, label) in enumerate(FAMILIES):
        if task.startswith(prefixes):
            return i, family, label
    return len(FAMILIES), "Other", ""


def metric_label(metric: str) -> str:
    """A metric's name as a header (``score/turn1`` -> ``score turn1``), with ``↓`` when lower is better."""
    base, _, part = metric.partition("/")
    text = METRIC_LABELS.get(base, base) + (f" {part}" if part else "")
    return text + (LOWER_MARK if lower_is_better(metric) else "")


def _label(task: str, metric: str, role: str) -> str:
    _, family, head = family_of(task)
    if role == "headline" and FAMILY_METRIC.get(family) == metric:
        return f"{head} · {task}"
    if role == "lc" and family == "AlpacaEval":
        return f"AlpacaEval LC win rate · {task}"
    return f"{metric_label(metric)} · {task}"


def available(rows: pd.DataFrame) -> list[Column]:
    """Every column the board can show, in display order: headlines by family, then the rest by task."""
    rows = latest(rows)
    seen: dict[tuple[str, str], str] = {}
    for task, metric, role in zip(rows["task"], rows["metric"], rows["role"], strict=True):
        key = (str(task), str(metric))
        if key not in seen or role == "headline":
            seen[key] = str(role)
    rank = {"headline": 0, "lc": 1, "rubric": 2, "check": 3, "part": 4, "other": 5}

    def order(item: tuple[tuple[str, str], str]) -> tuple[int, int, str, int, int, str]:
        (task, metric), role = item
        first = 0 if role in ("headline", "lc") else 10 + rank.get(role, 9)  # LC right after its win rate
        return (first, family_of(task)[0], task, rank.get(role, 9), metric != "safe_rate", metric)

    suites = knowledge_suites(rows)
    members = {t for tasks in suites.values() for t in tasks}
    out = []
    for (task, metric), role in sorted(seen.items(), key=order):
        if role == "headline" and task in members:
            role = "member"  # shown through its suite's average; pickable on its own
        out.append(Column(task, metric, _label(task, metric, role), family_of(task)[1], role))
    for suite, tasks in suites.items():
        metric, header = _suite_metric(rows, tasks)
        avg = Column(suite, f"{metric}{AVG}", f"{header} avg · {suite}", "Knowledge", "suite_avg")
        at = next((i for i, c in enumerate(out) if c.role == "headline" and family_of(c.task)[0] >
                   family_of(tasks[0])[0]), None)
        at = at if at is not None else next((i for i, c in enumerate(out) if c.role not in ("headline", "lc")),
                                            len(out))
        out.insert(at, avg)
    return out


def knowledge_suites(rows: pd.DataFrame) -> dict[str, list[str]]:
    """Suites run as one group without a number of its own (``demo_knowledge``), all knowledge tasks on one metric.

    Returns suite -> member tasks. Their average is one column; the members stay pickable.
    """
    heads = rows[rows["headline"] & (rows["group"].astype(str) != "")]
    out: dict[str, list[str]] = {}
    for suite, grp in heads.groupby("group", sort=True):
        tasks = sorted(set(grp["task"]))
        # one scale: every member's headline is a share of its questions (accuracy, GAOKAO's score rate, ...)
        if len(tasks) > 1 and all(family_of(t)[1] == "Knowledge" for t in tasks) and all(
                is_proportion(str(m)) for m in grp["metric"]):
            out[str(suite)] = tasks
    return out


def _suite_metric(rows: pd.DataFrame, tasks: Sequence[str]) -> tuple[str, str]:
    """(metric, header) of a suite's average: its members' headline metric, or all of them joined by ``/``."""
    heads = rows[rows["headline"] & rows["task"].isin(tasks)]
    metrics = sorted({str(m) for m in heads["metric"]}, key=lambda m: (m != "acc", m)) or ["acc"]
    return "/".join(metrics), " / ".join(metric_label(m) for m in metrics)


def default_keys(columns: Sequence[Column]) -> list[str]:
    """The first screen: every headline (and AlpacaEval's LC win rate), then every rubric's own metric.

    A helpfulness win rate on a harmful-prompt set is left out (pickable, but it is not a number to lead with).
    """
    return [c.key for c in columns if c.role in ("headline", "lc", "suite_avg", "rubric")
            and not (is_safety_task(c.task) and base_metric(c.metric) == "win_rate")]


def resolve(columns: Sequence[Column], wanted: Iterable[str] | None) -> list[Column]:
    """The columns named by ``wanted`` (``task:metric``, a bare metric for every task that has it, or ``default``).

    Raises:
        TransevalError: naming an unknown column and what is available.
    """
    if wanted is None:
        wanted = [DEFAULT]
    by_key = {c.key: c for c in columns}
    chosen: dict[str, Column] = {}
    for raw in wanted:
        name = raw.strip()
        if not name:
            continue
        if name == DEFAULT:
            chosen.update({k: by_key[k] for k in default_keys(columns)})
        elif name in by_key:
            chosen[name] = by_key[name]
        elif any(c.metric == name for c in columns):
            chosen.update({c.key: c for c in columns if c.metric == name})
        elif any(c.task == name and c.role == "headline" for c in columns):
            chosen.update({c.key: c for c in columns if c.task == name and c.role == "headline"})
        else:
            names = sorted({c.metric for c in columns})
            raise TransevalError(f"unknown metric {name!r} (use task:metric, a metric name or 'default'; "
                                 f"metrics here: {', '.join(names)})", field="--metrics")
    order = {c.key: i for i, c in enumerate(columns)}
    keys = list(chosen)
    # the family headlines keep their first-screen order; picked extras follow in the order given
    heads = sorted([k for k in keys if chosen[k].role in ("headline", "lc", "suite_avg")], key=lambda k: order[k])
    return [chosen[k] for k in heads] + [chosen[k] for k in keys if k not in heads]


def half_width(low: object, high: object, metric: str) -> str:
    """``±x`` of a 95% interval in the metric's display unit (percentage points for proportions), or ""."""
    lo, hi = num(low), num(high)
    if lo is None or hi is None:
        return ""
    half = (hi - lo) / 2 * (100 if is_proportion(metric) else 1)
    return f"±{half:.1f}" if is_proportion(metric) else f"±{half:.2f}"


def n_text(n_scored: object, n_total: object) -> str:
    """``(160)`` when every item was scored, ``(150/160)`` when some were not."""
    s, t = num(n_scored), num(n_total)
    if s is None:
        return ""
    if t is not None and t != s:
        return f"({s:.0f}/{t:.0f})"
    return f"({s:.0f})"


def reliability(row: pd.Series | dict) -> list[str]:
    """The judge's reliability notes for one number: unscored share, swap inconsistency, empty answers, mixed."""
    out = []
    unscored = num(row.get("unscored_share"))
    if unscored:
        out.append(f"{100 * unscored:.0f}% unscored")
    swap = num(row.get("swap_inconsistency"))
    if swap is not None:
        out.append(f"swap {100 * swap:.0f}%")
    empty = num(row.get("n_empty"))
    if empty:
        out.append(f"{empty:.0f} empty")
    if bool(row.get("mixed")) and not (isinstance(row.get("mixed"), float) and math.isnan(row["mixed"])):
        out.append("mixed judges")
    if "gemma-3-270m" in str(row.get("judge", "")):
        out.append("demo judge")
    return out


def detail(row: pd.Series | dict, metric: str, extra: Sequence[str] = ()) -> str:
    """Everything beside a number: ``±0.60 (160)`` and the reliability notes (``· 5% unscored · swap 8%``)."""
    head = " ".join(x for x in (half_width(row.get("ci_low"), row.get("ci_high"), metric),
                                n_text(row.get("n_scored"), row.get("n_total"))) if x)
    notes = [*reliability(row), *extra] if _is_judged(row) else list(extra)
    if bool(row.get("partial")):
        notes.append("partial")
    return " · ".join(x for x in [head, *notes] if x)


def _is_judged(row: pd.Series | dict) -> bool:
    return bool(str(row.get("judge") or ""))


def _companions(rows: pd.DataFrame, model: str, task: str, own: str) -> list[str]:
    mine = rows[(rows["model"] == model) & (rows["task"] == task)]
    by_metric = {str(m): v for m, v in zip(mine["metric"], mine["score"], strict=True)}
    out = []
    for metric, label in SAFETY_COMPANIONS:
        if metric == own:
            continue
        v = num(by_metric.get(metric))
        if v is not None:
            out.append(f"{label} {fmt(v, metric)}")
    return out


def _suite_average(grp: pd.DataFrame, col: Column, suites: dict[str, list[str]]) -> tuple[float | None, str, str]:
    """(value, detail, cell) of a knowledge suite's average for one model: the mean over its complete members."""
    tasks = suites.get(col.task, [])
    metric = col.metric.removesuffix(AVG)
    mine = grp[grp["task"].isin(tasks) & grp["headline"]]  # each member's headline (accuracy, score rate, ...)
    scored = mine[[num(v) is not None for v in mine["score"]]]
    if scored.empty:
        return None, "–", "–"
    value = float(sum(float(x) for x in scored["score"]) / len(scored))
    n = sum(int(num(x) or 0) for x in scored["n_total"])
    detail = f"mean of {len(scored)}/{len(tasks)} tasks ({n} questions)"
    if scored["partial"].astype(bool).any():  # a --limit run: said here as on every other cell
        detail += " · partial"
    return value, detail, f"{fmt(value, metric)} {detail}"


def _short_status(status: str) -> str:
    """A cell's text when it has no number (the caveats under the table give the whole reason)."""
    if status == "ok":
        return "no score (every item unscored)"
    if status.startswith("not judged (scored only with: "):
        return f"{NOT_JUDGED_CELL} (judged only with {status.split(': ', 1)[1]}"
    return NOT_JUDGED_CELL if status.startswith("not judged") else status


@dataclass(frozen=True)
class LeaderTable:
    """The leaderboard: ``values`` (numbers, for sorting), ``details`` and ``cells`` (text), same rows/columns.

    Attributes:
        columns: The columns shown, in order.
        values: model, alias, then one float column per :attr:`Column.label` (None where there is no number).
        details: model, alias, then per column the text beside the number (``±0.60 (160) · 5% unscored``) or why
            there is no number (``not judged``).
        cells: model, alias, then per column the whole cell as text (``6.10 ±0.60 (160)``) for exports.
        caveats: What the page says above the table and every export repeats.
    """

    columns: tuple[Column, ...]
    values: pd.DataFrame
    details: pd.DataFrame
    cells: pd.DataFrame
    caveats: tuple[str, ...]


def leader_table(board: Board, wanted: Iterable[str] | None = None, models: Sequence[str] | None = None
                 ) -> LeaderTable:
    """The leaderboard of ``board`` with the columns ``wanted`` (see :func:`resolve`), best first.

    Rows are sorted by the first column (descending, ascending when lower is better; no number last).

    Raises:
        TransevalError: for an unknown column name.
    """
    rows = latest(board.rows)
    if models:
        rows = rows[rows["model"].isin(models)]
    columns = resolve(available(rows), wanted) if not rows.empty else []
    suites = knowledge_suites(rows) if not rows.empty else {}
    values, details, cells = [], [], []
    for model, grp in rows.groupby("model", sort=False):
        alias = str(grp["alias"].iloc[0])
        v: dict[str, object] = {"model": model, "alias": alias}
        d: dict[str, object] = {"model": model, "alias": alias}
        c: dict[str, object] = {"model": model, "alias": alias}
        for col in columns:
            if col.role == "suite_avg":
                v[col.label], d[col.label], c[col.label] = _suite_average(grp, col, suites)
                continue
            hit = grp[(grp["task"] == col.task) & (grp["metric"] == col.metric)]
            if hit.empty:
                task_rows = grp[grp["task"] == col.task]
                judged_task = (task_rows["judge"].astype(str) != "").any() or \
                    task_rows["status"].astype(str).str.startswith("not judged").any()
                v[col.label], d[col.label] = None, (NOT_JUDGED_CELL if judged_task else "–")
                c[col.label] = d[col.label]
                continue
            r = hit.iloc[0]
            value = num(r["score"])
            v[col.label] = value
            if value is None:
                d[col.label] = _short_status(str(r["status"]))
                c[col.label] = d[col.label]
                continue
            safety_head = col.family == "Safety" and col.role == "headline"
            extra = _companions(rows, str(model), col.task, col.metric) if safety_head else []
            d[col.label] = detail(r, col.metric, extra)
            c[col.label] = f"{fmt(value, col.metric)} {d[col.label]}".strip()
        values.append(v)
        details.append(d)
        cells.append(c)
    head = ["model", "alias"]
    labels = [c.label for c in columns]
    val = pd.DataFrame(values, columns=head + labels)
    det = pd.DataFrame(details, columns=head + labels)
    cel = pd.DataFrame(cells, columns=head + labels)
    if columns and not val.empty:
        first = columns[0]
        order = val[first.label].astype(float).sort_values(ascending=first.lower_better, na_position="last").index
        val, det, cel = (x.loc[order].reset_index(drop=True) for x in (val, det, cel))
    return LeaderTable(tuple(columns), val, det, cel, tuple(caveats(rows, columns)))


def caveats(rows: pd.DataFrame, columns: Sequence[Column]) -> list[str]:
    """What a reader must know about the numbers shown (the page and every export say the same)."""
    out = []
    suites = knowledge_suites(rows) if not rows.empty else {}
    members = {t for c in columns if c.role == "suite_avg" for t in suites.get(c.task, [])}
    tasks = {c.task for c in columns} | members
    shown = rows[rows["task"].isin(tasks)]
    metrics = {(c.task, c.metric) for c in columns}
    cells = shown[pd.Series([(t, m) in metrics or (t in members and bool(h)) for t, m, h in zip(
        shown["task"], shown["metric"], shown["headline"], strict=True)], index=shown.index, dtype=bool)]
    demo = sorted({str(t) for t, j in zip(cells["task"], cells["judge"], strict=True) if "gemma-3-270m" in str(j)})
    if demo:
        out.append(f"DEMO JUDGE: {DEMO_JUDGE_NOTE}; its numbers ({', '.join(demo)}) say nothing about quality.")
    judged = cells[cells["judge"].astype(str) != ""]
    for (task, metric), grp in judged.groupby(["task", "metric"], sort=True):
        judges = sorted({str(j) for j in grp["judge"]})
        if len(judges) > 1:
            out.append(f"MIXED JUDGES on {task} {metric}: {', '.join(judges)} — not comparable across models.")
    within = judged[judged["mixed"].astype(bool)]
    if not within.empty:
        out.append("Mixed judges within a number (several judge models or endpoints merged): " + ", ".join(
            sorted({f"{a} {t} {m}" for a, t, m in zip(within["alias"], within["task"], within["metric"],
                                                      strict=True)})) + ".")
    partial = cells[cells["partial"].astype(bool)]
    if not partial.empty:
        out.append("PARTIAL runs (limited with --limit, not the whole benchmark): " + ", ".join(
            sorted({f"{a} on {t}" for a, t in zip(partial["alias"], partial["task"], strict=True)}))
            + ".")
    not_judged = cells[cells["score"].isna() & (cells["status"].astype(str) != "ok")]
    if not not_judged.empty:
        out.append("Not judged: " + "; ".join(sorted({f"{a} · {t}: {s}" for a, t, s in zip(
            not_judged["alias"], not_judged["task"], not_judged["status"], strict=True)})) + ".")
    judges = []
    for (task, metric), grp in judged[~judged["judge"].isin(LOCAL_CHECKS)].groupby(["task", "metric"], sort=True):
        by_judge: dict[str, set[str]] = {}
        for j, a in zip(grp["judge"], grp["alias"], strict=True):
            by_judge.setdefault(str(j), set()).add(str(a))
        everyone = set(rows[rows["task"] == task]["alias"].astype(str))
        judges.append(f"{task} {metric}: " + "; ".join(
            f"{j} ({'all ' + str(len(a)) + ' models' if a == everyone and len(a) > 3 else ', '.join(sorted(a))})"
            for j, a in sorted(by_judge.items())))
    if judges:
        out.append("Judges — " + " | ".join(judges) + ".")
    lower = sorted({c.label for c in columns if c.lower_better})
    if lower:
        out.append(f"↓ lower is better: {', '.join(lower)}.")
    out.append("Cells: value ±half-width of the 95% CI (bootstrap over questions for judge scores, Wilson for "
               "proportions, shown in %) and (n) = items scored, (scored/total) when some were not; unscored = "
               "share the judge gave no score; swap = share of pairs whose verdict flips with answer order; "
               "empty = empty answers; 'not judged' = the benchmark's own judge never scored it (a rubric's "
               "metric is shown only under its own name).")
    return out


def metric_names(columns: Sequence[Column]) -> list[str]:
    """The distinct metric names of ``columns`` (for help texts)."""
    return sorted({base_metric(c.metric) for c in columns})
