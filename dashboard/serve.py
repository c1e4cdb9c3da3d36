"""Start the leaderboard server or write a static leaderboard: what ``transeval board`` calls.

The server binds 127.0.0.1 unless ``host`` says otherwise, and the runs folder is fixed at start (passed to the
app on its command line; no page can change it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from transeval.core.errors import TransevalError

APP = Path(__file__).resolve().parent / "app.py"


def board_command(root: Path, port: int | None, host: str = "127.0.0.1", headless: bool = False) -> list[str]:
    """The ``streamlit run`` command line for a runs folder (usage stats off, no file watcher, fixed host)."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--browser.gatherUsageStats", "false",
           "--server.address", host, "--server.fileWatcherType", "none", "--server.runOnSave", "false",
           "--client.toolbarMode", "viewer", "--server.headless", "true" if headless else "false"]
    if port:
        cmd += ["--server.port", str(port)]
    return [*cmd, "--", "--runs", str(root.resolve())]


def run_board(root: Path, port: int | None = None, host: str = "127.0.0.1", headless: bool = False) -> int:
    """Serve the leaderboard of ``root`` until interrupted; returns Streamlit's exit status.

    Raises:
        TransevalError: when ``root`` is not a folder.
    """
    if not root.is_dir():
        raise TransevalError("no such folder", file=root)
    return subprocess.call(board_command(root, port, host, headless))


def export_board(root: Path, out: Path) -> Path:
    """Write the leaderboard of ``root`` to ``out`` (``.md``, ``.html`` or ``.tex``, by suffix) and return it.

    Raises:
        TransevalError: for a missing folder or an unknown suffix.
    """
    from transeval.dashboard.data import load_board
    from transeval.dashboard.data_export import FORMATS, render

    if not root.is_dir():
        raise TransevalError("no such folder", file=root)
    if out.suffix.lower() not in FORMATS:
        raise TransevalError(f"unknown export format (use {', '.join(FORMATS)})", file=out)
    board = load_board(root)
    for p in board.problems:
        print(f"transeval: warning: {p.file}: {p.message}", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(board, out.suffix.lower()), encoding="utf-8")
    return out
