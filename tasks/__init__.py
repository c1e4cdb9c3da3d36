"""transeval.tasks: the folder lm-eval is pointed at (one sub-folder per benchmark: YAML, data/, SOURCE.md)."""

from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent
