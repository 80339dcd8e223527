"""The exported report HTML in headless Chromium with every network request aborted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import tracking
from analysis.report_export import report_to_html
from tests.browser.test_deep_links import CHROMIUM, CHROMIUM_FLAGS
from tracking.reports import ChartBlock, MarkdownBlock, Report

PROJECT = "offline-report"


@pytest.fixture
def offline_page():
    """A Chromium page whose requests other than file:// URLs are aborted."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Chromium is not installed: the browser tests need Debian's chromium "
            "(apt-get install chromium); .ci/run installs it"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS
        )
        context = browser.new_context()
        blocked: list[str] = []

        def route(request_route):
            url = request_route.request.url
            if url.startswith("file://"):
                request_route.continue_()
                return
            blocked.append(url)
            request_route.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.blocked = blocked
        yield page
        context.close()
        browser.close()


def _store_with_runs(location: str):
    store = tracking.open_store(location)
    for index in range(2):
        pk = store.create_run(
            project=PROJECT,
            run_id=f"run-{index}",
            name=f"run-{index}",
            config={},
            tags=[],
            notes=None,
            group=None,
            job_type=None,
        )
        now = time.time()
        points = [
            (pk, "loss", step, 1.0 / (step + 1 + index), now) for step in range(20)
        ]
        store.save_batch(pk, points, last_step=19)
        store.finish_run(pk, exit_code=0, summary={}, config={})
    return store


def test_exported_report_draws_offline(sqlite_store, tmp_path, offline_page):
    store = _store_with_runs(sqlite_store)
    report = Report("Offline", [MarkdownBlock("text"), ChartBlock(PROJECT, ["loss"])])
    path = tmp_path / "report.html"
    path.write_text(report_to_html(store, report), encoding="utf-8")

    errors: list[str] = []
    offline_page.on("pageerror", lambda error: errors.append(str(error)))
    offline_page.goto(path.as_uri())
    chart = offline_page.locator("#chart-1-0")
    chart.locator("svg, canvas").first.wait_for(timeout=30_000)

    assert errors == []
    assert offline_page.locator(".offline").count() == 0
    # vega-embed draws on a canvas by default; the marks are in it, and the
    # summary table beside the chart still lists both runs.
    assert chart.locator("svg, canvas").count() >= 1
    assert offline_page.locator("figure table tbody tr").count() == 2
    assert offline_page.blocked == []
