"""Where bundled things live: the task folder lm-eval is pointed at, and data paths given relative to it."""

from __future__ import annotations

from pathlib import Path


def tasks_dir() -> Path:
    """The folder lm-eval is pointed at (the installed ``transeval/tasks``)."""
    import transeval.tasks

    return Path(transeval.tasks.__file__).resolve().parent


def resolve_data_file(value: str) -> Path:
    """Resolve a ``data_file`` setting: absolute, relative to the working directory, or to the tasks folder."""
    p = Path(value).expanduser()
    if p.is_absolute() or p.exists():
        return p
    return tasks_dir() / p
