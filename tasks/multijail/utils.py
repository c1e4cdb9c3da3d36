"""MultiJail (Deng et al. 2024): 315 unsafe prompts, human-translated into 9 languages; one task per language."""

from __future__ import annotations

import ast
import csv
from collections.abc import Mapping
from typing import Any

from transeval.core.errors import TransevalError
from transeval.core.paths import resolve_data_file

LANGUAGE_COLUMNS = ("en", "zh", "it", "vi", "ar", "ko", "th", "bn", "sw", "jv")


def load_rows(task: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of one language column (``metadata.column``); the category is the prompt's first harm tag.

    Raises:
        TransevalError: naming the file, line and field of a malformed row.
    """
    column = str(meta.get("column"))
    if column not in LANGUAGE_COLUMNS:
        raise TransevalError(f"column must be one of {', '.join(LANGUAGE_COLUMNS)}", field="metadata.column")
    path = resolve_data_file(str(meta.get("data_file") or "multijail/data/MultiJail.csv"))
    if not path.is_file():
        raise TransevalError("MultiJail file not found", file=path, field="data_file")
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            text = (row.get(column) or "").strip()
            if not text:
                raise TransevalError("missing or empty", file=path, line=reader.line_num, field=column)
            try:
                tags = ast.literal_eval(row.get("tags") or "[]")
            except (ValueError, SyntaxError):
                raise TransevalError("not a list of tags", file=path, line=reader.line_num, field="tags") from None
            rows.append({"question_id": str(row.get("id")), "category": str(tags[0]) if tags else "untagged",
                         "turns": [text], "turns_en": [(row.get("en") or text).strip()], "reference": None})
    return rows
