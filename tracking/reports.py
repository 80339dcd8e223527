"""Reports: Markdown, chart and run table blocks, saved in the store.

A report is a title and a list of blocks. A chart block names a project, a
run filter expression (see :mod:`tracking.filter_expr`) and metrics; a run
table block names a project, a filter and columns. Blocks store the query,
not its result, so a report shows the runs as they are when it is opened.
This module keeps reports and computes the data of their blocks; the charts
and the HTML and Markdown exports are drawn by ``analysis.report_export``.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

import pandas as pd
from sqlalchemy import delete, select, update

from tracking import schema
from tracking.chart_data import X_AXES, group_lines, smooth, with_x_axis
from tracking.downsample import MAX_POINTS, downsampled_history
from tracking.errors import TrackingError
from tracking.filter_expr import FilterError, apply_filter, parse_filter
from tracking.query import run_table
from tracking.store import RunStore
from tracking.values import dumps, loads

logger = logging.getLogger(__name__)

APP_URL_ENV = "RUNLENS_APP_URL"
DEFAULT_APP_URL = "http://localhost:8501"
# Streamlit serves pages/4_Reports.py at this path.
REPORTS_PAGE_PATH = "Reports"
MAX_CHART_RUNS = 20
MAX_TABLE_ROWS = 50


class ReportError(TrackingError):
    """An invalid report or block, or a report that is not in the store."""


@dataclass
class MarkdownBlock:
    """Text in Markdown."""

    text: str
    type: str = field(default="markdown", init=False)


@dataclass
class ChartBlock:
    """One chart per metric, for the newest ``max_runs`` runs the filter keeps."""

    project: str
    metrics: list[str]
    filter: str = ""
    x_axis: str = "step"
    smoothing: float = 0.0
    log_y: bool = False
    group_by: str | None = None
    max_runs: int = MAX_CHART_RUNS
    type: str = field(default="chart", init=False)


@dataclass
class RunTableBlock:
    """The runs table of a project, filtered, sorted and cut to ``limit`` rows."""

    project: str
    filter: str = ""
    columns: list[str] | None = None
    sort_by: str = "created_at"
    descending: bool = True
    limit: int = MAX_TABLE_ROWS
    type: str = field(default="run_table", init=False)


Block = MarkdownBlock | ChartBlock | RunTableBlock
_BLOCK_CLASSES: dict[str, type] = {
    "markdown": MarkdownBlock,
    "chart": ChartBlock,
    "run_table": RunTableBlock,
}


@dataclass
class Report:
    """A titled list of blocks; ``report_id`` is set when it is saved."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    report_id: str | None = None
    created_at: float | None = None
    updated_at: float | None = None


# Checking and converting blocks


def block_to_dict(block: Block) -> dict[str, Any]:
    """Return a block as a JSON-ready dict with its ``type``."""
    return asdict(block)


def block_from_dict(data: dict[str, Any], index: int = 0) -> Block:
    """Build and check a block from a dict such as :func:`block_to_dict` returns.

    Raises
    ------
    ReportError
        Naming the block number and the invalid field.
    """
    if not isinstance(data, dict):
        raise ReportError(
            f"block {index + 1} must be a dict, got {type(data).__name__}"
        )
    kind = data.get("type")
    if kind not in _BLOCK_CLASSES:
        raise ReportError(
            f"block {index + 1} has type {kind!r}; use one of "
            f"{', '.join(_BLOCK_CLASSES)}"
        )
    values = {key: value for key, value in data.items() if key != "type"}
    try:
        block = _BLOCK_CLASSES[kind](**values)
    except TypeError as exc:
        raise ReportError(f"block {index + 1} ({kind}): {exc}") from exc
    check_block(block, index)
    return block


def check_block(block: Block, index: int = 0) -> None:
    """Check a block's fields; raises ReportError naming the block and field."""
    where = f"block {index + 1} ({block.type})"
    if isinstance(block, MarkdownBlock):
        if not isinstance(block.text, str):
            raise ReportError(f"{where}: text must be a string")
        return
    if not isinstance(block.project, str) or not block.project:
        raise ReportError(f"{where}: project must be a project name")
    try:
        parse_filter(block.filter)
    except FilterError as exc:
        raise ReportError(f"{where}: {exc}") from exc
    if isinstance(block, ChartBlock):
        if not block.metrics or not all(isinstance(m, str) for m in block.metrics):
            raise ReportError(f"{where}: metrics must be a non-empty list of names")
        if not 0.0 <= block.smoothing < 1.0:
            raise ReportError(f"{where}: smoothing must be in [0, 1)")
        if not 1 <= block.max_runs <= 1000:
            raise ReportError(f"{where}: max_runs must be 1 to 1000")
    else:
        if not 1 <= block.limit <= 10_000:
            raise ReportError(f"{where}: limit must be 1 to 10,000 rows")


# Storing reports


def save_report(store: RunStore, report: Report) -> Report:
    """Insert a new report or update a saved one, and return it with its id.

    Raises
    ------
    ReportError
        For a blank title, an invalid block, or an id that is not stored.
    """
    title = (report.title or "").strip()
    if not title or len(title) > 256:
        raise ReportError("a report needs a title of 1 to 256 characters")
    for index, block in enumerate(report.blocks):
        check_block(block, index)
    blocks = dumps([block_to_dict(block) for block in report.blocks])
    now = time.time()
    table = schema.reports

    with store.write() as conn, conn.begin():
        if report.report_id is None:
            report_id = uuid.uuid4().hex[:12]
            conn.execute(
                table.insert().values(
                    report_id=report_id,
                    title=title,
                    blocks=blocks,
                    created_at=now,
                    updated_at=now,
                )
            )
            created_at = now
        else:
            report_id = report.report_id
            result = conn.execute(
                update(table)
                .where(table.c.report_id == report_id)
                .values(title=title, blocks=blocks, updated_at=now)
            )
            if result.rowcount == 0:
                raise ReportError(f"report {report_id!r} not found; it may be deleted")
            created_at = report.created_at
    logger.info("saved report %s (%r, %d blocks)", report_id, title, len(report.blocks))
    return Report(title, list(report.blocks), report_id, created_at, now)


def load_report(store: RunStore, report_id: str) -> Report:
    """Return a saved report; raises ReportError when there is none."""
    table = schema.reports
    with store.engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.report_id == report_id)).first()
    if row is None:
        raise ReportError(
            f"report {report_id!r} not found in the store; it may be deleted, or "
            "the link may point at another store"
        )
    blocks = [
        block_from_dict(data, index) for index, data in enumerate(loads(row.blocks))
    ]
    return Report(row.title, blocks, row.report_id, row.created_at, row.updated_at)


def list_reports(store: RunStore) -> pd.DataFrame:
    """Return the saved reports, newest change first: id, title and times."""
    table = schema.reports
    query = select(
        table.c.report_id, table.c.title, table.c.created_at, table.c.updated_at
    ).order_by(table.c.updated_at.desc())
    with store.engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all())
    columns = ["report_id", "title", "created_at", "updated_at"]
    if frame.empty:
        return pd.DataFrame({name: [] for name in columns})
    for column in ("created_at", "updated_at"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame[columns]


def delete_report(store: RunStore, report_id: str) -> None:
    """Delete a saved report; raises ReportError when there is none."""
    with store.write() as conn, conn.begin():
        result = conn.execute(
            delete(schema.reports).where(schema.reports.c.report_id == report_id)
        )
    if result.rowcount == 0:
        raise ReportError(f"report {report_id!r} not found; it may be deleted already")
    logger.info("deleted report %s", report_id)


def report_url(report_id: str, app_url: str | None = None) -> str:
    """Return the URL that opens a report in the app.

    ``app_url`` defaults to ``RUNLENS_APP_URL``, then ``http://localhost:8501``.
    """
    base = app_url or os.environ.get(APP_URL_ENV) or DEFAULT_APP_URL
    return f"{base.rstrip('/')}/{REPORTS_PAGE_PATH}?report={quote(report_id)}"


# The data of blocks


def block_runs(store: RunStore, project: str, expression: str) -> pd.DataFrame:
    """Return the live runs of ``project`` that the filter keeps, newest first."""
    runs = store.runs(project)
    if runs.empty:
        return runs
    runs = apply_filter(runs, expression)
    return runs.sort_values("created_at", ascending=False, kind="stable")


def table_block_data(store: RunStore, block: RunTableBlock) -> pd.DataFrame:
    """Return a run table block's rows: filtered, sorted, chosen columns."""
    runs = block_runs(store, block.project, block.filter)
    if runs.empty:
        return pd.DataFrame(columns=["name", "state", "run_id"])
    table = run_table(runs)
    if block.sort_by in table.columns:
        table = table.sort_values(
            block.sort_by, ascending=not block.descending, na_position="last"
        )
    if block.columns:
        keep = [
            "name",
            *[c for c in block.columns if c in table.columns and c != "name"],
        ]
        table = table[keep]
    return table.head(block.limit).reset_index(drop=True)


def chart_block_data(store: RunStore, block: ChartBlock) -> dict[str, pd.DataFrame]:
    """Return a chart block's data, one frame a metric.

    Without ``group_by`` a frame has ``run_name``, ``run_id``, ``x``,
    ``value`` and ``smoothed``; with it, the columns of
    :func:`tracking.chart_data.group_lines`.
    """
    runs = block_runs(store, block.project, block.filter).head(block.max_runs)
    if runs.empty:
        return {metric: pd.DataFrame() for metric in block.metrics}
    run_ids = runs["run_id"].tolist()
    extra = [] if block.x_axis in X_AXES else [block.x_axis]
    keys = list(dict.fromkeys(block.metrics + extra))
    history = downsampled_history(
        store, block.project, run_ids, keys, max_points=MAX_POINTS
    )
    x_history = (
        None if block.x_axis in X_AXES else history[history["key"] == block.x_axis]
    )
    names = runs.set_index("run_id")["name"]

    frames = {}
    for metric in block.metrics:
        lines = history[history["key"] == metric]
        lines = with_x_axis(lines, block.x_axis, x_history)
        lines = smooth(lines, block.smoothing)
        if block.group_by:
            value_column = "smoothed" if block.smoothing > 0 else "value"
            frames[metric] = group_lines(
                lines, runs, block.group_by, value_column=value_column
            )
        else:
            frames[metric] = lines.assign(run_name=lines["run_id"].map(names))
    return frames
