"""The running app in headless Chromium: deep links into pages/ as first request."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import tracking
from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_streamlit(port: int, store: str, folder: Path, log) -> subprocess.Popen:
    env = {**os.environ, "RUNLENS_STORE": store}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _is_healthy(base: str, seconds: float = 60) -> bool:
    """Poll the health endpoint, which runs no page script, until it answers."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{base}/_stcore/health", timeout=1)
            return True
        except OSError:
            time.sleep(0.3)
    return False


@pytest.fixture
def server(demo_store, tmp_path):
    """A fresh `streamlit run app.py` on the demo store; no request served yet."""
    port = _free_port()
    log = open(tmp_path / "streamlit.log", "w")
    process = _start_streamlit(port, demo_store, tmp_path, log)

    base = f"http://127.0.0.1:{port}"
    if not _is_healthy(base):
        process.kill()
        pytest.fail(
            f"streamlit did not start: {(tmp_path / 'streamlit.log').read_text()}"
        )
    yield base
    process.terminate()
    process.wait(10)
    log.close()


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Chromium is not installed: the browser tests need Debian's chromium "
            "(apt-get install chromium); .ci/run installs it"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS
        )
        yield instance
        instance.close()


def test_deep_link_to_whatif_first_request(server, browser, demo_store):
    runs = tracking.open_store(demo_store).runs("adult-income")
    run = runs[runs["name"].str.startswith("hgb")].iloc[0]
    page = browser.new_page()
    page.goto(f"{server}/What-If?project=adult-income&run={run['run_id']}")

    page.get_by_text("Accuracy", exact=True).first.wait_for(timeout=120_000)
    assert page.get_by_role("heading", name="What-If").count() == 1
    # The page opened the linked run: its accuracy is that run's test accuracy.
    accuracy = page.locator("[data-testid='stMetricValue']").first.inner_text()
    assert accuracy == f"{run['summary.test_accuracy']:.3f}"
    navigation = page.locator("[data-testid='stSidebarNav']").inner_text()
    assert "Runs" in navigation
    assert "What-If" in navigation or "What If" in navigation
    page.screenshot(path=str(Path(demo_store).parent / "whatif.png"))


def test_deep_link_to_runs_first_request(server, browser):
    page = browser.new_page()
    page.goto(f"{server}/Runs?project=adult-income")
    page.get_by_role("heading", name="Runs").wait_for(timeout=60_000)
    page.get_by_text("4 of 4 runs").wait_for(timeout=60_000)
