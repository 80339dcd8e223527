"""Sections of the Runs page: the table, the charts, actions, diff and details.

Each function reads its widgets, calls ``tracking`` and ``analysis`` for the
work, and draws the result. Widget keys are fixed so that tests can drive them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from analysis.run_chart_defaults import (
    common_run_count,
    default_metrics,
    default_parallel_axes,
    default_scatter_pair,
    is_metric_column,
)
from analysis.run_charts import (
    grouped_metric_chart,
    metric_lines_chart,
    parallel_coordinates_chart,
    parameter_scatter_chart,
)
from pages.ui.store import clear_store_caches
from tracking import RunStore, StoreError
from tracking.chart_data import X_AXES, group_lines, smooth, with_x_axis
from tracking.downsample import MAX_POINTS, downsampled_history
from tracking.filter_expr import EXAMPLE, FilterError, apply_filter, describe_error
from tracking.query import all_tags, filter_runs, run_table
from tracking.run_diff import diff_runs
from tracking.run_lifecycle import delete_runs, purge_runs, restore_runs
from tracking.table_export import table_to_csv
from tracking.table_view import PAGE_SIZES, page_count, page_rows, select_columns

logger = logging.getLogger(__name__)

RELOAD_PAGE = "runs_reload_page"
# While a listed run is running, the table and charts reload this often.
REFRESH_SECONDS = 5.0
# With more config and summary keys than this, the table first shows only
# DEFAULT_KEY_COLUMNS of each; the column chooser adds the others.
MAX_DEFAULT_KEY_COLUMNS = 30
DEFAULT_KEY_COLUMNS = 8


@st.cache_data(ttl=5, show_spinner=False)
def load_deleted_runs(_store: RunStore, url: str, project: str) -> pd.DataFrame:
    return _store.runs(project, deleted=True)


@st.cache_data(ttl=5, show_spinner=False)
def load_history(
    _store: RunStore, url: str, project: str, run_ids: tuple[str, ...], keys: tuple
) -> pd.DataFrame:
    return downsampled_history(_store, project, run_ids, keys, max_points=MAX_POINTS)


def clear_caches() -> None:
    """Forget cached runs and histories after runs were edited or deleted."""
    clear_store_caches()
    load_deleted_runs.clear()
    load_history.clear()


# Filtering and the table


def filtered_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Draw the filters and return the runs that pass all of them."""
    columns = st.columns([2, 2, 3])
    states = columns[0].multiselect(
        "State", sorted(runs["state"].unique()), key="state_filter"
    )
    tags = columns[1].multiselect("Tags", all_tags(runs), key="tag_filter")
    text = columns[2].text_input(
        "Search", key="text_filter", placeholder="name, id, notes, group or tag"
    )
    matching = filter_runs(runs, states=states, tags=tags, text=text)

    # A link with a different filter replaces the one typed earlier. The page
    # records its own URL writes as seen, so they do not count as links.
    linked = st.query_params.get("filter", "")
    if st.session_state.get("filter_expr_seen") != linked:
        st.session_state["filter_expr"] = linked
        st.session_state["filter_expr_seen"] = linked
    expression = st.text_input(
        "Filter expression",
        key="filter_expr",
        placeholder=EXAMPLE,
        help="Compare columns with ==, !=, <, <=, >, >=, in and not in, and "
        "join conditions with and, or, not and parentheses. Quote names with "
        "other characters in backticks: `summary.val-acc`.",
    )
    if expression.strip():
        st.query_params["filter"] = expression
        st.session_state["filter_expr_seen"] = expression
    else:
        st.query_params.pop("filter", None)
        st.session_state["filter_expr_seen"] = ""
    try:
        return apply_filter(matching, expression)
    except FilterError as exc:
        st.error(f"The filter expression was not applied: {exc}")
        st.code(describe_error(expression, exc), language=None)
        return matching


def sorted_table(filtered: pd.DataFrame, all_runs: pd.DataFrame) -> pd.DataFrame:
    """Draw the sort controls and return the table of ``filtered`` runs, sorted."""
    table_columns = run_table(all_runs).columns.tolist()
    sort_columns = st.columns([3, 1])
    sort_by = sort_columns[0].selectbox(
        "Sort by",
        table_columns,
        index=table_columns.index("created_at"),
        key="sort_by",
    )
    descending = sort_columns[1].toggle("Descending", value=True, key="sort_desc")
    return run_table(filtered, sort_by=sort_by, ascending=not descending)


def table_section(table: pd.DataFrame, total: int, project: str) -> pd.DataFrame:
    """Draw the column chooser, one page of the table and the CSV download.

    Returns the rows of the displayed page.
    """
    all_columns = table.columns.tolist()
    chosen = st.multiselect(
        "Columns",
        all_columns,
        default=_default_columns(all_columns),
        key="columns",
    )
    visible = select_columns(table, chosen or None)

    controls = st.columns([1, 1, 3])
    page_size = controls[0].selectbox("Rows a page", PAGE_SIZES, key="page_size")
    pages = page_count(len(visible), page_size)
    page = controls[1].number_input(
        "Page", min_value=1, max_value=pages, value=1, step=1, key="page"
    )
    page = min(int(page), pages)
    rows = page_rows(visible, page, page_size)
    controls[2].caption(f"{len(table):,} of {total:,} runs · page {page} of {pages}")

    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            "created_at": st.column_config.DatetimeColumn(
                "started", format="YYYY-MM-DD HH:mm:ss"
            ),
            "duration": st.column_config.NumberColumn("duration (s)", format="%.1f"),
        },
        key="runs_table",
    )
    st.download_button(
        "Download the filtered table as CSV",
        data=table_to_csv(visible),
        file_name=f"{project}-runs.csv",
        mime="text/csv",
        key="download_csv",
    )
    return rows


def _default_columns(columns: list[str]) -> list[str]:
    """Return every column, or with many keys the first few of each kind."""
    main = [c for c in columns if not c.startswith(("config.", "summary."))]
    config = [c for c in columns if c.startswith("config.")]
    summary = [c for c in columns if c.startswith("summary.")]
    if len(config) + len(summary) <= MAX_DEFAULT_KEY_COLUMNS:
        return columns
    return main + config[:DEFAULT_KEY_COLUMNS] + summary[:DEFAULT_KEY_COLUMNS]


def selected_runs(
    page: pd.DataFrame, filtered: pd.DataFrame, labels: dict[str, str]
) -> list[str]:
    """Draw the run selection: the runs on the page plus any chosen before.

    Only runs that pass the filters stay selected, so a filter drops hidden
    runs from the charts and the diff. The first five runs of the page are
    selected when the page first opens or every chosen run is filtered out.
    """
    visible = set(filtered["run_id"])
    still_listed = [
        run_id
        for run_id in st.session_state.get("chart_runs", [])
        if run_id in visible and run_id in labels
    ]
    if not still_listed:
        # First visit, or another project: start from the page's first runs.
        still_listed = page["run_id"].tolist()[:5]
    st.session_state["chart_runs"] = still_listed
    options = list(dict.fromkeys(still_listed + page["run_id"].tolist()))
    return st.multiselect(
        "Selected runs",
        options,
        format_func=labels.get,
        key="chart_runs",
        help="Charts, the diff and the delete button use these runs.",
    )


# Deleting, restoring and purging


def _on_action(action: Callable[[], str], in_fragment: bool = False) -> None:
    """Run an action from a button callback and keep its outcome for the page.

    ``in_fragment`` marks a button inside the table fragment, after which the
    whole page has to rerun.
    """
    try:
        st.session_state["runs_notice"] = ("success", action())
    except StoreError as exc:
        st.session_state["runs_notice"] = ("error", str(exc))
    clear_caches()
    st.session_state["chart_runs"] = []
    if in_fragment:
        st.session_state[RELOAD_PAGE] = True


def reload_page_after_action() -> None:
    """Rerun the whole page after an action taken inside the table fragment.

    A button in a fragment reruns only the fragment, so the notice and the
    run details outside it would show the runs from before the action.
    """
    if st.session_state.pop(RELOAD_PAGE, False):
        st.rerun(scope="app")


def show_notice() -> None:
    """Show the outcome of the last delete, restore, purge or edit."""
    if st.session_state.get(RELOAD_PAGE):
        # The notice waits for the full rerun that the fragment starts.
        return
    notice = st.session_state.pop("runs_notice", None)
    if notice is not None:
        kind, message = notice
        (st.success if kind == "success" else st.error)(message)


def delete_button(store: RunStore, project: str, run_ids: list[str]) -> None:
    """Draw the button that moves the selected runs to the deleted runs."""

    def delete() -> str:
        count = delete_runs(store, project, run_ids)
        return (
            f"Deleted {count} run(s). Turn on 'Show deleted runs' to restore or "
            "purge them."
        )

    st.button(
        f"Delete {len(run_ids)} selected run(s)",
        key="delete_runs",
        disabled=not run_ids,
        on_click=_on_action,
        args=(delete, True),
    )


def deleted_runs_section(store: RunStore, project: str, runs: pd.DataFrame) -> None:
    """Draw the deleted runs with restore and purge buttons."""
    table = run_table(runs).assign(deleted_at=runs["deleted_at"].to_numpy())
    st.caption(f"{len(runs):,} deleted run(s) in project '{project}'")
    st.dataframe(table, hide_index=True, key="deleted_table")
    labels = {row.run_id: f"{row.name} ({row.run_id})" for row in runs.itertuples()}
    chosen = st.multiselect(
        "Runs to restore or purge",
        list(labels),
        format_func=labels.get,
        key="deleted_runs",
    )

    def restore() -> str:
        return f"Restored {restore_runs(store, project, chosen)} run(s)."

    def purge() -> str:
        result = purge_runs(store, project, chosen)
        st.session_state["deleted_runs"] = []
        return (
            f"Purged {result.runs} run(s): {result.history_rows:,} history rows, "
            f"{result.artifact_versions} artifact version(s) and "
            f"{len(result.files_removed)} file(s) or folder(s)."
        )

    columns = st.columns(3)
    columns[0].button(
        "Restore",
        key="restore_runs",
        disabled=not chosen,
        on_click=_on_action,
        args=(restore,),
    )
    confirmed = columns[1].checkbox(
        "I understand purging cannot be undone", key="confirm_purge"
    )
    columns[2].button(
        "Purge for good",
        key="purge_runs",
        type="primary",
        disabled=not (chosen and confirmed),
        on_click=_on_action,
        args=(purge,),
    )


# Charts


def chart_settings(keys: list[str], runs: pd.DataFrame) -> dict[str, Any]:
    """Draw the chart controls and return their values."""
    metrics = st.multiselect(
        "Metrics", keys, default=default_metrics(keys, runs), key="metrics"
    )

    columns = st.columns(4)
    x_options = list(X_AXES) + [key for key in keys if key not in X_AXES]
    x_axis = columns[0].selectbox(
        "x axis",
        x_options,
        format_func=lambda option: X_AXES.get(option, f"metric: {option}"),
        key="x_axis",
    )

    smoothing = columns[1].slider(
        "Smoothing",
        min_value=0.0,
        max_value=0.99,
        value=0.0,
        step=0.01,
        key="smoothing",
        help="Weight of an exponential moving average over each line's points.",
    )
    method = columns[1].radio(
        "Average",
        ["debiased", "plain"],
        horizontal=True,
        key="smoothing_method",
        help="Debiased (as TensorBoard) does not pull early points towards the "
        "first one.",
    )

    log_x = columns[2].toggle("Log x", key="log_x", disabled=x_axis == "wall_time")
    log_y = columns[2].toggle("Log y", key="log_y")

    config_columns = sorted(c for c in runs.columns if c.startswith("config."))
    group_by = columns[3].selectbox(
        "Group by",
        [None, *config_columns],
        format_func=lambda option: "(no grouping)" if option is None else option,
        key="group_by",
    )

    return {
        "metrics": metrics,
        "x_axis": x_axis,
        "smoothing": smoothing,
        "method": method,
        "log_x": log_x and x_axis != "wall_time",
        "log_y": log_y,
        "group_by": group_by,
    }


def metric_charts(
    store: RunStore,
    project: str,
    run_ids: list[str],
    runs: pd.DataFrame,
    settings: dict[str, Any],
) -> None:
    """Draw one chart per chosen metric for the selected runs."""
    metrics = settings["metrics"]
    x_axis = settings["x_axis"]
    if not metrics:
        return
    keys = list(dict.fromkeys(metrics + ([] if x_axis in X_AXES else [x_axis])))
    history = load_history(store, store.url, project, tuple(run_ids), tuple(keys))
    names = runs.set_index("run_id")["name"]
    x_history = None if x_axis in X_AXES else history[history["key"] == x_axis]
    x_title = X_AXES.get(x_axis, x_axis)

    chart_columns = st.columns(2)
    for index, metric in enumerate(metrics):
        lines = history[history["key"] == metric]
        lines = with_x_axis(lines, x_axis, x_history)
        lines = smooth(lines, settings["smoothing"], settings["method"])
        value_column = "smoothed" if settings["smoothing"] > 0 else "value"
        if settings["group_by"]:
            grouped = group_lines(
                lines, runs, settings["group_by"], value_column=value_column
            )
            chart = grouped_metric_chart(
                grouped,
                metric,
                group_title=settings["group_by"],
                x_title=x_title,
                log_y=settings["log_y"],
            )
        else:
            lines = lines.assign(run_name=lines["run_id"].map(names))
            chart = metric_lines_chart(
                lines,
                metric,
                x_title=x_title,
                log_x=settings["log_x"],
                log_y=settings["log_y"],
                smoothed=settings["smoothing"] > 0,
            )
        chart_columns[index % 2].altair_chart(chart, width="stretch")


def comparison_charts(filtered: pd.DataFrame, selected: pd.DataFrame) -> None:
    """Draw the parameter scatter over the filtered runs and parallel coordinates
    over the selected ones.

    Both open on keys that most selected runs have and that vary between them.
    """
    config_columns = sorted(c for c in filtered.columns if c.startswith("config."))
    summary_columns = sorted(c for c in filtered.columns if c.startswith("summary."))
    if not summary_columns or not config_columns:
        return
    metric_columns = [c for c in summary_columns if is_metric_column(c)]
    basis = selected if not selected.empty else filtered
    scatter_tab, parallel_tab = st.tabs(
        ["Parameter against metric", "Parallel coordinates"]
    )

    parameters = config_columns + summary_columns
    pair = default_scatter_pair(basis, config_columns, metric_columns)
    if pair is None:
        pair = (config_columns[0], (metric_columns or summary_columns)[0])
    columns = scatter_tab.columns(3)
    parameter = columns[0].selectbox(
        "Parameter", parameters, index=parameters.index(pair[0]), key="scatter_x"
    )
    metric = columns[1].selectbox(
        "Metric",
        summary_columns,
        index=summary_columns.index(pair[1]),
        key="scatter_y",
    )
    log_x = columns[2].toggle("Log parameter axis", key="scatter_log_x")
    if common_run_count(filtered, parameter, metric) == 0:
        scatter_tab.info(
            f"No filtered run has both {parameter} and a number in {metric}. "
            "Choose another parameter or metric."
        )
    else:
        scatter_tab.altair_chart(
            parameter_scatter_chart(
                filtered, parameter, metric, color="state", log_x=log_x
            ),
            width="stretch",
        )

    axes = parallel_tab.multiselect(
        "Axes",
        parameters,
        default=default_parallel_axes(basis, config_columns, metric_columns),
        key="parcoords_columns",
    )
    if len(axes) < 2 or selected.empty:
        parallel_tab.info("Choose at least two axes and one selected run.")
        return
    color = axes[-1] if pd.api.types.is_numeric_dtype(selected[axes[-1]]) else None
    parallel_tab.altair_chart(
        parallel_coordinates_chart(selected, axes, color=color), width="stretch"
    )


# Diff and details


def diff_section(store: RunStore, project: str, run_ids: list[str], labels) -> None:
    """Draw the config and summary keys that differ between two selected runs."""
    if len(run_ids) < 2:
        st.caption("Select two runs to compare their config and summary.")
        return
    columns = st.columns([2, 2, 1])
    first = columns[0].selectbox(
        "First run", run_ids, index=0, format_func=labels.get, key="diff_first"
    )
    second = columns[1].selectbox(
        "Second run", run_ids, index=1, format_func=labels.get, key="diff_second"
    )
    include_equal = columns[2].toggle("Show equal keys", key="diff_all")
    diff = diff_runs(
        store.run(project, first),
        store.run(project, second),
        include_equal=include_equal,
    )
    if diff.empty:
        st.info("The two runs have the same config and summary.")
        return
    display = diff.assign(
        first=diff["first"].map(_display_value),
        second=diff["second"].map(_display_value),
    )
    st.dataframe(display, hide_index=True, key="diff_table")


def _display_value(value: Any) -> str:
    if value is None:
        return "(missing)"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def edit_form(store: RunStore, project: str, record: dict[str, Any]) -> None:
    """Draw the form that edits a run's tags, notes and group."""
    run_id = record["run_id"]
    with st.form(key=f"edit_meta_{run_id}"):
        tags = st.text_input(
            "Tags, comma-separated",
            value=", ".join(record["tags"]),
            key=f"edit_tags_{run_id}",
        )
        notes = st.text_area(
            "Notes", value=record["notes"] or "", key=f"edit_notes_{run_id}"
        )
        group = st.text_input(
            "Group", value=record["group"] or "", key=f"edit_group_{run_id}"
        )
        submitted = st.form_submit_button("Save", key=f"edit_save_{run_id}")
    if not submitted:
        return
    try:
        store.update_run_meta(
            project,
            run_id,
            tags=[tag.strip() for tag in tags.split(",") if tag.strip()],
            notes=notes or None,
            group=group.strip() or None,
        )
    except (ValueError, StoreError) as exc:
        st.error(f"The run was not changed: {exc}")
        return
    clear_caches()
    st.session_state["runs_notice"] = (
        "success",
        f"Saved tags, notes and group of {run_id}.",
    )
    st.rerun()
