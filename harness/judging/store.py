"""The result store: lm-eval's ``results_<date>.json`` and ``samples_<task>_<date>.jsonl``, plus ours beside them.

For each judged task a run folder gets ``judgments_<task>_<date>.jsonl`` (one line per judged turn) and
``scores_<task>_<date>.json`` (the aggregate). ``<date>`` is the run's lm-eval timestamp, so every file of a
run shares it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.core.records import SCORES_VERSION, Judgment, TaskScores, better


@dataclass(frozen=True)
class Run:
    """One lm-eval run (one results file) found under a folder."""

    results_path: Path
    date_id: str
    model: str
    tasks: tuple[str, ...]
    results: dict[str, Any]

    @property
    def folder(self) -> Path:
        """The run's folder."""
        return self.results_path.parent

    def samples_path(self, task: str) -> Path:
        """lm-eval's per-sample log for ``task``."""
        return self.folder / f"samples_{task}_{self.date_id}.jsonl"

    def judgments_path(self, task: str) -> Path:
        """Our per-turn judgments for ``task``."""
        return judgments_path(self.folder, task, self.date_id)

    def scores_path(self, task: str) -> Path:
        """Our aggregate for ``task``."""
        return scores_path(self.folder, task, self.date_id)


def judgments_path(folder: Path, task: str, date_id: str) -> Path:
    """Where the judgments of one task of one run live."""
    return folder / f"judgments_{task}_{date_id}.jsonl"


def scores_path(folder: Path, task: str, date_id: str) -> Path:
    """Where the aggregate of one task of one run lives."""
    return folder / f"scores_{task}_{date_id}.json"


def _read_json(path: Path) -> Any:
    """Parse a JSON file.

    Raises:
        TransevalError: naming the file (and line) for unreadable bytes, bad UTF-8 or bad JSON.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TransevalError(f"cannot be read ({exc.strerror})", file=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TransevalError(f"not valid UTF-8 (byte {exc.start})", file=path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TransevalError(f"not valid JSON ({exc.msg})", file=path, line=exc.lineno) from None
    except RecursionError:
        raise TransevalError("JSON nested too deeply", file=path) from None


@dataclass(frozen=True)
class RunProblem:
    """A ``results_*.json`` that is not a usable run: unreadable, or not lm-eval's results file."""

    path: Path
    error: TransevalError
    unreadable: bool


def scan_runs(root: Path) -> tuple[list[Run], list[RunProblem]]:
    """Every lm-eval run under ``root`` (newest first), and a problem for each results file that is not one."""
    runs: list[Run] = []
    problems: list[RunProblem] = []
    for path in sorted(root.rglob("results_*.json")):
        try:
            data = _read_json(path)
        except TransevalError as exc:
            problems.append(RunProblem(path, exc, unreadable=True))
            continue
        if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
            problems.append(RunProblem(path, TransevalError("not an lm-eval results file (no 'results')", file=path),
                                       unreadable=False))
            continue
        date_id = path.stem[len("results_") :]
        config = data.get("config") or {}
        model = str(data.get("model_name") or config.get("model_args") or config.get("model") or path.parent.name)
        tasks = tuple(sorted((data.get("configs") or data["results"]).keys()))
        runs.append(Run(path, date_id, model, tasks, data))
    return sorted(runs, key=lambda r: r.date_id, reverse=True), problems


def find_runs(root: Path) -> list[Run]:
    """Every lm-eval run under ``root`` (newest first); other ``results_*.json`` files are skipped.

    Raises:
        TransevalError: for a missing folder or the first results file that cannot be read.
    """
    if not root.exists():
        raise TransevalError("no such folder", file=root)
    runs, problems = scan_runs(root)
    for problem in problems:
        if problem.unreadable:
            raise problem.error
    return runs


class JudgmentLog:
    """The judgments file of one task of one run, written as judgments arrive (append-only JSONL).

    Every line is flushed at once, so a crash or kill -9 loses at most the line being written; earlier lines
    of the same file (an earlier judging of the run) stay, and :func:`finalize_judgments` keeps the best
    judgment per (sample, turn, metric).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        if path.exists() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
            with path.open("ab") as fh:  # a torn last line from a killed run: start a fresh line
                fh.write(b"\n")
        self._fh = path.open("a", encoding="utf-8")
        self.written = 0

    def append(self, judgment: Judgment) -> None:
        """Write one judgment and flush it to the OS."""
        self._fh.write(json.dumps(judgment.to_dict(), ensure_ascii=False) + "\n")
        self._fh.flush()
        self.written += 1

    def close(self) -> None:
        """Flush to disk and close."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()

    def __enter__(self) -> JudgmentLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def merge_judgments(judgments: Iterable[Judgment]) -> list[Judgment]:
    """The best judgment per (sample, turn, metric), in order of first appearance.

    A later one replaces an earlier one only when it is at least as good (a score beats an unscored reason,
    which beats a failed call).
    """
    best: dict[tuple[str, int, str], Judgment] = {}
    for j in judgments:
        best[j.key] = better(best[j.key], j) if j.key in best else j
    return list(best.values())


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _natural(sample_id: str) -> tuple[int, int | str]:
    return (0, int(sample_id)) if sample_id.isdigit() else (1, sample_id)


def finalize_judgments(path: Path) -> list[Judgment]:
    """Rewrite a judgments file with the best judgment per key (atomically) and return them."""
    merged = merge_judgments(read_judgments(path)) if path.exists() else []
    merged.sort(key=lambda j: (j.metric, _natural(j.sample_id), j.turn))  # stable order, whatever finished first
    _atomic_write(path, "".join(json.dumps(j.to_dict(), ensure_ascii=False) + "\n" for j in merged))
    return merged


def write_scores(folder: Path, task: str, date_id: str, scores: Mapping[str, TaskScores]) -> Path:
    """Write ``scores_<task>_<date>.json`` (version 2: one aggregate per metric), atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    path = scores_path(folder, task, date_id)
    payload = {"version": SCORES_VERSION, "task": task, "metrics": {m: s.to_dict() for m, s in scores.items()}}
    _atomic_write(path, json.dumps(payload, indent=2, ensure_ascii=False))
    return path


def headline_entry(scores: Mapping[str, TaskScores]) -> dict[str, Any]:
    """lm-eval results-JSON entries (``name,none``) for every metric of a task."""
    entry: dict[str, Any] = {}
    for s in scores.values():
        for name, value in s.headline().items():
            entry[f"{name},none"] = value
    return entry


def merge_into_results(results_path: Path, task: str, scores: Mapping[str, TaskScores]) -> None:
    """Put the headline numbers into lm-eval's results JSON (after a deferred ``transeval judge``)."""
    data = _read_json(results_path)
    entry = data.setdefault("results", {}).setdefault(task, {"alias": task})
    filled = headline_entry(scores)
    if "score,none" not in filled and entry.get("score,none") is None:
        entry.pop("score,none", None)
    entry.update(filled)
    _atomic_write(results_path, json.dumps(data, indent=2, ensure_ascii=False))


def read_judgments(path: Path) -> list[Judgment]:
    """Load a judgments JSONL (version 1 or 2). A torn last line (a killed writer) is skipped.

    Raises:
        TransevalError: naming file and line of a malformed record elsewhere.
    """
    if not path.is_file():
        raise TransevalError("file not found", file=path)
    lines = path.read_bytes().split(b"\n")
    out = []
    for lineno, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if lineno == len(lines) or (lineno == len(lines) - 1 and not lines[-1]):
                continue  # the line a killed writer was writing
            what = f"not valid UTF-8 (byte {exc.start})" if isinstance(exc, UnicodeDecodeError) \
                else f"not valid JSON ({exc.msg})"
            raise TransevalError(what, file=path, line=lineno) from None
        if not isinstance(rec, dict):
            raise TransevalError("expected a JSON object", file=path, line=lineno)
        try:
            out.append(Judgment.from_dict(rec))
        except TypeError as exc:
            raise TransevalError(f"not a judgment ({exc})", file=path, line=lineno) from None
    return out


def read_scores(path: Path) -> dict[str, TaskScores]:
    """Load a ``scores_<task>_<date>.json``: metric -> aggregate (a version-1 file is the ``score`` metric).

    Raises:
        TransevalError: naming the file when it is not a scores file.
    """
    d = _read_json(path)
    try:
        if isinstance(d, dict) and d.get("version") == SCORES_VERSION:
            return {m: TaskScores.from_dict(v) for m, v in d["metrics"].items()}
        return {"score": TaskScores.from_dict(d)}
    except (TypeError, KeyError, AttributeError) as exc:
        raise TransevalError(f"not a scores file ({exc})", file=path) from None
