"""The result store: lm-eval's ``results_<date>.json`` and ``samples_<task>_<date>.jsonl``, plus ours beside them.

For each judged task a run folder gets ``judgments_<task>_<date>.jsonl`` (one line per judged turn) and
``scores_<task>_<date>.json`` (the aggregate). ``<date>`` is the run's lm-eval timestamp, so every file of a
run shares it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError, io_error
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


def check_exportable(root: Path) -> None:
    """Refuse, in one line, a folder with nothing a leaderboard could show (before ``board --export`` renders).

    Something to show is a readable lm-eval run with at least one number: a metric in its results file or a
    readable scores file of one of its tasks.

    Raises:
        TransevalError: naming the folder, and the first unreadable results or scores file when there is one.
    """
    if not root.is_dir():
        raise TransevalError("no such folder", file=root)
    runs, problems = scan_runs(root)
    first: TransevalError | None = problems[0].error if problems else None
    for run in runs:
        for task in run.tasks:
            entry = run.results.get("results", {}).get(task)
            if isinstance(entry, dict) and any("," in str(k) and isinstance(v, int | float) and not
                                               isinstance(v, bool) for k, v in entry.items()):
                return
            path = run.scores_path(task)
            if path.exists():
                try:
                    read_scores(path)
                    return
                except TransevalError as exc:
                    first = first or exc
    why = f" ({' '.join(str(first).split())})" if first is not None else ""
    raise TransevalError(f"nothing to export: no lm-eval run with a number in this folder{why}", file=root)


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


class RunLock:
    """One writer per run: an exclusive lock on ``.transeval-<date>.lock`` in the run folder.

    Everything that writes a run's judgments, scores or results file does so holding this lock, so two
    ``transeval judge`` (or ``lm_eval``) processes on one run never interleave: the second one says in one line
    that the run is busy and waits for the first to finish, then merges its own judgments with the first's.
    The lock is the operating system's (``flock``): a killed holder releases it at once. Within one process it is
    re-entrant (``transeval judge`` holds it around :func:`~transeval.harness.judging.pipeline.judge_task`, which
    takes it too).
    """

    _held: dict[Path, int] = {}  # lock file -> nesting depth, in this process

    def __init__(self, folder: Path, date_id: str) -> None:
        self.folder = folder
        self.path = folder / f".transeval-{date_id}.lock"
        self.date_id = date_id
        self._fd: int | None = None
        self._nested = False

    def __enter__(self) -> RunLock:
        key = self.path.absolute()
        if RunLock._held.get(key):
            RunLock._held[key] += 1
            self._nested = True
            return self
        self._acquire()
        RunLock._held[key] = 1
        return self

    def _acquire(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise io_error(exc, self.folder, "cannot write in the run folder") from None
        try:
            import fcntl
        except ImportError:  # no flock (Windows): one writer per run is the user's to ensure
            self._fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            except OSError:
                holder = ""
            print(f"transeval: {self.folder}: run {self.date_id} is being judged by another process"
                  f"{f' (pid {holder})' if holder.isdigit() else ''}; waiting for it to finish", file=sys.stderr,
                  flush=True)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the pid is only for the message of a process that waits
        self._fd = fd

    def __exit__(self, *exc: object) -> None:
        key = self.path.absolute()
        RunLock._held[key] = RunLock._held.get(key, 1) - 1
        if RunLock._held[key] <= 0:
            del RunLock._held[key]
        if self._fd is not None and not self._nested:
            os.close(self._fd)  # releases the flock
            self._fd = None


def _write_all(fd: int, data: bytes, path: Path) -> None:
    """Write every byte of ``data`` (a short write is continued, a failed one raised as one line)."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except OSError as exc:
            raise io_error(exc, path) from None
        if n <= 0:
            raise TransevalError("cannot write (the file system accepted no bytes)", file=path)
        view = view[n:]


def heal_torn_tail(path: Path) -> int:
    """Cut a torn last line (a writer killed mid-line, or a full disk) off ``path``; keep it in ``<path>.torn``.

    A last line without its newline that is a whole JSON object only gets its newline back. Call this only
    while holding the run's :class:`RunLock`.

    Returns:
        The number of bytes moved aside (0 when the file was whole).

    Raises:
        TransevalError: one line naming the file when it cannot be read or written.
    """
    try:
        if not path.exists() or path.stat().st_size == 0:
            return 0
        with path.open("rb") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) == b"\n":
                return 0
            data = path.read_bytes()
    except OSError as exc:
        raise io_error(exc, path, "cannot read") from None
    cut = data.rfind(b"\n") + 1
    tail = data[cut:]
    try:
        whole = isinstance(json.loads(tail.decode("utf-8")), dict)
    except (UnicodeDecodeError, ValueError, RecursionError):
        whole = False
    try:
        if whole:
            with path.open("ab") as fh:
                fh.write(b"\n")
            return 0
        torn = path.with_name(path.name + ".torn")
        with torn.open("ab") as fh:
            fh.write(tail + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.truncate(path, cut)
    except OSError as exc:
        raise io_error(exc, path) from None
    print(f"transeval: warning: {path}: removed a torn last line ({len(tail)} bytes, left by an interrupted "
          f"write; its turn is judged again) and kept it in {torn.name}", file=sys.stderr)
    return len(tail)


class JudgmentLog:
    """The judgments file of one task of one run, written as judgments arrive (append-only JSONL).

    Open it only while holding the run's :class:`RunLock`. Opening heals a torn last line left by a killed
    writer (:func:`heal_torn_tail`). Every line goes to the OS in one checked write, so a crash or kill -9
    loses at most the line being written; a write that fails part-way (full disk) is cut back to the last whole
    line and raised as one line naming the file. Earlier lines of the same file (an earlier judging of the
    run) stay, and :func:`finalize_judgments` keeps the best judgment per (sample, turn, metric).
    """

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise io_error(exc, path.parent) from None
        self.path = path
        heal_torn_tail(path)
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise io_error(exc, path) from None
        self.written = 0

    def append(self, judgment: Judgment) -> None:
        """Write one judgment (one line, straight to the OS).

        Raises:
            TransevalError: naming the file when the line cannot be written; the file keeps only whole lines.
        """
        data = (json.dumps(judgment.to_dict(), ensure_ascii=False) + "\n").encode("utf-8", "replace")
        size = os.fstat(self._fd).st_size
        try:
            _write_all(self._fd, data, self.path)
        except TransevalError:
            try:
                os.ftruncate(self._fd, size)  # no half line left behind
            except OSError:
                pass
            raise
        self.written += 1

    def close(self) -> None:
        """Flush to disk and close.

        Raises:
            TransevalError: naming the file when the disk does not take it.
        """
        if self._fd < 0:
            return
        fd, self._fd = self._fd, -1
        try:
            os.fsync(fd)
        except OSError as exc:
            raise io_error(exc, self.path) from None
        finally:
            os.close(fd)

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
    """Replace ``path`` with ``text`` all at once, on disk before this returns; never a half-written file.

    Raises:
        TransevalError: one line naming the file (full disk, read-only file system, no permission); the old
            file is then untouched and no temporary file is left.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(text.encode("utf-8", "replace"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise io_error(exc, path) from None
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    except OSError:
        pass
    finally:
        os.close(dir_fd)


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
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise io_error(exc, folder) from None
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


def mark_mixed_judges(entry: dict[str, Any], scores: Mapping[str, TaskScores]) -> None:
    """Say in a results entry which numbers mix judge endpoints (``judges`` / ``<metric>_judges``), or none."""
    for s in scores.values():
        key = "judges" if s.metric == "score" else f"{s.metric}_judges"
        if len(s.endpoints) > 1:
            entry[key] = "mixed judges: " + ", ".join(s.endpoints)
        else:
            entry.pop(key, None)


def merge_into_results(results_path: Path, task: str, scores: Mapping[str, TaskScores]) -> None:
    """Put the headline numbers into lm-eval's results JSON (after a deferred ``transeval judge``)."""
    data = _read_json(results_path)
    entry = data.setdefault("results", {}).setdefault(task, {"alias": task})
    filled = headline_entry(scores)
    if "score,none" not in filled and entry.get("score,none") is None:
        entry.pop("score,none", None)
    entry.update(filled)
    mark_mixed_judges(entry, scores)
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
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        raise TransevalError(f"not a scores file ({type(exc).__name__}: {exc})", file=path) from None
