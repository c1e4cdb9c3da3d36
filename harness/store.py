"""The result store: lm-eval's ``results_<date>.json`` and ``samples_<task>_<date>.jsonl``, plus ours beside them.

For each judged task a run folder gets ``judgments_<task>_<date>.jsonl`` (one line per judged turn) and
``scores_<task>_<date>.json`` (the aggregate). ``<date>`` is the run's lm-eval timestamp, so every file of a
run shares it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transeval.harness.errors import TransevalError
from transeval.harness.records import Estimate, Judgment, TaskScores


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
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TransevalError(f"not valid JSON ({exc.msg})", file=path, line=exc.lineno) from None


def find_runs(root: Path) -> list[Run]:
    """Every lm-eval run under ``root`` (newest first)."""
    if not root.exists():
        raise TransevalError("no such folder", file=root)
    runs = []
    for path in root.rglob("results_*.json"):
        data = _read_json(path)
        if not isinstance(data, dict) or "results" not in data:
            continue
        date_id = path.stem[len("results_") :]
        config = data.get("config") or {}
        model = str(data.get("model_name") or config.get("model_args") or config.get("model") or path.parent.name)
        tasks = tuple(sorted((data.get("configs") or data["results"]).keys()))
        runs.append(Run(path, date_id, model, tasks, data))
    return sorted(runs, key=lambda r: r.date_id, reverse=True)


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for each non-empty line; a missing file or bad line raises with file and line."""
    if not path.is_file():
        raise TransevalError("file not found", file=path)
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TransevalError(f"not valid JSON ({exc.msg})", file=path, line=lineno) from None
            if not isinstance(record, dict):
                raise TransevalError("expected a JSON object", file=path, line=lineno)
            yield lineno, record


def write_task_outputs(folder: Path, task: str, date_id: str, judgments: list[Judgment], scores: TaskScores) -> None:
    """Write the judgments JSONL and the aggregate JSON of one task (atomically replaced)."""
    folder.mkdir(parents=True, exist_ok=True)
    jpath = judgments_path(folder, task, date_id)
    tmp = jpath.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for j in judgments:
            fh.write(json.dumps(j.to_dict(), ensure_ascii=False) + "\n")
    tmp.replace(jpath)
    spath = scores_path(folder, task, date_id)
    tmp = spath.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(scores.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(spath)


def merge_into_results(results_path: Path, task: str, scores: TaskScores) -> None:
    """Put the headline numbers into lm-eval's results JSON (after a deferred ``transeval judge``)."""
    data = _read_json(results_path)
    entry = data.setdefault("results", {}).setdefault(task, {"alias": task})
    for name, value in scores.headline().items():
        entry[f"{name},none"] = value
    tmp = results_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(results_path)


def read_judgments(path: Path) -> list[Judgment]:
    """Load a judgments JSONL."""
    out = []
    for lineno, rec in read_jsonl(path):
        try:
            out.append(Judgment(**rec))
        except TypeError as exc:
            raise TransevalError(f"not a judgment ({exc})", file=path, line=lineno) from None
    return out


def read_scores(path: Path) -> TaskScores:
    """Load a ``scores_<task>_<date>.json``."""
    d = _read_json(path)
    try:
        return TaskScores(
            **{
                **d,
                "overall": Estimate(**d["overall"]),
                "per_turn": {k: Estimate(**v) for k, v in d.get("per_turn", {}).items()},
                "per_category": {k: Estimate(**v) for k, v in d.get("per_category", {}).items()},
            }
        )
    except (TypeError, KeyError) as exc:
        raise TransevalError(f"not a scores file ({exc})", file=path) from None
