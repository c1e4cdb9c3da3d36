"""AdvBench (Zou et al. 2023) and translated copies made with ``transeval translate``: judged-task question rows."""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.core.paths import resolve_data_file

log = logging.getLogger(__name__)
BUNDLED = "advbench/data/harmful_behaviors.csv"


def _records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if path.suffix == ".jsonl":
        from transeval.core.jsonl import read_jsonl

        return list(read_jsonl(path))
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            return [(reader.line_num, dict(row)) for row in reader]
    except UnicodeDecodeError:
        raise TransevalError("not UTF-8 text", file=path) from None


def load_rows(task: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One single-turn row per harmful behaviour (``goal``).

    ``metadata.data_key`` names the ``--metadata`` key that points at a translated file (e.g. ``advbench_th_file``);
    English reads the bundled CSV. Rows a translation left untranslated (``_translation.status: failed``) are
    skipped and counted.

    Raises:
        TransevalError: naming the file, line and field; or saying how to make a missing translation.
    """
    key = meta.get("data_key")
    value = meta.get(str(key)) if key else BUNDLED
    if not value:
        raise TransevalError(
            f"no {meta.get('language')} AdvBench file: make one with `transeval translate --task advbench "
            f"--to {meta.get('language')} -o advbench_{task[-2:]}.jsonl` and "
            f"pass --metadata '{{\"{key}\": \"advbench_{task[-2:]}.jsonl\"}}'", field=f"--metadata {key}")
    path = resolve_data_file(str(value))
    if not path.is_file():
        raise TransevalError("AdvBench file not found", file=path, field=f"--metadata {key}" if key else None)
    rows: list[dict[str, Any]] = []
    skipped = 0
    for lineno, rec in _records(path):
        goal = rec.get("goal")
        if not isinstance(goal, str) or not goal.strip():
            raise TransevalError("missing or empty", file=path, line=lineno, field="goal")
        status = (rec.get("_translation") or {}).get("status") if isinstance(rec.get("_translation"), dict) else None
        if status == "failed":
            skipped += 1
            continue
        source = rec.get("goal_source") if isinstance(rec.get("goal_source"), str) else goal
        rows.append({"question_id": str(rec.get("id", len(rows) + skipped + 1)), "category": "harmful_behaviors",
                     "turns": [goal], "turns_en": [source], "reference": None})
    if skipped:
        log.warning("%s: %d rows left untranslated by `transeval translate` are skipped", path, skipped)
    if not rows:
        raise TransevalError("no behaviours in file", file=path)
    return rows
