"""``transeval board`` on a fresh machine: no onboarding prompt, nothing written to HOME, and it owns its server.

Each test starts the real ``transeval board`` command with an empty HOME (no ``~/.streamlit``) and no display:
once with standard input closed and no terminal (a script, a container, CI), the page then loaded in headless
Chromium; once inside a pseudo-terminal, as a newcomer types it. Streamlit's first-run prompt ("Welcome to
Streamlit! ... Email:") would block the second and, without a terminal, end the first before it ever listens.
Stopping ``transeval board`` (SIGTERM, or SIGKILL so that it cannot clean up) must stop Streamlit and free the port.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures_board import MODEL_A, build_store
from scripted_server import ScriptedOpenAI

CHROMIUM = os.environ.get("TRANSEVAL_CHROMIUM", "/usr/bin/chromium")
TRANSEVAL = Path(sys.executable).with_name("transeval")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _streamlit_pids(runs: Path) -> list[int]:
    """Streamlit processes serving ``runs`` (their command line names the folder)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in argv and str(runs.resolve()).encode() in argv:
            pids.append(int(entry.name))
    return pids


def _wait(predicate: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("board_start")
    server = ScriptedOpenAI().start()
    try:
        build_store(tmp / "runs", server.base_url, tmp / "cache")
    finally:
        server.stop()
    return tmp / "runs"


def _newcomer_env(home: Path) -> dict[str, str]:
    """A fresh user's environment: empty HOME, no display, no Streamlit settings of ours."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("STREAMLIT_") and k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_CONFIG_HOME")}
    env.update(HOME=str(home), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return env


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    yield home
    assert sorted(p.name for p in home.iterdir()) == [], "transeval board wrote into HOME"


def _stopped(proc: subprocess.Popen[bytes], runs: Path, port: int) -> None:
    assert _wait(lambda: proc.poll() is not None, 30), "transeval board did not exit"
    assert _wait(lambda: not _streamlit_pids(runs), 30), "Streamlit outlived transeval board"
    assert _wait(lambda: not _port_open(port), 30), "the port is still held"


def test_board_without_terminal_serves_chromium_and_stops_on_sigterm(runs: Path, home: Path, tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "board.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(TRANSEVAL), "board", str(runs), "--port", str(port)], env=_newcomer_env(home),
                                stdout=out, stderr=subprocess.STDOUT, preexec_fn=lambda: os.close(0))
    try:
        up = _wait(lambda: _healthy(port) or proc.poll() is not None, 120) and proc.poll() is None
        text = log.read_text(encoding="utf-8", errors="replace")
        assert up, f"the board did not start (exit {proc.poll()}): {text}"
        assert "Email" not in text and "Welcome to Streamlit" not in text, text
        assert f"http://127.0.0.1:{port}" in text  # where to point a browser
        assert len(_streamlit_pids(runs)) == 1
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            sync_playwright = None
        if sync_playwright is not None and Path(CHROMIUM).exists():
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM,
                                            args=["--no-sandbox", "--disable-dev-shm-usage"])
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                page.get_by_text("transeval leaderboard").first.wait_for(timeout=90_000)
                # the leaderboard grid draws on a canvas; its cells are also kept as (hidden) text for a11y
                page.get_by_text(MODEL_A).first.wait_for(state="attached", timeout=90_000)
                browser.close()
        else:  # the page itself needs a browser; make browser installs one
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
                assert resp.status == 200 and b"<div id=\"root\"" in resp.read()
            pytest.skip(f"served, but Chromium ({CHROMIUM}) or Playwright is missing: page not rendered")
        proc.send_signal(signal.SIGTERM)
        _stopped(proc, runs, port)
        assert proc.returncode == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _streamlit_pids(runs):
            os.kill(pid, signal.SIGKILL)


def test_board_in_a_terminal_never_prompts_and_dies_with_its_parent(runs: Path, home: Path) -> None:
    port = _free_port()
    leader, follower = pty.openpty()
    proc = subprocess.Popen([str(TRANSEVAL), "board", str(runs), "--port", str(port)], env=_newcomer_env(home),
                            stdin=follower, stdout=follower, stderr=follower, start_new_session=True)
    os.close(follower)
    screen = b""
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _healthy(port) and proc.poll() is None:
            if select.select([leader], [], [], 0.5)[0]:
                try:
                    screen += os.read(leader, 4096)
                except OSError:
                    break
        while select.select([leader], [], [], 1.0)[0]:  # what the terminal shows once it listens
            try:
                screen += os.read(leader, 4096)
            except OSError:
                break
        text = screen.decode("utf-8", "replace")
        assert _healthy(port), f"the board did not start in a terminal (exit {proc.poll()}): {text}"
        assert "Email" not in text and "Welcome to Streamlit" not in text, text
        assert "no display here" in text  # no console browser hijacks the terminal; the URL is printed
        # SIGKILL: transeval board cannot clean up, so Streamlit must go by itself (parent-death signal)
        os.kill(proc.pid, signal.SIGKILL)
        _stopped(proc, runs, port)
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
        for pid in _streamlit_pids(runs):
            os.kill(pid, signal.SIGKILL)
