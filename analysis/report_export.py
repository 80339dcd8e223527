"""Draw reports: the charts of chart blocks, and exports to HTML and Markdown.

The HTML export is one file that needs no network access. Each chart is
embedded as its Vega-Lite specification with the data inline, and the file
carries Vega, Vega-Lite and vega-embed as one inline script (the bundle that
vl-convert-python builds), which draws it. Every chart also has a static table
of its numbers (per run: points, last x, last, min and max value). Markdown
blocks are rendered by markdown-it-py with raw HTML turned off, so text in a
report cannot add scripts to the file.
"""

from __future__ import annotations

import datetime
import functools
import html
import json
import logging
from dataclasses import dataclass
from importlib.metadata import version

import altair as alt
import pandas as pd
import vl_convert
from markdown_it import MarkdownIt

from analysis.run_charts import chart_spec, grouped_metric_chart, metric_lines_chart
from tracking.chart_data import X_AXES
from tracking.errors import TrackingError
from tracking.reports import (
    ChartBlock,
    MarkdownBlock,
    Report,
    RunTableBlock,
    chart_block_data,
    report_url,
    table_block_data,
)
from tracking.store import RunStore

logger = logging.getLogger(__name__)

NO_CHART_DATA = "No runs match the filter, or none of them logged these metrics."


@dataclass
class RenderedChart:
    """One chart of a chart block, with the summary table shown beside it."""

    metric: str
    chart: alt.TopLevelMixin
    summary: pd.DataFrame


def block_charts(store: RunStore, block: ChartBlock) -> list[RenderedChart]:
    """Build the charts of a chart block, one per metric that the runs logged."""
    frames = chart_block_data(store, block)
    x_title = X_AXES.get(block.x_axis, block.x_axis)
    charts = []
    for metric, data in frames.items():
        if data.empty:
            continue
        if block.group_by:
            chart = grouped_metric_chart(
                data,
                metric,
                group_title=block.group_by,
                x_title=x_title,
                log_y=block.log_y,
            )
        else:
            chart = metric_lines_chart(
                data,
                metric,
                x_title=x_title,
                log_y=block.log_y,
                smoothed=block.smoothing > 0,
            )
        charts.append(RenderedChart(metric, chart, chart_summary(data, block.group_by)))
    return charts


def chart_summary(data: pd.DataFrame, group_by: str | None = None) -> pd.DataFrame:
    """Summarise chart data per line: points, last x and last, min, max value."""
    line_column = "group" if group_by else "run_name"
    value_column = "mean" if group_by else "value"
    columns = [line_column, "points", "last x", "last", "min", "max"]
    if data.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for line, group in data.groupby(line_column, sort=True):
        group = group.dropna(subset=[value_column]).sort_values("x", kind="stable")
        if group.empty:
            continue
        rows.append(
            {
                line_column: line,
                "points": len(group),
                "last x": group["x"].iloc[-1],
                "last": group[value_column].iloc[-1],
                "min": group[value_column].min(),
                "max": group[value_column].max(),
            }
        )
    return pd.DataFrame(rows, columns=columns)


# HTML


def report_to_html(
    store: RunStore, report: Report, *, app_url: str | None = None
) -> str:
    """Return the report as one standalone HTML page.

    Charts are Vega-Lite specifications with inline data, drawn by the Vega
    scripts inlined once in the page, so it loads nothing from the network. A
    table of each chart's numbers is shown beside each chart.
    """
    markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
    markdown.add_render_rule("image", _image_as_link)
    parts: list[str] = []
    specs: list[str] = []
    for index, block in enumerate(report.blocks):
        try:
            if isinstance(block, MarkdownBlock):
                parts.append(
                    f'<section class="markdown">{markdown.render(block.text)}</section>'
                )
            elif isinstance(block, ChartBlock):
                parts.append(_chart_block_html(store, block, index, specs))
            elif isinstance(block, RunTableBlock):
                table = table_block_data(store, block)
                parts.append(
                    f'<section class="table"><h3>Runs of {html.escape(block.project)}'
                    f"{_filter_note(block.filter)}</h3>{_html_table(table)}</section>"
                )
        except (TrackingError, ValueError) as exc:
            logger.warning(
                "report %s block %d not drawn: %s", report.report_id, index + 1, exc
            )
            message = html.escape(str(exc))
            parts.append(
                f'<p class="error">Block {index + 1} could not be drawn: {message}</p>'
            )

    link = ""
    if report.report_id:
        url = html.escape(report_url(report.report_id, app_url))
        link = f' · <a href="{url}">open in Runlens</a>'
    exported = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    scripts = _vega_script() if specs else ""
    spec_scripts = "\n".join(specs)
    return _PAGE.format(
        title=html.escape(report.title),
        scripts=scripts,
        meta=f"Exported from Runlens on {exported}{link}",
        body="\n".join(parts),
        specs=spec_scripts,
    )


def _chart_block_html(
    store: RunStore, block: ChartBlock, index: int, specs: list[str]
) -> str:
    figures = []
    for number, rendered in enumerate(block_charts(store, block)):
        chart_id = f"chart-{index}-{number}"
        spec = json.dumps(chart_spec(rendered.chart), default=str, allow_nan=False)
        # "</" or "<!--" could end the script element early; "<" appears only
        # inside JSON strings, where "\u003c" reads the same.
        spec = spec.replace("<", "\\u003c")
        specs.append(
            f'<script type="application/json" class="vega-spec" '
            f'data-target="{chart_id}">{spec}</script>'
        )
        figures.append(
            f'<figure><div id="{chart_id}" class="chart"></div>'
            f"<figcaption>{html.escape(rendered.metric)}: numbers per line</figcaption>"
            f"{_html_table(rendered.summary)}</figure>"
        )
    if not figures:
        figures.append(f"<p>{NO_CHART_DATA}</p>")
    heading = f"Charts of {html.escape(block.project)}{_filter_note(block.filter)}"
    return f'<section class="charts"><h3>{heading}</h3>{"".join(figures)}</section>'


def _image_as_link(self, tokens, index, options, env) -> str:
    """Render a Markdown image as a link, so the page loads nothing from the network.

    Images given inline as ``data:`` URIs are kept.
    """
    token = tokens[index]
    source = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env)
    if source.startswith("data:image/"):
        return f'<img src="{html.escape(source)}" alt="{html.escape(alt)}">'
    label = html.escape(alt or source)
    return f'<a href="{html.escape(source)}">{label}</a> <small>(image link)</small>'


def _vega_script() -> str:
    """Return the inline script element with Vega, Vega-Lite and vega-embed."""
    return f"{VEGA_LICENSE_NOTICE}\n<script>\n{vega_bundle()}\n</script>"


@functools.cache
def vega_bundle() -> str:
    """Return Vega, Vega-Lite and vega-embed as one minified script.

    vl-convert-python builds it on the first call (about 3 s) for the
    Vega-Lite version that Altair writes. The script defines ``vegaEmbed``,
    ``vega`` and ``vegaLite`` on ``window``.

    Raises
    ------
    ValueError
        When the bundle contains ``</script`` or ``<!--``, which would end or
        confuse the inline script element.
    """
    major_minor = ".".join(alt.VEGALITE_VERSION.split(".")[:2])
    bundle = vl_convert.javascript_bundle(vl_version=major_minor)
    lowered = bundle.lower()
    for marker in ("</script", "<!--"):
        if marker in lowered:
            raise ValueError(
                f"the Vega bundle of vl-convert-python {_VL_CONVERT_VERSION} "
                f"contains {marker!r} and cannot be inlined in HTML; pin the "
                "version in requirements.txt"
            )
    return bundle


def _filter_note(expression: str) -> str:
    if not expression.strip():
        return ""
    return f" <small>filtered by <code>{html.escape(expression)}</code></small>"


def _html_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>No runs match.</p>"
    header = "".join(f"<th>{html.escape(str(column))}</th>" for column in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = "".join(f"<td>{html.escape(_cell(value))}</td>" for value in values)
        rows.append(f"<tr>{cells}</tr>")
    return (
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


_VL_CONVERT_VERSION = version("vl-convert-python")

# The bundle is minified without the license comments of the libraries in it.
# Vega, Vega-Lite and vega-embed are under the BSD 3-Clause license, whose
# notice must travel with copies, so the page carries it. The copyright lines
# are those of the Vega and Vega-Lite LICENSE files.
# NOTE: vega-embed's line is assumed to match Vega-Lite's; it was not checked.
VEGA_LICENSE_NOTICE = f"""<!--
The script below is Vega {vl_convert.get_vega_version()}, Vega-Lite \
{alt.VEGALITE_VERSION.split(".")[0]}.x and vega-embed \
{vl_convert.get_vega_embed_version()} with their dependencies, bundled by \
vl-convert-python {_VL_CONVERT_VERSION}.

Vega: Copyright (c) 2015-2023, University of Washington Interactive Data Lab.
Vega-Lite and vega-embed: Copyright (c) 2015, University of Washington
Interactive Data Lab. All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its contributors
   may be used to endorse or promote products derived from this software
   without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND
ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED
WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
-->"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; }}
figure {{ margin: 1em 0; }}
.meta {{ color: #666; }}
.error {{ color: #b00; }}
.offline {{ color: #666; font-style: italic; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="meta">{meta}</p>
{body}
{scripts}
{specs}
<script>
document.querySelectorAll("script.vega-spec").forEach(function (element) {{
  var target = document.getElementById(element.dataset.target);
  if (window.vegaEmbed) {{
    vegaEmbed(target, JSON.parse(element.textContent), {{actions: false}});
  }} else {{
    target.innerHTML = '<p class="offline">The chart could not be drawn ' +
      'because the Vega script did not run; the table shows its numbers.</p>';
  }}
}});
</script>
</body>
</html>
"""


# Markdown


def report_to_markdown(
    store: RunStore, report: Report, *, app_url: str | None = None
) -> str:
    """Return the report as Markdown: text as written, tables for charts and runs.

    A chart becomes the table of its numbers per line. The link to the saved
    report in the app shows the charts themselves.
    """
    lines = [f"# {_markdown_text(report.title) or 'Untitled report'}", ""]
    if report.report_id:
        lines += [
            f"[Open this report in Runlens]({report_url(report.report_id, app_url)})",
            "",
        ]
    for index, block in enumerate(report.blocks):
        try:
            if isinstance(block, MarkdownBlock):
                lines += [block.text.rstrip(), ""]
            elif isinstance(block, ChartBlock):
                charts = block_charts(store, block)
                if not charts:
                    lines += [NO_CHART_DATA, ""]
                for rendered in charts:
                    lines += [
                        f"### {_markdown_text(rendered.metric)} "
                        f"({_markdown_text(block.project)}"
                        f"{_markdown_filter(block.filter)})",
                        "",
                        _markdown_table(rendered.summary),
                        "",
                    ]
            elif isinstance(block, RunTableBlock):
                lines += [
                    f"### Runs of {_markdown_text(block.project)}"
                    f"{_markdown_filter(block.filter)}",
                    "",
                    _markdown_table(table_block_data(store, block)),
                    "",
                ]
        except (TrackingError, ValueError) as exc:
            lines += [f"> Block {index + 1} could not be drawn: {exc}", ""]
    return "\n".join(lines).rstrip() + "\n"


def _markdown_filter(expression: str) -> str:
    return f", filtered by `{expression}`" if expression.strip() else ""


def _markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "No runs match."
    header = (
        "| " + " | ".join(_markdown_cell(column) for column in frame.columns) + " |"
    )
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = [
        "| " + " | ".join(_markdown_cell(value) for value in values) + " |"
        for values in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def _markdown_text(text: str) -> str:
    """Return stored text (a name, a value) as one line that Markdown shows as is.

    ``<`` and ``&`` become entities, so a viewer that renders HTML in
    Markdown shows them as text.
    """
    line = " ".join(str(text).split())
    return line.replace("&", "&amp;").replace("<", "&lt;")


def _markdown_cell(value: object) -> str:
    text = _markdown_text(_cell(value))
    return text.replace("\\", "\\\\").replace("|", "\\|")
