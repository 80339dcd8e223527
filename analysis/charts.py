"""Altair chart builders for the What-If and run pages.

Each builder takes data that is already aggregated (a confusion matrix, one row per
slice, or a thinned metric history) and returns an Altair chart object. None of them
calls Streamlit, so tests can inspect the chart specification.
"""

from __future__ import annotations

import logging
import math

import altair as alt
import numpy as np
import pandas as pd

from analysis.metrics import RATE_COLUMNS
from analysis.slices import ALL_ROWS_LABEL

logger = logging.getLogger(__name__)

# Maximum points drawn per metric history chart, over all runs. Altair embeds the
# data in the chart specification, so it has to stay small.
MAX_HISTORY_POINTS = 5000

_CONFUSION_COLUMNS = ("actual", "predicted", "outcome", "count", "percent")
_HISTORY_COLUMNS = ("run_name", "step", "value")


def confusion_matrix_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Draw a confusion matrix as a heat map with counts and percentages.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`analysis.metrics.confusion_frame`: one row per cell with
        ``actual``, ``predicted``, ``outcome``, ``count`` and ``percent``.

    Returns
    -------
    altair.LayerChart
        Coloured cells with a text layer, actual classes on the y axis.
    """
    _require_columns(frame, _CONFUSION_COLUMNS, "frame")
    data = frame.loc[:, list(_CONFUSION_COLUMNS)].copy()
    data["label"] = [
        f"{outcome}: {count:,} ({percent:.1f}%)"
        for outcome, count, percent in zip(
            data["outcome"], data["count"], data["percent"], strict=True
        )
    ]
    class_order = list(dict.fromkeys([*data["actual"], *data["predicted"]]))
    # White text on the darker half of the colour scale keeps the labels readable.
    dark_cutoff = float(data["count"].max()) / 2

    base = alt.Chart(data).encode(
        x=alt.X("predicted:N", title="Predicted", sort=class_order),
        y=alt.Y("actual:N", title="Actual", sort=class_order),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=[
            alt.Tooltip("actual:N", title="Actual"),
            alt.Tooltip("predicted:N", title="Predicted"),
            alt.Tooltip("count:Q", title="Rows", format=","),
            alt.Tooltip("percent:Q", title="% of all rows", format=".1f"),
        ],
    )
    labels = base.mark_text(baseline="middle").encode(
        text="label:N",
        color=alt.condition(
            alt.datum.count > dark_cutoff, alt.value("white"), alt.value("black")
        ),
    )
    return alt.layer(cells, labels).properties(title="Confusion matrix")


def metric_history_chart(
    history: pd.DataFrame, metric: str, *, max_points: int = MAX_HISTORY_POINTS
) -> alt.Chart:
    """Draw one line per run of a logged metric against the step.

    Rows whose value is NaN or infinite are dropped, and the chart subtitle gives
    their number. A run with more points than its share of ``max_points`` is thinned
    by averaging consecutive points, and the subtitle states it.

    Parameters
    ----------
    history : pandas.DataFrame
        Long table with columns ``run_name``, ``step`` and ``value`` for one
        metric.
    metric : str
        Name of the metric, used as the title and y-axis title.
    max_points : int, default 5000
        Maximum number of points drawn over all runs.

    Returns
    -------
    altair.Chart
    """
    _require_columns(history, _HISTORY_COLUMNS, "history")
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")

    data = pd.DataFrame(
        {
            "run_name": history["run_name"].astype(str),
            "step": pd.to_numeric(history["step"], errors="coerce"),
            "value": pd.to_numeric(history["value"], errors="coerce"),
        }
    )
    is_finite = np.isfinite(data["step"].to_numpy(dtype=float)) & np.isfinite(
        data["value"].to_numpy(dtype=float)
    )
    notes = []
    dropped = int((~is_finite).sum())
    if dropped:
        notes.append(f"{dropped:,} NaN or infinite value(s) not drawn")
    data = data.loc[is_finite].sort_values(["run_name", "step"], kind="stable")

    n_runs = max(data["run_name"].nunique(), 1)
    data, chunk_size = _thin_history(data, max(2, max_points // n_runs))
    if chunk_size > 1:
        notes.append(f"each point is the mean of up to {chunk_size:,} logged values")
    if data.empty:
        notes.append("no finite values to draw")

    title = alt.TitleParams(text=metric, subtitle=notes) if notes else metric
    return (
        alt.Chart(data)
        .mark_line(point=len(data) <= 200)
        .encode(
            x=alt.X("step:Q", title="Step"),
            y=alt.Y("value:Q", title=metric),
            color=alt.Color("run_name:N", title="Run"),
            tooltip=[
                alt.Tooltip("run_name:N", title="Run"),
                alt.Tooltip("step:Q", title="Step"),
                alt.Tooltip("value:Q", title=metric),
            ],
        )
        .properties(title=title)
    )


def slice_metric_chart(slice_frame: pd.DataFrame, metric: str) -> alt.LayerChart:
    """Draw one bar per slice for a metric, with a rule at the value for all rows.

    Slices flagged ``small`` are drawn faded.

    Parameters
    ----------
    slice_frame : pandas.DataFrame
        Output of :func:`analysis.slices.metrics_by_slice`.
    metric : str
        A numeric column of ``slice_frame``, such as ``"accuracy"`` or
        ``"fp_share"``.

    Returns
    -------
    altair.LayerChart
    """
    _require_columns(slice_frame, ("slice", "count", "small", metric), "slice_frame")
    if not pd.api.types.is_numeric_dtype(slice_frame[metric]):
        raise ValueError(f"column {metric!r} is not numeric")

    is_overall = slice_frame["slice"] == ALL_ROWS_LABEL
    data = pd.DataFrame(
        {
            "slice": slice_frame.loc[~is_overall, "slice"].astype(str),
            "value": slice_frame.loc[~is_overall, metric].astype(float),
            "count": slice_frame.loc[~is_overall, "count"],
            "small": slice_frame.loc[~is_overall, "small"].astype(bool),
        }
    )
    is_rate = metric in RATE_COLUMNS
    value_format = ".1%" if is_rate else ",.4g"
    scale = alt.Scale(domain=[0, 1]) if is_rate else alt.Undefined

    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(
                "value:Q", title=metric, scale=scale, axis=alt.Axis(format=value_format)
            ),
            y=alt.Y("slice:N", title="Slice", sort=list(data["slice"])),
            opacity=alt.condition(alt.datum.small, alt.value(0.4), alt.value(1.0)),
            tooltip=[
                alt.Tooltip("slice:N", title="Slice"),
                alt.Tooltip("value:Q", title=metric, format=value_format),
                alt.Tooltip("count:Q", title="Rows", format=","),
                alt.Tooltip("small:N", title="Fewer than 30 rows"),
            ],
        )
    )
    layers = [bars]

    overall_values = slice_frame.loc[is_overall, metric].astype(float)
    if len(overall_values) and math.isfinite(overall_values.iloc[0]):
        overall = pd.DataFrame({"value": [overall_values.iloc[0]]})
        rule = (
            alt.Chart(overall)
            .mark_rule(color="black", strokeDash=[4, 4])
            .encode(
                x="value:Q",
                tooltip=[
                    alt.Tooltip("value:Q", title=ALL_ROWS_LABEL, format=value_format)
                ],
            )
        )
        layers.append(rule)

    title = f"{metric} by slice (dashed line: {ALL_ROWS_LABEL.lower()})"
    return alt.layer(*layers).properties(title=title)


def _thin_history(data: pd.DataFrame, per_run: int) -> tuple[pd.DataFrame, int]:
    """Average consecutive points so that no run has more than ``per_run`` points."""
    largest_run = int(data.groupby("run_name").size().max()) if len(data) else 0
    if largest_run <= per_run:
        return data.reset_index(drop=True), 1

    chunk_size = math.ceil(largest_run / per_run)
    position_in_run = data.groupby("run_name").cumcount().to_numpy()
    data = data.assign(chunk=position_in_run // chunk_size)
    thinned = (
        data.groupby(["run_name", "chunk"], sort=True)[["step", "value"]]
        .mean()
        .reset_index()
        .drop(columns="chunk")
    )
    return thinned, chunk_size


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} is missing column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, frame.columns))}"
        )
