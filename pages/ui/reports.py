"""Sections of the Reports page: viewing a report and composing one.

The report being edited is a draft in session state, a dict with the
``report_id``, ``title`` and ``blocks`` (as :func:`tracking.reports.block_to_dict`
returns them), so edits survive reruns until the report is saved.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pandas as pd
import streamlit as st

from analysis.report_export import (
    NO_CHART_DATA,
    block_charts,
    report_to_html,
    report_to_markdown,
)
from tracking import RunStore, TrackingError
from tracking.chart_data import X_AXES
from tracking.query import run_table
from tracking.reports import (
    MAX_CHART_RUNS,
    MAX_TABLE_ROWS,
    ChartBlock,
    MarkdownBlock,
    Report,
    ReportError,
    RunTableBlock,
    block_from_dict,
    block_to_dict,
    check_block,
    delete_report,
    report_url,
    save_report,
    table_block_data,
)

logger = logging.getLogger(__name__)

DRAFT = "report_draft"
NEW_REPORT = "__new__"
BLOCK_TYPES = {"markdown": "Markdown", "chart": "Chart", "run_table": "Run table"}


# Viewing


def view_report(store: RunStore, report: Report) -> None:
    """Draw a saved report, its link and its export buttons."""
    st.header(report.title)
    updated = pd.to_datetime(report.updated_at, unit="s", utc=True)
    st.caption(f"Saved {updated:%Y-%m-%d %H:%M} UTC · link to this report:")
    st.code(report_url(report.report_id), language=None)

    for index, block in enumerate(report.blocks):
        try:
            draw_block(store, block)
        except (TrackingError, ValueError) as exc:
            st.error(f"Block {index + 1} could not be drawn: {exc}")

    st.divider()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", report.title).strip("-").lower() or "report"
    columns = st.columns(3)
    columns[0].download_button(
        "Export as HTML",
        data=report_to_html(store, report),
        file_name=f"{slug}.html",
        mime="text/html",
        key="download_html",
        help="One file that opens offline: charts are Vega-Lite drawn by the "
        "Vega bundle inlined in the page, each with a table of its numbers.",
    )
    columns[1].download_button(
        "Export as Markdown",
        data=report_to_markdown(store, report),
        file_name=f"{slug}.md",
        mime="text/markdown",
        key="download_md",
    )
    confirmed = columns[2].checkbox("Confirm delete", key="confirm_delete_report")
    if columns[2].button("Delete report", key="delete_report", disabled=not confirmed):
        delete_report(store, report.report_id)
        st.query_params.pop("report", None)
        st.session_state["pending_report"] = NEW_REPORT
        st.rerun()


def draw_block(store: RunStore, block: Any) -> None:
    """Draw one block of a report."""
    if isinstance(block, MarkdownBlock):
        st.markdown(block.text)
        return
    note = f" · filter `{block.filter}`" if block.filter.strip() else ""
    if isinstance(block, ChartBlock):
        st.caption(f"Charts of {block.project}{note}")
        charts = block_charts(store, block)
        if not charts:
            st.info(NO_CHART_DATA)
        columns = st.columns(2)
        for index, rendered in enumerate(charts):
            columns[index % 2].altair_chart(rendered.chart, width="stretch")
        return
    st.caption(f"Runs of {block.project}{note}")
    st.dataframe(table_block_data(store, block), hide_index=True)


# Composing


def start_draft(report: Report | None) -> None:
    """Put a report (or an empty one) in session state for editing."""
    st.session_state[DRAFT] = {
        "report_id": report.report_id if report else None,
        "created_at": report.created_at if report else None,
        "blocks": [block_to_dict(block) for block in report.blocks] if report else [],
    }
    st.session_state["report_title"] = report.title if report else ""


def _move_up(index: int) -> None:
    blocks = st.session_state[DRAFT]["blocks"]
    blocks[index - 1], blocks[index] = blocks[index], blocks[index - 1]


def _remove(index: int) -> None:
    del st.session_state[DRAFT]["blocks"][index]


def edit_report(store: RunStore, projects: list[str]) -> None:
    """Draw the editor for the draft: title, blocks, new block form and save."""
    draft = st.session_state[DRAFT]
    st.text_input("Title", key="report_title")

    for index, data in enumerate(draft["blocks"]):
        with st.container(border=True):
            columns = st.columns([6, 1, 1])
            columns[0].markdown(f"**{index + 1}. {_describe(data)}**")
            columns[1].button(
                "Up",
                key=f"block_up_{index}",
                disabled=index == 0,
                on_click=_move_up,
                args=(index,),
            )
            columns[2].button(
                "Remove", key=f"block_remove_{index}", on_click=_remove, args=(index,)
            )

    with st.container(border=True):
        new_block_form(store, projects)

    if st.button("Save report", type="primary", key="save_report"):
        blocks = [
            block_from_dict(data, index) for index, data in enumerate(draft["blocks"])
        ]
        report = Report(
            st.session_state["report_title"],
            blocks,
            draft["report_id"],
            draft["created_at"],
        )
        try:
            saved = save_report(store, report)
        except ReportError as exc:
            st.error(f"The report was not saved: {exc}")
            return
        st.session_state["pending_report"] = saved.report_id
        st.session_state["report_notice"] = f"Saved report '{saved.title}'."
        del st.session_state[DRAFT]
        st.rerun()


def _describe(data: dict[str, Any]) -> str:
    kind = data["type"]
    if kind == "markdown":
        first = data["text"].strip().splitlines()[0] if data["text"].strip() else ""
        return f"Markdown: {first[:60]}"
    note = f", filter {data['filter']}" if data.get("filter") else ""
    if kind == "chart":
        return f"Chart of {', '.join(data['metrics'])} in {data['project']}{note}"
    return f"Run table of {data['project']}{note}"


def new_block_form(store: RunStore, projects: list[str]) -> None:
    """Draw the fields of a new block and append it to the draft on 'Add block'."""
    kind = st.selectbox(
        "New block",
        list(BLOCK_TYPES),
        format_func=BLOCK_TYPES.get,
        key="new_block_type",
    )
    if kind == "markdown":
        text = st.text_area("Markdown", key="new_markdown", height=150)
        block: Any = MarkdownBlock(text)
    elif not projects:
        st.info("The store has no projects yet; log runs to chart them.")
        return
    else:
        project = st.selectbox("Project", projects, key="new_block_project")
        expression = st.text_input(
            "Run filter", key="new_block_filter", placeholder='state == "finished"'
        )
        runs = store.runs(project)
        if kind == "chart":
            block = _chart_fields(store, project, expression, runs)
        else:
            block = _table_fields(project, expression, runs)

    if st.button("Add block", key="add_block"):
        try:
            check_block(block, len(st.session_state[DRAFT]["blocks"]))
        except ReportError as exc:
            st.error(f"The block was not added: {exc}")
            return
        st.session_state[DRAFT]["blocks"].append(block_to_dict(block))
        st.rerun()


def _chart_fields(
    store: RunStore, project: str, expression: str, runs: pd.DataFrame
) -> ChartBlock:
    run_ids = runs["run_id"].tolist()[-MAX_CHART_RUNS:] if not runs.empty else []
    keys = store.history_keys(project, run_ids)
    metrics = st.multiselect("Metrics", keys, key="new_chart_metrics")
    columns = st.columns(4)
    x_axis = columns[0].selectbox(
        "x axis",
        list(X_AXES) + keys,
        format_func=lambda option: X_AXES.get(option, f"metric: {option}"),
        key="new_chart_x",
    )
    smoothing = columns[1].slider(
        "Smoothing", 0.0, 0.99, 0.0, 0.01, key="new_chart_smoothing"
    )
    log_y = columns[2].toggle("Log y", key="new_chart_log_y")
    config_columns = sorted(c for c in runs.columns if c.startswith("config."))
    group_by = columns[3].selectbox(
        "Group by",
        [None, *config_columns],
        format_func=lambda option: "(no grouping)" if option is None else option,
        key="new_chart_group_by",
    )
    max_runs = st.number_input(
        "Newest runs to draw",
        min_value=1,
        max_value=1000,
        value=MAX_CHART_RUNS,
        key="new_chart_max_runs",
    )
    return ChartBlock(
        project,
        metrics,
        filter=expression,
        x_axis=x_axis,
        smoothing=smoothing,
        log_y=log_y,
        group_by=group_by,
        max_runs=int(max_runs),
    )


def _table_fields(project: str, expression: str, runs: pd.DataFrame) -> RunTableBlock:
    table_columns = run_table(runs).columns.tolist() if not runs.empty else []
    columns = st.multiselect("Columns", table_columns, key="new_table_columns")
    controls = st.columns(3)
    sort_options = table_columns or ["created_at"]
    sort_by = controls[0].selectbox(
        "Sort by",
        sort_options,
        index=sort_options.index("created_at") if "created_at" in sort_options else 0,
        key="new_table_sort",
    )
    descending = controls[1].toggle("Descending", value=True, key="new_table_desc")
    limit = controls[2].number_input(
        "Rows",
        min_value=1,
        max_value=10_000,
        value=MAX_TABLE_ROWS,
        key="new_table_limit",
    )
    return RunTableBlock(
        project,
        filter=expression,
        columns=columns or None,
        sort_by=sort_by,
        descending=descending,
        limit=int(limit),
    )
