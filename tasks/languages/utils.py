"""Question rows of the per-language tasks: a file given on the command line, else the bundled one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transeval.core.errors import TransevalError
from transeval.core.paths import resolve_data_file
from transeval.harness.lmeval.judged import read_questions


def load_rows(task: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows from ``--metadata '{"<task>_file": FILE}'`` or the bundled ``data_file``.

    Raises:
        TransevalError: saying how to make the file with ``transeval translate`` when there is none.
    """
    key = str(meta.get("data_key"))
    value = meta.get(key) or meta.get("data_file")
    path = resolve_data_file(str(value)) if value else None
    if path is None or not path.is_file():
        family = task.rsplit("_", 1)[0]
        source = ("llm_eval/data/llm_eval_zh_sample.jsonl --from Chinese --field turns --field reference"
                  if family == "llm_eval" else "--task mtbench_en")
        raise TransevalError(
            f"no {meta.get('language')} questions for {task}: make them with `transeval translate {source} "
            f"--to {meta.get('language')} -o {task}.jsonl` and pass --metadata '{{\"{key}\": \"{task}.jsonl\"}}'",
            field=f"--metadata {key}")
    return read_questions(path, meta)
