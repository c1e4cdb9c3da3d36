"""Start the leaderboard server or write a static leaderboard: what ``transeval board`` calls.

The server binds 127.0.0.1 unless ``host`` says otherwise, and the runs folder is fixed at start (passed to the
app on its command line; no page can change it).

Streamlit always runs headless here: a first start on a fresh machine would otherwise stop at its onboarding
prompt ("Welcome to Streamlit! ... Email:"), and without a terminal exit without ever listening. Usage statistics
are off, so Streamlit writes nothing under ``~/.streamlit`` (no credentials, no machine id). ``transeval board``
opens the browser itself once the server answers (unless ``--headless`` or no display).

``transeval board`` owns the server: Streamlit runs in its own session (a terminal's Ctrl-C reaches only
``transeval board``), SIGINT, SIGTERM and SIGHUP are passed on to it, and on Linux it gets SIGTERM when
``transeval board`` dies (even by SIGKILL), so stopping ``transeval board`` always stops Streamlit and frees the port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from transeval.core.errors import TransevalError

APP = Path(__file__).resolve().parent / "app.py"
#: Streamlit's usual port; taken when free, else the OS picks one.
DEFAULT_PORT = 8501
#: Seconds to wait for the server's health check before giving up on opening a browser.
START_TIMEOUT_S = 120.0
#: Seconds Streamlit gets to stop after SIGTERM before it is killed.
STOP_TIMEOUT_S = 10.0
_PR_SET_PDEATHSIG = 1


def board_command(root: Path, port: int | None, host: str = "127.0.0.1", headless: bool = False) -> list[str]:
    """The ``streamlit run`` command line for a runs folder.

    Headless always (no onboarding prompt, no browser from Streamlit: :func:`run_board` opens one), usage stats
    off, no file watcher, fixed host. ``headless`` is kept for callers; the command is the same either way.
    """
    del headless  # Streamlit itself never opens the browser or prompts: see the module docstring
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--browser.gatherUsageStats", "false",
           "--server.address", host, "--server.fileWatcherType", "none", "--server.runOnSave", "false",
           "--client.toolbarMode", "viewer", "--server.headless", "true", "--server.showEmailPrompt", "false"]
    if port:
        cmd += ["--server.port", str(port)]
    return [*cmd, "--", "--runs", str(root.resolve())]


def pick_port(host: str = "127.0.0.1", preferred: int = DEFAULT_PORT) -> int:
    """``preferred`` when it is free on ``host``, else a free port the OS picks."""
    for want in (preferred, 0):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, want))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise TransevalError(f"no free port on {host}", field="--port")


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks Linux to send the child SIGTERM when ``parent`` dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None

    def setup() -> None:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return setup


def start_server(root: Path, port: int, host: str = "127.0.0.1") -> subprocess.Popen[bytes]:
    """Start Streamlit on ``root`` in its own session, tied to this process (see the module docstring)."""
    return subprocess.Popen(board_command(root, port, host), stdin=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=_die_with_parent(os.getpid()))


def stop_server(proc: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> int:
    """SIGTERM, then SIGKILL after ``timeout_s``; returns the exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout_s: float = START_TIMEOUT_S) -> bool:
    """Whether ``url``'s health check answers before ``proc`` exits or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:  # noqa: S310 - our own URL
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    return False


def can_open_browser() -> bool:
    """Whether a graphical browser can be opened (macOS, Windows, or a Linux/BSD session with a display)."""
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_board(root: Path, port: int | None = None, host: str = "127.0.0.1", headless: bool = False) -> int:
    """Serve the leaderboard of ``root`` until interrupted, then stop the server; returns the exit status.

    SIGINT, SIGTERM and SIGHUP stop Streamlit (exit status 128 + the signal); if Streamlit exits by itself, its
    own status is returned.

    Raises:
        TransevalError: when ``root`` is not a folder.
    """
    if not root.is_dir():
        raise TransevalError("no such folder", file=root)
    port = port or pick_port(host)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    got: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        got.append(signum)
        if proc.poll() is None:
            proc.terminate()

    handled = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
    proc = start_server(root, port, host)  # a signal before the handlers below: the child gets SIGTERM (Linux)
    previous: dict[int, Any] = {}
    try:
        previous.update({s: signal.signal(s, on_signal) for s in handled})
        if not got and wait_until_up(url, proc) and not headless and not got:
            if can_open_browser():
                from streamlit.cli_util import open_browser

                open_browser(url)
            else:
                print(f"transeval: no display here: open {url} in a browser (or forward the port)", file=sys.stderr)
        while proc.poll() is None:
            try:
                proc.wait()
            except KeyboardInterrupt:  # only if SIGINT arrived before our handler was set
                got.append(signal.SIGINT)
                proc.terminate()
        status = proc.returncode
    finally:
        stop_server(proc)
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 128 + int(got[0]) if got else status
