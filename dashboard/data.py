"""Pure data functions of the leaderboard: a runs folder -> a :class:`Board` of DataFrames. No ``st.*`` here.

Loading never stops at a bad file: a results file that is not UTF-8 or not JSON, a broken scores or samples
file, or a task with nothing the board can show becomes a :class:`Problem` naming the file, and every other
run still shows.

Intervals: proportions (accuracy, refusal and win rates) get the Wilson score interval (Wilson 1927,
"Probable inference, the law of succession, and statistical inference", JASA 22:209), which stays inside
[0, 1] and does not collapse to a point at 0/n or n/n; judge scores keep the cluster bootstrap interval the
judge step stored (:mod:`transeval.harness.stats.estimates`).
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from transeval.core.errors import TransevalError
from transeval.core.jsonl import read_jsonl
from transeval.core.records import LOWER_IS_BETTER, SAFETY_METRICS, TaskScores
from transeval.harness.judging.store import Run, read_scores, scan_runs
from transeval.harness.stats.estimates import wilson

__all__ = ["Board", "Problem", "Run", "find_runs", "leaderboard", "load_board", "wide"]

#: The headline metric of a task lm-eval scores itself, in order of preference (else its first metric).
PREFERRED_METRICS = ("score_rate", "acc", "exact_match", "refusal_rate", "word_perplexity", "byte_perplexity")
#: Metrics that are proportions of n samples (Wilson interval, shown as percentages).
PROPORTIONS = {"acc", "acc_norm", "exact_match", "score_rate", "refusal_rate", "refusal_rate_judge",
               "wrong_language_rate", "switching_rate", "win_rate", "scoring rate (judge, points)",
               "score_rate (points)", "unscored_share", "swap_inconsistency", *SAFETY_METRICS}
POINTS_JUDGED = "scoring rate (judge, points)"
NOT_JUDGED = "not judged yet — `transeval judge RUN`"
#: A benchmark family's headline when its task was judged with it (else the task's own metric): AlpacaEval's is
#: the win rate against its baseline, a safety set's the judge's safe rate.
HEADLINE_PREFERENCE = (("alpaca_eval", ("win_rate",)), ("advbench", ("safe_rate",)), ("multijail", ("safe_rate",)))
#: Harmful-prompt sets (task-name prefixes).
SAFETY_TASKS = ("advbench", "multijail")
#: Judge-free checks and the safety family's companions of a judged task (not its headline, not a rubric of its own).
CHECK_METRICS = frozenset({"wrong_language_rate", "switching_rate", *SAFETY_METRICS})
DEMO_JUDGE_NOTE = "demo judge (gemma-3-270m): checks the pipeline, not quality"
ROW_COLUMNS = [
    "model", "alias", "task", "suite", "language", "metric", "headline", "score", "ci_low", "ci_high", "n_scored",
    "n_total", "judge", "rubric", "status", "partial", "chance", "date", "run", "kind", "role", "unscored_share",
    "swap_inconsistency", "n_empty", "mixed", "judges", "group",
]
#: Language of a task when its documents do not say (prefix match on the task name).
TASK_LANGUAGES = (("thai_", "Thai"), ("mtbench_en", "English"), ("alpaca_eval_th", "Thai"), ("ceval", "Chinese"),
                  ("gaokao", "Chinese"), ("agieval", "Chinese"), ("llm_eval", "Chinese"), ("advbench", "English"),
                  ("perplexity_zh", "Chinese"), ("perplexity_en", "English"), ("mmlu", "English"))
_SKIP_SUFFIXES = ("_stderr", "_ci_low", "_ci_high", "_n_scored", "_n_total", "_wins", "_ties", "_losses")
_SKIP_METRICS = {"n_scored", "n_total", "points", "max_points", "alias"}


@dataclass(frozen=True)
class Problem:
    """A file the board could not use, and why (shown on the page as text)."""

    file: str
    message: str


@dataclass(frozen=True)
class Board:
    """Everything the pages show, loaded once per change of the runs folder.

    Attributes:
        root: The runs folder (fixed when the board starts).
        runs: The readable runs, newest first.
        rows: One row per (run, task, metric); columns :data:`ROW_COLUMNS`.
        problems: Files that could not be used.
        comparisons: Pairwise comparisons between runs, one row per (A, B, task).
    """

    root: Path
    runs: tuple[Run, ...]
    rows: pd.DataFrame
    problems: tuple[Problem, ...]
    comparisons: pd.DataFrame


def num(value: Any) -> float | None:
    """A finite float, or None (strings, booleans, NaN and infinities are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or type(value).__name__ == "bool_":
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def base_metric(metric: str) -> str:
    """A metric's own name: ``score/turn1`` -> ``score``, ``acc (none)`` -> ``acc``."""
    return metric.split("/")[0].split(" ")[0]


def is_proportion(metric: str) -> bool:
    """Whether a metric is a share of samples (``score/turn1`` style sub-metrics use their base name)."""
    return metric.split("/")[0] in PROPORTIONS or base_metric(metric) in PROPORTIONS


def lower_is_better(metric: str) -> bool:
    """Whether a lower value is better (:data:`transeval.core.records.LOWER_IS_BETTER`, the one list)."""
    base = base_metric(metric)
    return base in LOWER_IS_BETTER or "perplexity" in base or base == "bits_per_byte"


def fmt(value: Any, metric: str = "") -> str:
    """One rounding rule for the whole board: proportions as percentages with 1 decimal, the rest 2 decimals."""
    v = num(value)
    if v is None:
        return "–"
    return f"{100 * v:.1f}%" if is_proportion(metric) else f"{v:.2f}"


def fmt_ci(low: Any, high: Any, metric: str = "") -> str:
    """``[low, high]`` with :func:`fmt`, or ``–`` when there is no interval."""
    if num(low) is None or num(high) is None:
        return "–"
    return f"[{fmt(low, metric)}, {fmt(high, metric)}]"


def model_name(run: Run) -> str:
    """The model's full name or path: ``pretrained=``/``model=`` of lm-eval's model_args, else as recorded."""
    config = run.results.get("config") or {}
    args = config.get("model_args")
    if isinstance(args, dict):
        args = ",".join(f"{k}={v}" for k, v in args.items())
    if isinstance(args, str) and "=" in args:
        parts = dict(p.split("=", 1) for p in args.split(",") if "=" in p)
        for key in ("pretrained", "model", "path", "engine"):
            if parts.get(key):
                return str(parts[key])
    return run.model


def aliases(names: Iterable[str]) -> dict[str, str]:
    """A short, unambiguous display alias per full model name: the shortest unique tail of its path.

    ``/x/recipe1/stage3/merged`` and ``/x/recipe2/stage3/merged`` become ``recipe1/stage3/merged`` and
    ``recipe2/stage3/merged``; ``org-a/m`` and ``org-b/m`` stay apart.
    """
    names = sorted(set(names))
    parts = {n: [p for p in n.rstrip("/").split("/") if p] or [n] for n in names}
    out: dict[str, str] = {}
    for n in names:
        for k in range(1, len(parts[n]) + 1):
            tail = "/".join(parts[n][-k:])
            if all("/".join(parts[o][-k:]) != tail for o in names if o != n):
                out[n] = tail
                break
        else:
            out[n] = n
    return out


def _problem(root: Path, exc: Exception, fallback: Path) -> Problem:
    """A :class:`Problem` with the file shown relative to the runs folder (no server paths)."""
    file = Path(getattr(exc, "file", None) or fallback)
    try:
        shown = str(file.resolve().relative_to(root.resolve()))
    except ValueError:
        shown = file.name
    message = str(exc)
    if isinstance(exc, TransevalError):
        if exc.file or exc.field:  # drop the "file:line field 'x': " prefix; the file is shown on its own
            message = message.split(": ", 1)[-1]
        message += f" (line {exc.line})" if exc.line else ""
        message += f" (field {exc.field})" if exc.field else ""
    return Problem(shown, message)


def scan(root: Path) -> tuple[list[Run], list[Problem]]:
    """Every readable lm-eval run under ``root`` (newest first) and a problem for every unreadable one."""
    if not root.is_dir():
        return [], [Problem(root.name or str(root), "no such folder")]
    runs, found = scan_runs(root)  # comparisons/ holds judgments and scores only: no results_*.json
    return runs, [_problem(root, p.error, p.path) for p in found]


def find_runs(root: Path) -> list[Run]:
    """The readable runs under ``root``, newest first (unreadable results files are skipped; see :func:`scan`)."""
    return scan(root)[0]


def children(run: Run) -> dict[str, list[str]]:
    """Group -> member task/group names, as lm-eval recorded them."""
    groups = run.results.get("group_subtasks") or {}
    return {str(k): [str(x) for x in v] for k, v in groups.items() if isinstance(v, list)}


def leaf_tasks(run: Run, name: str) -> list[str]:
    """All leaf tasks under a task or group."""
    kids = children(run).get(name)
    if not kids:
        return [name]
    return [leaf for k in kids for leaf in leaf_tasks(run, k)]


def _has_numbers(run: Run, name: str) -> bool:
    res = (run.results.get("results") or {}).get(name) or {}
    return isinstance(res, dict) and any(num(v) is not None for k, v in res.items() if "," in k)


def top_level(run: Run) -> list[tuple[str, str]]:
    """(suite, task) rows of a run: tasks and groups not inside another group.

    A group without numbers of its own (a paper suite such as ``llama_beyond_english``, which mixes accuracy and
    perplexity) is expanded to its members, which carry the suite's name.
    """
    kids = children(run)
    nested = {c for members in kids.values() for c in members}
    results = run.results.get("results") or {}
    names = list(results.keys()) or list(run.tasks)

    def expand(name: str, suite: str) -> list[tuple[str, str]]:
        if name in kids and not _has_numbers(run, name) and not run.scores_path(name).exists():
            return [x for k in kids[name] for x in expand(k, suite or name)]
        return [(suite, name)]

    return [x for t in names if t not in nested for x in expand(t, "")]


@lru_cache(maxsize=4096)
def _first_doc(path: Path, mtime: int) -> dict[str, Any]:
    """The ``doc`` of the first sample line of a samples file ({} when missing or unreadable)."""
    try:
        with path.open("rb") as fh:
            line = fh.readline()
        rec = json.loads(line.decode("utf-8"))
    except (OSError, ValueError):
        return {}
    doc = rec.get("doc") if isinstance(rec, dict) else None
    return doc if isinstance(doc, dict) else {}


def first_doc(run: Run, task: str) -> dict[str, Any]:
    """The first logged document of a task (cached per file version)."""
    path = run.samples_path(task)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _first_doc(path, mtime)


def is_judged_task(run: Run, task: str) -> bool:
    """Whether a task's documents are judged conversations (or it already has a scores file)."""
    if run.scores_path(task).exists():
        return True
    doc = first_doc(run, task)
    return "judge" in doc and "turns" in doc and "question_id" in doc


def task_language(run: Run, task: str) -> str:
    """The language a task's answers must be in: its documents' ``language``, else by its name."""
    lang = first_doc(run, task).get("language")
    if isinstance(lang, str) and lang.strip():
        return lang.strip()
    for prefix, language in TASK_LANGUAGES:
        if task.startswith(prefix):
            return language
    for suffix, language in (("_th", "Thai"), ("_zh", "Chinese"), ("_en", "English")):
        if task.endswith(suffix):
            return language
    return "?"


def chance_level(run: Run, name: str) -> float | None:
    """Expected accuracy of random guessing for multiple-choice tasks (size-weighted over a group's leaves)."""
    configs = run.results.get("configs") or {}
    n_samples = run.results.get("n-samples") or {}
    total, weight = 0.0, 0
    for leaf in leaf_tasks(run, name):
        cfg = configs.get(leaf) or {}
        if cfg.get("output_type") != "multiple_choice":
            return None
        choices = cfg.get("doc_to_choice")
        if not isinstance(choices, list) or not choices:
            return None
        n = int((n_samples.get(leaf) or {}).get("effective") or 1)
        total, weight = total + n / len(choices), weight + n
    return total / weight if weight else None


def _n_effective(run: Run, task: str) -> int | None:
    n_samples = run.results.get("n-samples") or {}
    n = sum(int((n_samples.get(leaf) or {}).get("effective") or 0) for leaf in leaf_tasks(run, task))
    return n or None


def is_partial(run: Run) -> bool:
    """A run limited with ``--limit`` (or that evaluated fewer documents than the task has)."""
    config = run.results.get("config") or {}
    if config.get("limit") not in (None, 0, "", "None"):
        return True
    n_samples = run.results.get("n-samples") or {}
    return any(isinstance(v, dict) and num(v.get("effective")) is not None and num(v.get("original")) is not None
               and v["effective"] < v["original"] for v in n_samples.values())


def lm_eval_metrics(run: Run, task: str) -> list[dict[str, Any]]:
    """Every numeric metric lm-eval recorded for a task, with a 95% interval and n (headline first)."""
    res = (run.results.get("results") or {}).get(task) or {}
    if not isinstance(res, dict):
        return []
    keys = [k for k, v in res.items() if "," in k and num(v) is not None
            and not k.split(",")[0].endswith(_SKIP_SUFFIXES) and k.split(",")[0] not in _SKIP_METRICS
            and not k.startswith("bypass")]
    if not keys:
        return []
    head = next((k for m in PREFERRED_METRICS for k in keys if k.split(",")[0] == m), keys[0])
    n = _n_effective(run, task)
    rows = []
    results = run.results.get("results") or {}
    leaves = leaf_tasks(run, task)
    points = [(num((results.get(x) or {}).get("points,none")), num((results.get(x) or {}).get("max_points,none")))
              for x in leaves]
    if len(leaves) > 1 and all(p is not None and m for p, m in points):
        # GAOKAO-Bench's total scoring rate: points over points possible, summed over its files.
        rate = sum(p or 0.0 for p, _ in points) / sum(m or 0.0 for _, m in points)
        rows.append({"metric": "score_rate (points)", "score": rate, "ci_low": None, "ci_high": None,
                     "n_scored": n, "n_total": n, "headline": True})
        head = ""
    for key in [*([head] if head else []), *[k for k in keys if k != head]]:
        metric, flt = key.split(",", 1)
        v = float(res[key])
        lo, hi = num(res.get(f"{metric}_ci_low,{flt}")), num(res.get(f"{metric}_ci_high,{flt}"))
        se = num(res.get(f"{metric}_stderr,{flt}"))
        n_metric = n
        if lo is None and metric in PROPORTIONS and n and 0.0 <= v <= 1.0:
            est = wilson(v * n, n)
            lo, hi = est.ci_low, est.ci_high
        elif lo is None and se is not None:
            lo, hi = v - 1.96 * se, v + 1.96 * se
        rows.append({"metric": metric if flt == "none" else f"{metric} ({flt})", "score": v, "ci_low": lo,
                     "ci_high": hi, "n_scored": n_metric, "n_total": n_metric, "headline": key == head})
    return rows


@dataclass(frozen=True)
class JudgeInfo:
    """Who judged one metric of a task: rubric labels, judge models and endpoints (from its judgments file)."""

    rubrics: tuple[str, ...] = ()
    judges: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()


def judge_info(run: Run, task: str, scores: TaskScores) -> JudgeInfo:
    """The rubrics, judge models and endpoints behind a judged number (its judgments, else its scores file)."""
    path = run.judgments_path(task)
    info = JudgeInfo()
    if path.exists():
        info = _judge_info(path, path.stat().st_mtime_ns, scores.metric)
    return JudgeInfo(info.rubrics or tuple(scores.rubrics), info.judges or (scores.judge_model,),
                     tuple(dict.fromkeys([*info.endpoints, *scores.endpoints])))


@lru_cache(maxsize=4096)
def _judge_info(path: Path, mtime: int, metric: str) -> JudgeInfo:
    rubrics: dict[str, None] = {}
    judges: dict[str, None] = {}
    endpoints: dict[str, None] = {}
    try:
        with path.open("rb") as fh:
            for raw in fh:
                try:
                    rec = json.loads(raw.decode("utf-8"))
                except ValueError:
                    continue
                if not isinstance(rec, dict) or rec.get("metric", "score") != metric:
                    continue
                if rec.get("rubric"):
                    rubrics[f"{rec['rubric']} v{rec.get('rubric_version', '?')}"] = None
                if rec.get("judge_model") and rec.get("score") is not None:
                    judges[str(rec["judge_model"])] = None
                if rec.get("endpoint") and rec.get("score") is not None:
                    endpoints[str(rec["endpoint"])] = None
    except OSError:
        return JudgeInfo()
    return JudgeInfo(tuple(rubrics), tuple(judges), tuple(endpoints))


def own_metric(run: Run, task: str) -> str:
    """The metric a judged task's own rubric reports under (its documents' ``judge.metric``, default ``score``)."""
    spec = first_doc(run, task).get("judge")
    if isinstance(spec, str):  # the task loaders store the spec as JSON text
        try:
            spec = json.loads(spec)
        except ValueError:
            spec = None
    metric = spec.get("metric") if isinstance(spec, dict) else None
    return str(metric) if isinstance(metric, str) and metric else "score"


def _role(metric: str, head: str) -> str:
    if metric == head:
        return "headline"
    if metric in CHECK_METRICS or metric.endswith("_language_penalized"):
        return "check"
    return "rubric"


def judged_metrics(run: Run, task: str, scores: dict[str, TaskScores]) -> list[dict[str, Any]]:
    """Rows for every metric of a judged task, its turns and aspects.

    The headline is the task's own metric (``score`` for MT-bench and LLM-Eval; ``safe_rate`` for a safety task
    that has it). A metric of another rubric (a user's ``conciseness``) is a row under its own name, never the
    task's headline: when the task's own metric was never judged, the headline row says so (score None).
    """
    rows = []
    own = own_metric(run, task)
    preferred = next((m for prefix, metrics in HEADLINE_PREFERENCE if task.startswith(prefix) for m in metrics
                      if m in scores), None)
    head = preferred or own
    judgments = _turn_counts(run.judgments_path(task))
    for metric, s in scores.items():
        info = judge_info(run, task, s)
        judge = s.judge_model + (f" (served {', '.join(s.served_models)})" if s.served_models
                                 and tuple(s.served_models) != (s.judge_model,) else "")
        if len(info.judges) > 1:
            judge = ", ".join(info.judges)
        base = {"judge": judge, "rubric": ", ".join(info.rubrics), "judges": info.judges,
                "mixed": len(info.judges) > 1 or len(info.endpoints) > 1, "n_empty": s.n_empty,
                "swap_inconsistency": s.swap_inconsistency,
                "unscored_share": (s.n_total - s.n_scored) / s.n_total if s.n_total else None}
        score, lo, hi = s.overall.mean, s.overall.ci_low, s.overall.ci_high
        name = metric
        if s.max_points:  # graded on each question's own points (GAOKAO-Bench): the benchmark's scoring rate
            score, lo, hi = (s.points or 0.0) / s.max_points, None, None
            name = POINTS_JUDGED if metric == "score" else f"{metric} ({POINTS_JUDGED})"
        rows.append({**base, "metric": name, "score": score, "ci_low": lo, "ci_high": hi, "n_scored": s.n_scored,
                     "n_total": s.n_total, "headline": metric == head, "role": _role(metric, head)})
        for part, est in s.per_turn.items():
            total = judgments.get((metric, part), s.n_total)
            rows.append({**base, "metric": f"{metric}/{part}", "score": est.mean, "ci_low": est.ci_low,
                         "ci_high": est.ci_high, "n_scored": _n_of(est.n, total), "n_total": total,
                         "unscored_share": (total - _n_of(est.n, total)) / total if total else None,
                         "headline": False, "role": "part"})
        for part, est in s.aspects.items():
            rows.append({**base, "metric": f"{metric}/{part}", "score": est.mean, "ci_low": est.ci_low,
                         "ci_high": est.ci_high, "n_scored": s.n_scored, "n_total": s.n_total,
                         "headline": False, "role": "part"})
        if s.pairwise is not None and s.pairwise.lc_win_rate is not None:
            rows.append({**base, "metric": f"{metric}/LC", "score": s.pairwise.lc_win_rate, "ci_low": None,
                         "ci_high": None, "n_scored": s.n_scored, "n_total": s.n_total, "headline": False,
                         "role": "lc"})
    if head not in scores and scores:
        others = ", ".join(m for m in scores if m not in CHECK_METRICS) or ", ".join(scores)
        rows.insert(0, {"metric": head, "score": None, "ci_low": None, "ci_high": None, "n_scored": 0,
                        "n_total": None, "headline": True, "role": "headline", "judge": "", "rubric": "",
                        "status": f"not judged (scored only with: {others})"})
    return rows


def _n_of(est_n: int, total: int) -> int:
    return min(est_n, total) if total else est_n


@lru_cache(maxsize=256)
def _turn_counts_at(path: Path, mtime: int) -> dict[tuple[str, str], int]:
    from transeval.harness.judging.store import merge_judgments, read_judgments

    try:
        judgments = merge_judgments(read_judgments(path))
    except (TransevalError, OSError, ValueError):
        return {}
    return dict(Counter((j.metric, f"turn{j.turn + 1}") for j in judgments))


def _turn_counts(path: Path) -> dict[tuple[str, str], int]:
    """(metric, ``turnN``) -> judgments of that turn (scored or not): a turn's own n_total."""
    try:
        return _turn_counts_at(path, path.stat().st_mtime_ns)
    except OSError:
        return {}


#: Members the suite YAMLs announce in their comments but cannot list yet (they join "as they land").
ANNOUNCED_MEMBERS = {"alpaca_eval_th": "transllm_th", "advbench": "transllm_th", "llm_eval": "llama_beyond_english"}


@lru_cache(maxsize=1)
def suite_members() -> dict[str, str]:
    """Task or group name -> the paper suite (``tasks/suites/*.yaml``) it belongs to."""
    from transeval.core.paths import tasks_dir

    out = dict(ANNOUNCED_MEMBERS)
    for path in sorted(tasks_dir().glob("suites/*.yaml")):
        text = path.read_text(encoding="utf-8")
        suite = re.search(r"^group: *(\S+)", text, re.M)
        if suite is None or suite.group(1).endswith(("_offline", "demo_knowledge")):
            continue
        for m in re.finditer(r"^ {2}- (?:group: |task: )?([A-Za-z0-9_.-]+) *$", text, re.M):
            out.setdefault(m.group(1), suite.group(1))
    return out


def suite_of(task: str, recorded: str) -> str:
    """The suite a task is shown under: the group the run recorded, else the paper suite it belongs to."""
    if recorded:
        return recorded
    members = suite_members()
    if task in members:
        return members[task]
    return next((s for t, s in members.items() if task.startswith(t + "-") or task.startswith(t + "_")), "(other)")


def _task_rows(root: Path, run: Run, suite: str, task: str) -> tuple[list[dict[str, Any]], list[Problem]]:
    base = {"model": model_name(run), "task": task, "suite": suite_of(task, suite),
            "language": task_language(run, task), "date": run.date_id, "run": str(run.results_path),
            "partial": is_partial(run), "chance": chance_level(run, task), "kind": "computed", "judge": "",
            "rubric": "", "status": "ok", "role": "other", "unscored_share": None, "swap_inconsistency": None,
            "n_empty": 0, "mixed": False, "judges": (), "group": suite}
    if run.scores_path(task).exists():
        try:
            scores = read_scores(run.scores_path(task))
        except (TransevalError, OSError, UnicodeDecodeError, ValueError) as exc:
            return [], [_problem(root, exc, run.scores_path(task))]
        rows = judged_metrics(run, task, scores)
        if rows:
            return [{**base, **r} for r in rows], []
    if is_judged_task(run, task):
        return [{**base, "metric": own_metric(run, task), "headline": True, "score": None, "status": NOT_JUDGED,
                 "n_total": _n_effective(run, task), "role": "headline"}], []
    rows = lm_eval_metrics(run, task)
    if rows:
        return [{**base, **r, "role": "headline" if r["headline"] else "other"} for r in rows], []
    return [], [_problem(root, TransevalError(f"task '{task}' has no numbers the board can show (unknown task?)"),
                         run.results_path)]


def comparisons(root: Path) -> tuple[pd.DataFrame, list[Problem]]:
    """Pairwise comparisons between runs: ``comparisons/<A>__vs__<B>/scores_<task>_pairwise.json``."""
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    folder = root / "comparisons"
    for path in sorted(folder.glob("*__vs__*/scores_*_pairwise.json")) if folder.is_dir() else []:
        a, _, b = path.parent.name.partition("__vs__")
        task = path.name[len("scores_"):-len("_pairwise.json")]
        try:
            scores = read_scores(path)
        except (TransevalError, OSError, UnicodeDecodeError, ValueError) as exc:
            problems.append(_problem(root, exc, path))
            continue
        for metric, s in scores.items():
            pw = s.pairwise
            rows.append({"model_a": a, "model_b": b, "task": task, "metric": metric, "win_rate": s.overall.mean,
                         "ci_low": s.overall.ci_low, "ci_high": s.overall.ci_high,
                         "wins": pw.wins if pw else None, "ties": pw.ties if pw else None,
                         "losses": pw.losses if pw else None, "lc_win_rate": pw.lc_win_rate if pw else None,
                         "n_scored": s.n_scored, "n_total": s.n_total, "judge": s.judge_model,
                         "swap_inconsistency": s.swap_inconsistency, "n_empty": s.n_empty,
                         "folder": str(path.parent)})
    cols = ["model_a", "model_b", "task", "metric", "win_rate", "ci_low", "ci_high", "wins", "ties", "losses",
            "lc_win_rate", "n_scored", "n_total", "judge", "swap_inconsistency", "n_empty", "folder"]
    return pd.DataFrame(rows, columns=cols), problems


def is_safety_task(task: str) -> bool:
    """Whether a task is a harmful-prompt set (AdvBench, MultiJail): a helpfulness win rate means nothing there."""
    return task.startswith(SAFETY_TASKS)


def win_rate_rows(comp: pd.DataFrame) -> pd.DataFrame:
    """Comparison rows that are win rates.

    Pairwise metrics only (not the language or refusal checks that the comparison folder also holds), and no
    helpfulness win rate on a harmful-prompt set.
    """
    if comp.empty:
        return comp
    keep = comp["wins"].notna() & ~(comp["task"].map(is_safety_task) & (comp["metric"] == "win_rate"))
    return comp[keep].reset_index(drop=True)


def load_board(root: Path) -> Board:
    """Read a runs folder into a :class:`Board` (never raises for a bad file; see :attr:`Board.problems`)."""
    runs, problems = scan(root)
    rows: list[dict[str, Any]] = []
    for run in runs:
        for suite, task in top_level(run):
            try:
                got, probs = _task_rows(root, run, suite, task)
            except (TransevalError, OSError, ValueError, TypeError, KeyError) as exc:
                got, probs = [], [_problem(root, exc, run.results_path)]
            rows += got
            problems += probs
    df = pd.DataFrame(rows, columns=ROW_COLUMNS)
    names = aliases(df["model"]) if not df.empty else {}
    df["alias"] = df["model"].map(names)
    comp, comp_problems = comparisons(root)
    by_folder = {sanitize(m): m for m in names}
    for side in ("model_a", "model_b"):
        comp[side] = [by_folder.get(x, x) for x in comp[side]]
    if not runs and not problems:
        problems.append(Problem(".", "no lm-eval runs (results_*.json) in this folder yet: run `lm_eval ... "
                                "--output_path RUNS --log_samples` or `transeval eval` first"))
    return Board(root, tuple(runs), df, tuple(problems + comp_problems), comp)


def latest(rows: pd.DataFrame) -> pd.DataFrame:
    """Keep the newest run per (model, task, metric) (rows come newest first)."""
    return rows.drop_duplicates(["model", "task", "metric"], keep="first")


def mixed_judges(rows: pd.DataFrame) -> dict[str, list[str]]:
    """Task -> its judges, for tasks whose headline numbers come from more than one judge model."""
    judged = latest(rows)
    judged = judged[judged["headline"] & (judged["judge"] != "")]
    out = {}
    for task, grp in judged.groupby("task"):
        judges = sorted(set(grp["judge"]))
        if len(judges) > 1:
            out[str(task)] = judges
    return out


def wide(board: Board, group_by: str = "suite") -> pd.DataFrame:
    """One row per model, three columns per task (score, 95% CI, scored/total) plus one average per group.

    Columns are named ``<group> · <task>`` (``group_by``: ``suite`` or ``language``). A group's average is
    over its members that the model has complete (judged, not ``--limit``-ed) and on one scale (the most common
    metric among its members, e.g. the judge score for ``transllm_th``): ``avg n`` says how many. Rows are
    sorted by the first average.
    """
    rows = latest(board.rows)
    rows = rows[rows["headline"]]
    if rows.empty:
        return pd.DataFrame(columns=["model", "alias"])
    cols: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {}
    order = rows.assign(_other=rows[group_by].isin(["(other)", "?"])).sort_values(["_other", group_by, "task"])
    for _, r in order.iterrows():
        groups.setdefault(str(r[group_by]), [])
        if r["task"] not in groups[str(r[group_by])]:
            groups[str(r[group_by])].append(str(r["task"]))
    rates = ("refusal_rate", "refusal_rate_judge", "wrong_language_rate", "switching_rate")
    scale = {g: (Counter(m for m in rows[rows["task"].isin(ts)]["metric"] if m not in rates).most_common(1)
                 or [("", 0)])[0][0] for g, ts in groups.items()}
    out_rows = []
    for model, grp in rows.groupby("model", sort=False):
        rec: dict[str, Any] = {"model": model, "alias": grp["alias"].iloc[0]}
        by_task = {str(r["task"]): r for _, r in grp.iterrows()}
        for group, tasks in groups.items():
            values, metric0 = [], scale[group]
            for task in tasks:
                col = f"{group} · {task}"
                r = by_task.get(task)
                cols[col] = {}
                if r is None:
                    rec[col], rec[col + " CI"], rec[col + " n"] = None, "", ""
                    continue
                metric = str(r["metric"])
                rec[col] = num(r["score"])
                rec[col + " CI"] = fmt_ci(r["ci_low"], r["ci_high"], metric)
                n_s, n_t = num(r["n_scored"]), num(r["n_total"])
                rec[col + " n"] = (f"{n_s:.0f}/{n_t:.0f}" if n_s is not None and n_t is not None else "")
                if r["status"] != "ok":
                    rec[col + " n"] = str(r["status"])
                complete = (rec[col] is not None and not bool(r["partial"]) and metric == metric0
                            and (n_s is None or n_t is None or n_s == n_t))
                if complete:
                    values.append(rec[col])
            if group_by == "suite" and group != "(other)" and len(tasks) > 1:
                rec[f"{group} · avg"] = sum(values) / len(values) if values else None
                rec[f"{group} · avg n"] = f"{len(values)}/{len(tasks)}"
        rec["partial"] = bool(grp["partial"].any())
        out_rows.append(rec)
    df = pd.DataFrame(out_rows)
    avg = [c for c in df.columns if c.endswith(" · avg")]
    sort_col = avg[0] if avg else next((c for c in df.columns if " · " in c and not c.endswith((" CI", " n"))), None)
    if sort_col is not None:
        df = df.sort_values(sort_col, ascending=False, na_position="last")
    return df.reset_index(drop=True)


def column_metrics(board: Board, wide: pd.DataFrame) -> dict[str, str]:
    """The metric behind each numeric column of :func:`wide` (for its display format)."""
    heads = latest(board.rows[board.rows["headline"]])
    by_task = {str(t): str(m) for t, m in zip(heads["task"], heads["metric"], strict=True)}
    out = {}
    for col in wide.columns:
        if " · " not in col or col.endswith((" CI", " n")):
            continue
        group, task = col.split(" · ", 1)
        if task != "avg":
            out[col] = by_task.get(task, "")
            continue
        members = [by_task.get(c.split(" · ", 1)[1], "") for c in wide.columns if c.startswith(group + " · ")
                   and not c.endswith((" CI", " n", " avg"))]
        scale = Counter(m for m in members if not m.startswith(("refusal", "wrong_language", "switching")))
        out[col] = scale.most_common(1)[0][0] if scale else ""
    return out


def demo_judged(rows: pd.DataFrame) -> list[str]:
    """Tasks whose numbers come from the bundled demo judge (gemma-3-270m), sorted."""
    if rows.empty or "judge" not in rows:
        return []
    return sorted({str(t) for t, j in zip(rows["task"], rows["judge"], strict=True) if "gemma-3-270m" in str(j)})


def details(board: Board) -> pd.DataFrame:
    """The long table behind the leaderboard: every metric with its judge, rubric, n and flags."""
    df = latest(board.rows).copy()
    df["95% CI"] = [fmt_ci(lo, hi, m) for lo, hi, m in zip(df["ci_low"], df["ci_high"], df["metric"], strict=True)]
    df["shown"] = [fmt(v, m) for v, m in zip(df["score"], df["metric"], strict=True)]
    df["judge"] = [f"{j} — {DEMO_JUDGE_NOTE}" if "gemma-3-270m" in str(j) else j for j in df["judge"]]
    df["lower is better"] = [lower_is_better(str(m)) for m in df["metric"]]
    keep = ["alias", "task", "suite", "language", "metric", "shown", "score", "95% CI", "n_scored", "n_total",
            "lower is better", "judge", "rubric", "status", "unscored_share", "swap_inconsistency", "n_empty",
            "mixed", "partial", "chance", "model", "date"]
    return df[keep].reset_index(drop=True)


def sanitize(name: str) -> str:
    """A model name as a folder name (what comparison folders are called): ``/`` and spaces become ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")


def _samples(run: Run, task: str) -> list[tuple[int, dict[str, Any]]]:
    path = run.samples_path(task)
    return list(read_jsonl(path)) if path.exists() else []


def leaderboard(root: Path) -> pd.DataFrame:
    """The headline number of every (run, task), newest run first: the long table other tools read.

    Columns: model (full name), alias, task, metric, score, ci_low, ci_high, chance, n_scored, n_total, judge,
    status, date, run. Unreadable files are skipped here (:func:`load_board` lists them).
    """
    rows = load_board(root).rows
    rows = rows[rows["headline"]]
    cols = ["model", "alias", "task", "suite", "language", "metric", "score", "ci_low", "ci_high", "chance",
            "n_scored", "n_total", "judge", "rubric", "status", "partial", "date", "run"]
    return rows[cols].reset_index(drop=True)


def _gold_indices(target: Any) -> tuple[int, ...]:
    """Gold option indices from a logged target: 2, "2", [0, 2] or "[0, 2]"."""
    if isinstance(target, bool):
        return ()
    if isinstance(target, int):
        return (target,)
    if isinstance(target, list):
        return tuple(int(x) for x in target if isinstance(x, int) and not isinstance(x, bool))
    if isinstance(target, str):
        text = target.strip()
        if text.isdigit():
            return (int(text),)
        if text.startswith("["):
            try:
                return _gold_indices(json.loads(text))
            except ValueError:
                return ()
    return ()


def breakdown(run: Run, name: str) -> pd.DataFrame:
    """lm-eval metric with 95% CI for every subgroup and subtask under ``name`` (e.g. C-Eval's categories)."""
    rows = []

    def walk(node: str, depth: int) -> None:
        row = next(iter(lm_eval_metrics(run, node)), None)
        if row is not None:
            rows.append({"task": "  " * depth + node, "metric": row["metric"], "score": row["score"],
                         "ci_low": row["ci_low"], "ci_high": row["ci_high"], "n": row["n_total"],
                         "chance": chance_level(run, node)})
        for kid in children(run).get(node, []):
            walk(kid, depth + 1)

    walk(name, 0)
    return pd.DataFrame(rows, columns=["task", "metric", "score", "ci_low", "ci_high", "n", "chance"])


@dataclass(frozen=True)
class ChoiceView:
    """One multiple-choice question: what the model was asked, its pick and the gold answer."""

    doc_id: int
    question: str
    options: tuple[str, ...]
    picked: int | None
    gold: tuple[int, ...]
    correct: bool | None


def choice_samples(run: Run, task: str) -> list[ChoiceView]:
    """Per-question drill-down of a multiple-choice (log-likelihood) task from its samples log."""
    out = []
    for _, rec in _samples(run, task):
        args = rec.get("arguments") or {}
        arg_list = list(args.values()) if isinstance(args, dict) else list(args)
        options = tuple(str(a.get("arg_1", "")) if isinstance(a, dict) else str(a[1]) for a in arg_list)
        context = str(arg_list[0].get("arg_0", "")) if arg_list and isinstance(arg_list[0], dict) else ""
        lls = [r[0][0] if isinstance(r[0], list) else r[0] for r in (rec.get("filtered_resps") or [])]
        picked = max(range(len(lls)), key=lambda i: float(lls[i])) if lls else None
        gold = _gold_indices(rec.get("target"))
        doc = rec.get("doc") or {}
        question = str(doc.get("question") or doc.get("query") or context.split("\n\n")[-1])
        out.append(ChoiceView(int(rec.get("doc_id", 0)), question, options, picked, gold,
                              None if picked is None or not gold else picked in gold))
    return out


@dataclass(frozen=True)
class GenerationView:
    """One generated answer of an lm-eval-scored task: prompt, output, and the scorer's record."""

    doc_id: int
    prompt: str
    output: str
    target: str
    details: dict[str, Any]


def is_generation_task(run: Run, task: str) -> bool:
    """True for ``generate_until`` tasks (answers are drilled down as text, not as options)."""
    return ((run.results.get("configs") or {}).get(task) or {}).get("output_type") == "generate_until"


def generation_samples(run: Run, task: str) -> list[GenerationView]:
    """Per-question drill-down of a generation task (e.g. GAOKAO-Bench: extracted answer, gold, reason)."""
    out = []
    for _, rec in _samples(run, task):
        args = rec.get("arguments") or {}
        first = next(iter(args.values()), {}) if isinstance(args, dict) else (args[0] if args else {})
        prompt = str(first.get("arg_0", "")) if isinstance(first, dict) else str(first[0])
        resp = (rec.get("filtered_resps") or [""])[0]
        details = next((v for k, v in rec.items() if isinstance(v, dict) and k not in ("doc", "arguments")), {})
        out.append(GenerationView(int(rec.get("doc_id", 0)), prompt, str(resp), str(rec.get("target", "")),
                                  details))
    return out
