"""Report exports: one standalone HTML file and Markdown."""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser

import pytest

import tracking
from analysis.report_export import (
    VEGA_LICENSE_NOTICE,
    block_charts,
    chart_summary,
    report_to_html,
    report_to_markdown,
    vega_bundle,
)
from tracking.reports import (
    ChartBlock,
    MarkdownBlock,
    Report,
    RunTableBlock,
    chart_block_data,
    save_report,
)

PROJECT = "export"


@pytest.fixture
def store(sqlite_store):
    store = tracking.open_store()
    for index, name in enumerate(["alpha", "beta|pipe", "</script><b>x"]):
        pk = store.create_run(
            project=PROJECT,
            run_id=f"run-{index}",
            name=name,
            config={"lr": 0.1 * (index + 1)},
            tags=[],
            notes=None,
            group=None,
            job_type=None,
        )
        now = time.time()
        points = [
            (pk, "loss", step, 1.0 / (step + 1 + index), now) for step in range(5)
        ]
        store.save_batch(pk, points, last_step=4)
        store.finish_run(pk, exit_code=0, summary={"acc": 0.7 + index / 10}, config={})
    return store


def _report(store) -> Report:
    report = Report(
        "Study <one>",
        [
            MarkdownBlock("## Notes\n\n<script>alert(1)</script> and **bold**"),
            ChartBlock(PROJECT, ["loss"]),
            RunTableBlock(PROJECT, columns=["summary.acc"]),
            ChartBlock(PROJECT, ["loss"], filter="config.nope > 1"),
        ],
    )
    return save_report(store, report)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts: list[tuple[dict, str]] = []
        self.tables = 0
        self._in_script: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))
        if tag == "table":
            self.tables += 1

    def handle_data(self, data):
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None


def test_html_embeds_specs_with_data(store):
    report = _report(store)
    page = report_to_html(store, report, app_url="http://app.test")
    parser = _Collector()
    parser.feed(page)

    sources = [attrs.get("src") for attrs, _ in parser.scripts if attrs.get("src")]
    assert sources == []
    specs = [
        json.loads(text)
        for attrs, text in parser.scripts
        if attrs.get("class") == "vega-spec"
    ]
    assert len(specs) == 1
    rows = [row for dataset in specs[0]["datasets"].values() for row in dataset]
    expected = chart_block_data(store, report.blocks[1])["loss"]
    assert len(rows) == len(expected) == 15
    assert sorted(row["value"] for row in rows) == sorted(expected["value"])
    assert specs[0]["$schema"].startswith("https://vega.github.io/schema/vega-lite/")

    # One summary table for the chart and one for the run table.
    assert parser.tables == 2
    assert f"http://app.test/Reports?report={report.report_id}" in page


def test_html_escapes_text(store):
    page = report_to_html(store, _report(store))
    assert "<title>Study &lt;one&gt;</title>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<strong>bold</strong>" in page
    # A run named "</script>..." cannot close the spec's script element.
    spec_text = re.findall(r'class="vega-spec"[^>]*>(.*?)</script>', page, re.S)
    assert len(spec_text) == 1
    assert "<" not in spec_text[0]
    assert "\\u003c/script>\\u003cb>x" in spec_text[0]
    assert "&lt;/script&gt;&lt;b&gt;x" in page


def test_block_errors_shown_in_place(store):
    page = report_to_html(store, _report(store))
    assert "Block 4 could not be drawn" in page
    assert "unknown column &#x27;config.nope&#x27;" in page


def test_markdown_export(store):
    report = _report(store)
    text = report_to_markdown(store, report, app_url="http://app.test")
    lines = text.splitlines()
    assert lines[0] == "# Study &lt;one>"
    assert f"(http://app.test/Reports?report={report.report_id})" in lines[2]
    assert "## Notes" in lines
    assert "| name | summary.acc |" in lines
    assert r"| beta\|pipe | 0.8 |" in lines
    assert "### loss (export)" in lines
    assert "> Block 4 could not be drawn: invalid filter at character 1, " in text


def test_chart_summary_by_hand(store):
    charts = block_charts(store, ChartBlock(PROJECT, ["loss"]))
    summary = charts[0].summary.set_index("run_name")
    # run-0 logs 1/(step + 1) for steps 0..4.
    assert summary.loc["alpha", "points"] == 5
    assert summary.loc["alpha", "last x"] == 4.0
    assert summary.loc["alpha", "last"] == pytest.approx(0.2)
    assert summary.loc["alpha", "max"] == pytest.approx(1.0)
    assert chart_summary(charts[0].summary.iloc[0:0]).empty


def test_html_inlines_vega_once(store):
    page = report_to_html(store, _report(store))
    parser = _Collector()
    parser.feed(page)

    # Nothing is loaded by URL: no script src, stylesheet link or image
    # outside the bundle's own code.
    bundle = vega_bundle()
    markup = page.replace(bundle, "")
    assert not re.search(r"<script[^>]*\bsrc\s*=", markup, re.I)
    assert not re.search(r"<(link|img|iframe)\b", markup, re.I)
    inline = [text for attrs, text in parser.scripts if bundle in text]
    assert len(inline) == 1
    assert page.count(bundle) == 1
    assert "window.vegaEmbed=" in bundle
    # The bundle is minified without license comments, so the page adds them.
    assert page.count(VEGA_LICENSE_NOTICE) == 1
    assert "University of Washington Interactive Data Lab" in VEGA_LICENSE_NOTICE
    assert "Redistributions in binary form must reproduce" in VEGA_LICENSE_NOTICE
    assert page.index(VEGA_LICENSE_NOTICE) < page.index(bundle)


def test_html_without_charts_has_no_bundle(store):
    report = Report("Text only", [MarkdownBlock("just text")])
    page = report_to_html(store, report)
    assert vega_bundle() not in page
    assert "<script" in page  # the drawing loop stays, and finds no spec


def test_html_turns_remote_images_into_links(store):
    pixel = "data:image/png;base64,iVBORw0KGgo="
    report = Report(
        "Images",
        [MarkdownBlock(f"![plot](http://example.test/x.png) ![dot]({pixel})")],
    )
    page = report_to_html(store, report)
    assert '<img src="http' not in page
    assert '<a href="http://example.test/x.png">plot</a>' in page
    assert f'<img src="{pixel}" alt="dot">' in page


def test_markdown_export_writes_stored_text_as_text(store):
    report = Report("Line one\n# injected", [RunTableBlock(PROJECT, columns=["name"])])
    text = report_to_markdown(store, report)
    assert text.startswith("# Line one # injected\n")
    assert "\n# injected" not in text
    assert "| &lt;/script>&lt;b>x |" in text
    assert "| beta\\|pipe |" in text
    assert report_to_markdown(store, Report("  ", [])).startswith("# Untitled report")
