"""Altair chart builders for comparing runs: metric lines, run groups, a
parameter-against-metric scatter, parallel coordinates and logged histograms.

Builders take frames shaped by :mod:`tracking.chart_data` or the runs table
of :meth:`tracking.RunStore.runs`, return Altair chart objects and never call
Streamlit. Altair raises an error when it serialises more than 5,000 rows with its
default settings, so callers that export charts use :func:`chart_spec`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

RUN_TITLE = "Run"
# Vega's ten-colour categorical scheme for runs and groups, chosen for its
# saturated colours that contrast with light and dark backgrounds alike.
CATEGORY_SCHEME = "tableau10"


def metric_lines_chart(
    data: pd.DataFrame,
    metric: str,
    *,
    x_title: str = "Step",
    log_x: bool = False,
    log_y: bool = False,
    smoothed: bool = False,
) -> alt.LayerChart:
    """Draw one line per run of a metric against ``x``.

    Parameters
    ----------
    data : pandas.DataFrame
        Columns ``run_name``, ``x`` (numbers or UTC datetimes) and ``value``,
        with ``smoothed`` when ``smoothed`` is true.
    metric : str
        The metric's name, used as the title and y-axis title.
    x_title : str, default "Step"
    log_x, log_y : bool, default False
        Use a log scale; points at or below zero cannot be drawn on one and
        are dropped, and the subtitle gives their number.
    smoothed : bool, default False
        Draw the ``smoothed`` column as the line and the raw values faded
        behind it.

    Returns
    -------
    altair.LayerChart
    """
    _require(data, ["run_name", "x", "value"] + (["smoothed"] if smoothed else []))
    is_time = pd.api.types.is_datetime64_any_dtype(data["x"])
    columns = ["run_name", "x", "value"] + (["smoothed"] if smoothed else [])
    plotted = data[columns].copy()
    plotted["run_name"] = plotted["run_name"].astype(str)
    plotted, notes = _finite_rows(plotted, log_x=log_x and not is_time, log_y=log_y)

    x = alt.X(
        "x:T" if is_time else "x:Q",
        title=x_title,
        scale=alt.Scale(type="log") if log_x and not is_time else alt.Undefined,
    )
    y_scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    color = alt.Color("run_name:N", title=RUN_TITLE, scale=_category_scale())
    tooltip = [
        alt.Tooltip("run_name:N", title=RUN_TITLE),
        alt.Tooltip("x:T" if is_time else "x:Q", title=x_title),
        alt.Tooltip("value:Q", title=metric, format=",.4g"),
    ]
    base = alt.Chart(plotted).encode(x=x, color=color)
    layers = []
    if smoothed:
        layers.append(
            base.mark_line(opacity=0.25).encode(
                y=alt.Y("value:Q", title=metric, scale=y_scale)
            )
        )
        tooltip.append(alt.Tooltip("smoothed:Q", title="smoothed", format=",.4g"))
        layers.append(
            base.mark_line().encode(
                y=alt.Y("smoothed:Q", title=metric, scale=y_scale), tooltip=tooltip
            )
        )
    else:
        layers.append(
            base.mark_line(point=len(plotted) <= 200).encode(
                y=alt.Y("value:Q", title=metric, scale=y_scale), tooltip=tooltip
            )
        )
    title = alt.TitleParams(text=metric, subtitle=notes) if notes else metric
    return alt.layer(*layers).properties(title=title)


def grouped_metric_chart(
    grouped: pd.DataFrame,
    metric: str,
    *,
    group_title: str,
    x_title: str = "Step",
    log_y: bool = False,
) -> alt.LayerChart:
    """Draw each group's mean line over a band from its min to its max.

    Parameters
    ----------
    grouped : pandas.DataFrame
        Output of :func:`tracking.chart_data.group_lines` for one metric.
    metric : str
    group_title : str
        The grouping column, for the legend, e.g. ``config.optimizer``.
    x_title : str, default "Step"
    log_y : bool, default False

    Returns
    -------
    altair.LayerChart
    """
    _require(grouped, ["group", "x", "mean", "min", "max", "runs"])
    data = grouped[["group", "x", "mean", "min", "max", "runs"]].copy()
    data["group"] = data["group"].astype(str)
    notes = []
    if log_y:
        positive = (data["min"] > 0) & (data["mean"] > 0)
        if (~positive).any():
            notes.append(f"{int((~positive).sum()):,} point(s) at or below 0 not drawn")
        data = data[positive]
    is_time = pd.api.types.is_datetime64_any_dtype(data["x"])
    x = alt.X("x:T" if is_time else "x:Q", title=x_title)
    y_scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    color = alt.Color("group:N", title=group_title, scale=_category_scale())
    base = alt.Chart(data).encode(x=x, color=color)
    band = base.mark_area(opacity=0.3).encode(
        y=alt.Y("min:Q", title=metric, scale=y_scale), y2="max:Q"
    )
    line = base.mark_line().encode(
        y=alt.Y("mean:Q", title=metric, scale=y_scale),
        tooltip=[
            alt.Tooltip("group:N", title=group_title),
            alt.Tooltip("x:T" if is_time else "x:Q", title=x_title),
            alt.Tooltip("mean:Q", format=",.4g"),
            alt.Tooltip("min:Q", format=",.4g"),
            alt.Tooltip("max:Q", format=",.4g"),
            alt.Tooltip("runs:Q", title="runs"),
        ],
    )
    subtitle = [f"mean line, min-max band, grouped by {group_title}", *notes]
    return alt.layer(band, line).properties(
        title=alt.TitleParams(text=metric, subtitle=subtitle)
    )


def parameter_scatter_chart(
    runs: pd.DataFrame,
    parameter: str,
    metric: str,
    *,
    color: str | None = None,
    log_x: bool = False,
) -> alt.Chart:
    """Draw one point per run: a parameter against a summary metric.

    Parameters
    ----------
    runs : pandas.DataFrame
        The runs table, with ``name``, ``parameter`` and ``metric`` columns.
    parameter, metric : str
        Columns of ``runs``, such as ``config.lr`` and ``summary.val_loss``.
        Runs missing either are left out.
    color : str, optional
        A column that colours the points, such as ``state``.
    log_x : bool, default False
        Log scale for the parameter; values at or below 0 are dropped.

    Returns
    -------
    altair.Chart
    """
    _require(runs, ["name", parameter, metric] + ([color] if color else []))
    data = pd.DataFrame(
        {
            "name": runs["name"].astype(str),
            "parameter": runs[parameter],
            "metric": pd.to_numeric(runs[metric], errors="coerce"),
        }
    )
    if color:
        data["color_value"] = runs[color].map(
            lambda value: None if _missing(value) else str(value)
        )
    data = data.dropna(subset=["parameter", "metric"])
    numbers = pd.to_numeric(data["parameter"], errors="coerce")
    is_numeric = bool(numbers.notna().all()) and not pd.api.types.is_bool_dtype(
        data["parameter"]
    )
    if is_numeric:
        data["parameter"] = numbers.astype("float64")
        if log_x:
            data = data[data["parameter"] > 0]
    else:
        data["parameter"] = data["parameter"].astype(str)

    x = (
        alt.X(
            "parameter:Q",
            title=parameter,
            scale=alt.Scale(type="log") if log_x else alt.Scale(zero=False),
        )
        if is_numeric
        else alt.X("parameter:N", title=parameter)
    )
    encoding: dict[str, Any] = {
        "x": x,
        "y": alt.Y("metric:Q", title=metric, scale=alt.Scale(zero=False)),
        "tooltip": [
            alt.Tooltip("name:N", title=RUN_TITLE),
            alt.Tooltip("parameter", title=parameter),
            alt.Tooltip("metric:Q", title=metric, format=",.4g"),
        ],
    }
    if color:
        encoding["color"] = alt.Color(
            "color_value:N", title=color, scale=_category_scale()
        )
    return (
        alt.Chart(data)
        .mark_circle(size=70)
        .encode(**encoding)
        .properties(title=f"{metric} against {parameter}")
    )


def parallel_coordinates_frame(
    runs: pd.DataFrame, columns: Sequence[str]
) -> pd.DataFrame:
    """Put each run's values on axes scaled to [0, 1], one row per run and axis.

    A numeric column is scaled by its min and max (a constant one sits at
    0.5). Any other column is treated as categories spread evenly over the
    axis, in sorted order. Missing values are left out, so a line skips that
    axis.

    Returns
    -------
    pandas.DataFrame
        Columns ``run_name``, ``axis``, ``position``, ``label`` (the value as
        text) and ``order`` (the axis number).
    """
    _require(runs, ["name", *columns])
    rows = []
    for order, column in enumerate(columns):
        values = runs[column]
        numbers = pd.to_numeric(values, errors="coerce")
        numeric = (
            numbers.notna().sum() == values.notna().sum() and numbers.notna().any()
        )
        if numeric:
            low, high = numbers.min(), numbers.max()
            span = high - low
            positions = (numbers - low) / span if span > 0 else numbers * 0 + 0.5
            labels = numbers.map(lambda number: f"{number:.4g}")
        else:
            text = values.map(lambda value: None if _missing(value) else str(value))
            categories = sorted(text.dropna().unique())
            step = 1.0 / (len(categories) - 1) if len(categories) > 1 else 0.0
            where = {
                category: index * step for index, category in enumerate(categories)
            }
            positions = text.map(where)
            if len(categories) == 1:
                positions = positions.map(lambda _: 0.5, na_action="ignore")
            labels = text
        for name, position, label in zip(runs["name"], positions, labels, strict=True):
            if position is None or (isinstance(position, float) and np.isnan(position)):
                continue
            rows.append(
                {
                    "run_name": str(name),
                    "axis": column,
                    "position": float(position),
                    "label": label,
                    "order": order,
                }
            )
    return pd.DataFrame(
        rows, columns=["run_name", "axis", "position", "label", "order"]
    )


def parallel_coordinates_chart(
    runs: pd.DataFrame, columns: Sequence[str], *, color: str | None = None
) -> alt.LayerChart:
    """Draw parallel coordinates over config and summary columns of the runs.

    Parameters
    ----------
    runs : pandas.DataFrame
        The runs table; one line per run.
    columns : sequence of str
        At least two columns, drawn as axes from left to right. Each axis is
        scaled on its own; see :func:`parallel_coordinates_frame`.
    color : str, optional
        A numeric column of ``runs`` that colours the lines, usually the last
        metric; the run name is used when None.

    Returns
    -------
    altair.LayerChart
    """
    if len(columns) < 2:
        raise ValueError(
            f"parallel coordinates need at least 2 columns, got {list(columns)}"
        )
    data = parallel_coordinates_frame(runs, columns)
    color_encoding = alt.Color(
        "run_name:N", title=RUN_TITLE, legend=None, scale=_category_scale()
    )
    if color is not None:
        _require(runs, [color])
        colors = pd.to_numeric(runs.set_index("name")[color], errors="coerce")
        data["color_value"] = data["run_name"].map(
            {str(name): value for name, value in colors.items()}
        )
        color_encoding = alt.Color(
            "color_value:Q", title=color, scale=alt.Scale(scheme="viridis")
        )

    axis_order = list(columns)
    x = alt.X("axis:N", sort=axis_order, title=None, axis=alt.Axis(labelAngle=0))
    y = alt.Y("position:Q", axis=None, scale=alt.Scale(domain=[0, 1]))
    lines = (
        alt.Chart(data)
        .mark_line(opacity=0.6)
        .encode(
            x=x,
            y=y,
            detail="run_name:N",
            color=color_encoding,
            tooltip=[
                alt.Tooltip("run_name:N", title=RUN_TITLE),
                alt.Tooltip("axis:N", title="column"),
                alt.Tooltip("label:N", title="value"),
            ],
        )
    )
    rules = (
        alt.Chart(pd.DataFrame({"axis": axis_order}))
        .mark_rule(color="#888")
        .encode(x=alt.X("axis:N", sort=axis_order))
    )
    ends = _axis_end_labels(data)
    labels = (
        alt.Chart(ends)
        .mark_text(align="left", dx=4, fontSize=10, color="#444")
        .encode(x=alt.X("axis:N", sort=axis_order), y=y, text="label:N")
    )
    return alt.layer(rules, lines, labels).properties(
        title="Parallel coordinates (each axis scaled to its own min and max)"
    )


def histogram_chart(bins: pd.DataFrame, title: str) -> alt.Chart:
    """Draw a logged histogram as adjacent bars, one a bin.

    ``bins`` has the columns ``start``, ``end`` and ``count`` of
    :func:`analysis.run_media.histogram_frame`.
    """
    _require(bins, ["start", "end", "count"])
    return (
        alt.Chart(bins)
        .mark_bar()
        .encode(
            x=alt.X("start:Q", title="value", bin="binned"),
            x2="end:Q",
            y=alt.Y("count:Q", title="count"),
            tooltip=[
                alt.Tooltip("start:Q", format=",.4g"),
                alt.Tooltip("end:Q", format=",.4g"),
                alt.Tooltip("count:Q", format=",.4g"),
            ],
        )
        .properties(title=title)
    )


def chart_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """Return the Vega-Lite specification of a chart with its data inlined."""
    with alt.data_transformers.enable("default", max_rows=None):
        return chart.to_dict()


def _category_scale() -> alt.Scale:
    return alt.Scale(scheme=CATEGORY_SCHEME)


def _axis_end_labels(data: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for axis, group in data.groupby("axis", sort=False):
        for position in (group["position"].min(), group["position"].max()):
            label = group.loc[group["position"] == position, "label"].iloc[0]
            rows.append({"axis": axis, "position": position, "label": label})
    frame = pd.DataFrame(rows, columns=["axis", "position", "label"])
    return frame.drop_duplicates()


def _finite_rows(
    data: pd.DataFrame, *, log_x: bool, log_y: bool
) -> tuple[pd.DataFrame, list[str]]:
    notes = []
    value = pd.to_numeric(data["value"], errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(value)
    if not pd.api.types.is_datetime64_any_dtype(data["x"]):
        finite &= np.isfinite(pd.to_numeric(data["x"], errors="coerce").to_numpy(float))
    dropped = int((~finite).sum())
    if dropped:
        notes.append(f"{dropped:,} NaN or infinite value(s) not drawn")
    data = data[finite]
    if log_y or log_x:
        positive = pd.Series(True, index=data.index)
        if log_y:
            positive &= data["value"] > 0
        if log_x:
            positive &= data["x"] > 0
        if (~positive).any():
            notes.append(
                f"{int((~positive).sum()):,} point(s) at or below 0 not drawn on "
                "the log scale"
            )
        data = data[positive]
    return data.reset_index(drop=True), notes


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _require(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"the frame is missing column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, frame.columns))}"
        )
