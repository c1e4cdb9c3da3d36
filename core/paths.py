"""Where things live: the task folder lm-eval is pointed at, data paths given relative to it, our cache folder."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def cache_dir() -> Path:
    """``$TRANSEVAL_CACHE_DIR`` (default ``~/.cache/transeval``): the judge cache, batch ledger, langid model."""
    return Path(os.environ.get("TRANSEVAL_CACHE_DIR") or Path.home() / ".cache" / "transeval")


def tasks_dir() -> Path:
    """The folder lm-eval is pointed at (the installed ``transeval/tasks``)."""
    spec = importlib.util.find_spec("transeval.tasks")  # a data folder: located, not imported from
    assert spec is not None and spec.origin is not None, "transeval is not installed"
    return Path(spec.origin).resolve().parent


def resolve_data_file(value: str) -> Path:
    """Resolve a ``data_file`` setting: absolute, relative to the working directory, or to the tasks folder."""
    p = Path(value).expanduser()
    if p.is_absolute() or p.exists():
        return p
    return tasks_dir() / p
