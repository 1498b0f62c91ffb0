"""``scslab ui`` in a real browser: Debian's Chromium, driven by Playwright, runs a scenario.

The test starts ``scslab ui`` on a free port of 127.0.0.1, waits for Streamlit's health endpoint,
picks a preset and a small size in the page, presses Run, and waits for the charts (drawn by
Vega-Embed inside the ``stVegaLiteChart`` element) and the harm audit to appear. It uses the
system's Chromium (``apt-get install chromium``, done by ``.ci/run``), not a browser build of
Playwright's own, and is skipped only where Chromium or Playwright is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt-get install chromium"),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="needs Playwright: pip install -e '.[test]'",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("streamlit") is None,
        reason="needs Streamlit: pip install -e '.[test]'",
    ),
]

PRESET = "integrated_2020"  # every mechanism on; its kernels are compiled by earlier tests
RUN_TIMEOUT_S = 420
"""Long enough to compile the preset's kernels on two cores when this test runs alone."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@pytest.fixture
def server(tmp_path: Path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "scslab.cli", "ui", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, (
                "no health after 60 s\n" + (tmp_path / "server.log").read_text()
            )
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_a_scenario_runs_through_the_page(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    started = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server)
            run = page.get_by_role("button", name="Run", exact=True)
            expect(run).to_be_visible(timeout=60_000)
            # the preset: open the select box, type the name, take the option
            preset = page.get_by_test_id("stSelectbox").filter(has_text="Preset")
            preset.get_by_role("combobox").click()
            page.get_by_role("option", name=PRESET, exact=True).click()
            expect(preset.get_by_role("combobox")).to_have_value(PRESET)
            # the smallest population: the people slider to its start
            people = page.get_by_test_id("stSlider").filter(has_text="People")
            people.get_by_role("slider").press("Home")
            expect(people).to_contain_text("1000")
            run.click()
            chart = page.get_by_test_id("stVegaLiteChart").first
            expect(chart.locator("canvas, svg").first).to_be_visible(timeout=RUN_TIMEOUT_S * 1000)
            audit = page.get_by_test_id("stTable")
            expect(audit).to_contain_text("innocents punished", timeout=30_000)
            expect(audit).to_contain_text("household members of listed people")
            caption = page.get_by_test_id("stCaptionContainer")
            expect(caption.filter(has_text=f"{PRESET}: 1,000 synthetic people")).to_be_visible()
            assert page.get_by_test_id("stVegaLiteChart").count() >= 3
            page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
        finally:
            browser.close()
    print(f"browser test: {time.monotonic() - started:.1f} s in the page")
