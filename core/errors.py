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


_IO_HINTS = {
    "ENOSPC": "the disk is full: free some space and rerun (replies already received are cached)",
    "EDQUOT": "the disk quota is used up: free some space and rerun (replies already received are cached)",
    "EROFS": "the file system is read-only: copy the run folder somewhere writable and use the copy",
    "EACCES": "no permission: make the folder writable, or copy it somewhere writable and use the copy",
    "EPERM": "no permission: make the folder writable, or copy it somewhere writable and use the copy",
}


def io_error(exc: OSError, path: str | Path, doing: str = "cannot write") -> TransevalError:
    """A failed read or write (full disk, read-only file system, no permission) as one line naming the path.

    Args:
        exc: The error the operating system gave.
        path: The file or folder that could not be written.
        doing: What failed, e.g. ``cannot write`` or ``cannot create the lock file``.
    """
    import errno

    name = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or type(exc).__name__
    hint = _IO_HINTS.get(name)
    return TransevalError(f"{doing} ({reason}){f'; {hint}' if hint else ''}", file=path)
