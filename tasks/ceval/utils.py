"""C-Eval on bundled data: lm-eval's own ``ceval-valid_<subject>`` configs, read from the CSVs shipped here.

lm-eval already ships the C-Eval prompts; we reuse them by name from a group YAML and only swap the data source
for the bundled CSVs (offline), via the ``class:`` override below. The prompt, few-shot sampling and metrics stay
lm-eval's, so scores are identical to ``ceval-valid`` on the same data.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from transeval.core.errors import TransevalError
from transeval.core.paths import tasks_dir

CEVAL_COLUMNS = ("id", "question", "A", "B", "C", "D", "answer")


def read_ceval_csv(path: Path) -> list[dict[str, Any]]:
    """Read one C-Eval split file (``explanation`` is dropped: only dev has it).

    Raises:
        TransevalError: naming the file, line and field of the first bad row.
    """
    if not path.is_file():
        raise TransevalError("C-Eval data file not found", file=path)
    rows = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in CEVAL_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise TransevalError("missing column", file=path, line=1, field=missing[0])
        for row in reader:
            line = reader.line_num
            if row["answer"] not in ("A", "B", "C", "D"):
                raise TransevalError(f"answer must be A-D, got {row['answer']!r}", file=path, line=line,
                                     field="answer")
            try:
                ident = int(row["id"])
            except ValueError:
                raise TransevalError("id must be an integer", file=path, line=line, field="id") from None
            rows.append({"id": ident, **{c: row[c] for c in CEVAL_COLUMNS[1:]}})
    return rows


def load_ceval_subject(subject: str, data_dir: Path | None = None) -> Any:
    """The bundled val and dev splits of one C-Eval subject as a ``datasets.DatasetDict``."""
    import datasets

    root = data_dir or tasks_dir() / "ceval" / "data"
    splits = {split: read_ceval_csv(root / split / f"{subject}_{split}.csv") for split in ("val", "dev")}
    return datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in splits.items()})


try:
    from lm_eval.api.task import ConfigurableTask
except ImportError:  # pragma: no cover
    ConfigurableTask = object


class BundledCEval(ConfigurableTask):
    """lm-eval's ``ceval-valid_<subject>`` task with its data read from the bundled CSV files."""

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        config = dict(config or {})
        config.pop("class", None)
        self._subject = str(config.get("dataset_name"))
        super().__init__(config=config, **kwargs)

    def download(self, dataset_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Read the bundled CSVs instead of the ``ceval/ceval-exam`` hub dataset."""
        data_dir = (self.config.metadata or {}).get("ceval_data_dir")
        self.dataset = load_ceval_subject(self._subject, Path(data_dir) if data_dir else None)


