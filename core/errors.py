"""One error type for everything a user can fix; printed as a single line by the CLI and the hook."""

from __future__ import annotations

from pathlib import Path


class TransevalError(Exception):
    """A problem with the user's input or setup, described in one line.

    Args:
        message: What is wrong and how to fix it.
        file: The file at fault, if any.
        line: 1-based line number in ``file``, if known.
        field: The field at fault, if any.
    """

    def __init__(
        self, message: str, *, file: str | Path | None = None, line: int | None = None, field: str | None = None
    ) -> None:
        self.file = str(file) if file is not None else None
        self.line = line
        self.field = field
        where = ""
        if self.file:
            where = self.file + (f":{line}" if line is not None else "")
        if field:
            where = f"{where} field '{field}'" if where else f"field '{field}'"
        super().__init__(f"{where}: {message}" if where else message)


class JudgeConfigError(TransevalError):
    """No usable judge: missing key, unknown rubric, unreachable endpoint."""


def one_line(exc: BaseException) -> str:
    """Render an error as the single line shown to users."""
    text = " ".join(str(exc).split())
    return f"transeval: error: {text}"
