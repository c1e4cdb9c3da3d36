"""The board in a real browser: headless Chromium (Debian package) driven by Playwright for Python.

Starts the board on a free localhost port over the showcase store (three models, every headline family), loads the
leaderboard, checks a model name, the first column and a user rubric's column, opens a sample, opens side by side,
downloads a CSV, saves screenshots under the test's tmp dir (``TRANSEVAL_SCREENSHOTS=DIR`` keeps them), and checks
that an injected ``<script>``/``onerror``/``javascript:`` answer is shown literally and never runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures_board import INJECTION, MODEL_A, add_broken_runs, build_showcase_store, write_conciseness
from scripted_server import ScriptedOpenAI
from transeval.dashboard.serve import board_command

CHROMIUM = os.environ.get("TRANSEVAL_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.slow

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def board_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if sync_playwright is None:
        pytest.skip("Playwright for Python is not installed (make browser installs it)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (make browser installs the Debian package)")
    tmp = tmp_path_factory.mktemp("browser")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRANSEVAL_RUBRICS_DIR", str(write_conciseness(tmp / "rubrics")))
    server = ScriptedOpenAI().start()
    try:
        build_showcase_store(tmp / "runs", server, tmp / "cache")  # three models, every headline family
    finally:
        server.stop()
        mp.undo()
    add_broken_runs(tmp / "runs")
    port = _free_port()
    proc = subprocess.Popen(board_command(tmp / "runs", port, headless=True), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the board did not start within 90 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def settle(page: Any, text: str) -> None:
    """Wait until ``text`` is visible and the script run has finished (no "Running" status, no skeletons)."""
    page.get_by_text(text).first.wait_for(timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]') && "
                           "!document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=60_000)
    page.wait_for_timeout(800)  # let the data grids and charts paint


def test_board_in_chromium(board_url: str, tmp_path: Path) -> None:
    assert sync_playwright is not None
    dialogs: list[str] = []
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1600, "height": 1200}, accept_downloads=True)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(board_url + "/")
        settle(page, "Download leaderboard CSV")
        page.screenshot(path=str(shots / "0_leaderboard_first_screen.png"))  # the viewport: what one sees first
        page.screenshot(path=str(shots / "1_leaderboard.png"), full_page=True)
        body = page.inner_text("body")
        assert MODEL_A in body  # the model picker shows the models
        assert "could not be used" in body  # broken files named, others shown
        # the score of a cell: read through the CSV the page offers (the grid paints on a canvas)
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download leaderboard CSV").click()
        csv_path = tmp_path / "leaderboard.csv"
        dl.value.save_as(csv_path)
        csv = csv_path.read_text(encoding="utf-8")
        assert MODEL_A in csv
        header = csv.splitlines()[0].split(",")
        assert header[2] == '"MT-bench score · thai_mtbench"'  # the first data column is the headline benchmark
        assert '"conciseness · thai_mtbench"' in header  # a user rubric is a column of its own

        page.goto(board_url + "/samples")
        page.get_by_text("Samples").first.wait_for(timeout=60_000)
        page.get_by_text("Model", exact=True).wait_for()
        page.get_by_role("combobox", name="Model", exact=True).click()
        page.get_by_role("option", name=MODEL_A, exact=True).click()
        page.get_by_text("Subtask").or_(page.get_by_role("combobox", name="Task", exact=True)).first.wait_for()
        page.get_by_role("combobox", name="Task", exact=True).click()
        page.get_by_role("option", name="thai_mtbench", exact=True).click()
        settle(page, "of 8 samples")
        page.locator("[data-testid='stExpander'] summary").filter(has_not_text="could not be used").first.click()
        shown = page.locator("[data-testid='stExpander'] [data-testid='stText']").filter(has_text=INJECTION).first
        shown.wait_for(timeout=30_000)
        shown.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "2_sample.png"), full_page=True)
        assert shown.is_visible() and INJECTION in shown.inner_text()
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.locator("img[src='x']").count() == 0

        page.goto(board_url + "/side_by_side")
        settle(page, "Download pairwise_verdicts CSV")
        page.screenshot(path=str(shots / "3_side_by_side.png"), full_page=True)
        body = page.inner_text("body")
        assert "โมเดลข" in body and INJECTION in body

        page.goto(board_url + "/plots")
        settle(page, "Pairwise win rates")
        page.screenshot(path=str(shots / "4_plots.png"), full_page=True)
        page.get_by_text("Safety, refusal and wrong-language rates").first.scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        page.screenshot(path=str(shots / "4b_plots_rates.png"))

        page.goto(board_url + "/reported")
        settle(page, "Source:")
        page.screenshot(path=str(shots / "5_reported.png"), full_page=True)
        browser.close()
    assert dialogs == [], f"injected script ran: {dialogs}"
    keep = os.environ.get("TRANSEVAL_SCREENSHOTS")
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)
    assert len(list(shots.glob("*.png"))) == 7
