"""Reading JSONL files line by line, every bad line one error naming file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for each non-empty line.

    Raises:
        TransevalError: naming file and line for a missing file, invalid UTF-8, invalid JSON or a non-object.
    """
    if not path.is_file():
        raise TransevalError("file not found", file=path)
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise TransevalError(f"not valid UTF-8 (byte {exc.start})", file=path, line=lineno) from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TransevalError(f"not valid JSON ({exc.msg})", file=path, line=lineno) from None
            except RecursionError:
                raise TransevalError("JSON nested too deeply", file=path, line=lineno) from None
            if not isinstance(record, dict):
                raise TransevalError("expected a JSON object", file=path, line=lineno)
            yield lineno, record
