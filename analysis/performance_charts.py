"""Altair charts for model performance and fairness: curves, strategies, errors.

Each builder takes data that is already thinned or aggregated by
:mod:`analysis.curves`, :mod:`analysis.fairness`, :mod:`analysis.multiclass` or
:mod:`analysis.regression` and returns an Altair chart object without calling
Streamlit. So a chart never embeds more marks than its input has rows: at most
500 points per curve, one bar per slice, and at most 60 * 60 grid cells for the
regression charts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import altair as alt
import pandas as pd

from analysis.chart_palette import category_scale
from analysis.slices import ALL_ROWS_LABEL

logger = logging.getLogger(__name__)

# Rates of the threshold strategy table, with their display names.
STRATEGY_RATE_TITLES = {
    "selection_rate": "Selection rate",
    "tpr": "True positive rate",
    "fpr": "False positive rate",
    "precision": "Precision",
    "accuracy": "Accuracy",
    "cost": "Cost",
}

_BIN_COLUMNS = ("x_start", "x_end", "y_start", "y_end", "count")

# Side of a confusion matrix chart in pixels: CELL per class, between MIN and MAX.
MATRIX_CELL_PX = 60
MATRIX_MIN_PX = 300
MATRIX_MAX_PX = 600


def roc_curve_chart(
    points: pd.DataFrame,
    *,
    color: str | None = None,
    marker: Mapping[str, float] | pd.DataFrame | None = None,
    title: str = "ROC curve",
) -> alt.LayerChart:
    """Draw ROC curves with the chance diagonal and optional threshold markers.

    Parameters
    ----------
    points : pandas.DataFrame
        Columns ``fpr`` and ``tpr`` in curve order, for example
        ``RocCurve.points`` or ``OneVsRestCurves.roc``.
    color : str, optional
        Column that identifies each curve, such as ``"class"`` or ``"slice"``.
    marker : mapping or pandas.DataFrame, optional
        The point at the current threshold, from
        :func:`analysis.curves.curve_marker`, or a frame of such points (with
        the ``color`` column for several curves).
    title : str, default "ROC curve"

    Returns
    -------
    altair.LayerChart
    """
    return _curve_chart(
        points,
        "fpr",
        "tpr",
        "False positive rate",
        "True positive rate",
        color=color,
        marker=marker,
        title=title,
        diagonal=True,
    )


def pr_curve_chart(
    points: pd.DataFrame,
    *,
    color: str | None = None,
    marker: Mapping[str, float] | pd.DataFrame | None = None,
    title: str = "Precision-recall curve",
) -> alt.LayerChart:
    """Draw precision-recall curves with optional threshold markers.

    Parameters
    ----------
    points : pandas.DataFrame
        Columns ``recall`` and ``precision`` in curve order, for example
        ``PrCurve.points`` or ``OneVsRestCurves.pr``.
    color : str, optional
        Column that identifies each curve.
    marker : mapping or pandas.DataFrame, optional
        The point at the current threshold, see :func:`roc_curve_chart`.
    title : str, default "Precision-recall curve"

    Returns
    -------
    altair.LayerChart
    """
    return _curve_chart(
        points,
        "recall",
        "precision",
        "Recall",
        "Precision",
        color=color,
        marker=marker,
        title=title,
        diagonal=False,
    )


def threshold_strategy_chart(table: pd.DataFrame, rate: str) -> alt.Chart:
    """Draw one rate per slice before and after a threshold strategy.

    Parameters
    ----------
    table : pandas.DataFrame
        ``ThresholdResult.table`` from :func:`analysis.fairness.optimize_thresholds`.
    rate : str
        One of :data:`STRATEGY_RATE_TITLES`.

    Returns
    -------
    altair.Chart
        Paired horizontal bars per slice: the current thresholds and the
        strategy's.
    """
    if rate not in STRATEGY_RATE_TITLES:
        raise ValueError(
            f"rate must be one of {list(STRATEGY_RATE_TITLES)}, got {rate!r}"
        )
    _require_columns(table, ("slice", rate, f"{rate}_before"), "table")
    title = STRATEGY_RATE_TITLES[rate]
    data = pd.concat(
        [
            pd.DataFrame(
                {
                    "slice": table["slice"],
                    "when": "before",
                    "value": table[f"{rate}_before"],
                }
            ),
            pd.DataFrame(
                {"slice": table["slice"], "when": "after", "value": table[rate]}
            ),
        ],
        ignore_index=True,
    )
    value_format = ",.4g" if rate == "cost" else ".1%"
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title=title, axis=alt.Axis(format=value_format)),
            y=alt.Y("slice:N", title="Slice", sort=list(table["slice"])),
            yOffset=alt.YOffset("when:N", sort=["before", "after"]),
            color=alt.Color(
                "when:N",
                title="Thresholds",
                sort=["before", "after"],
                scale=alt.Scale(range=["#bbbbbb", "#1f77b4"]),
            ),
            tooltip=[
                alt.Tooltip("slice:N", title="Slice"),
                alt.Tooltip("when:N", title="Thresholds"),
                alt.Tooltip("value:Q", title=title, format=value_format),
            ],
        )
        .properties(title=f"{title} by slice, before and after")
    )


def multiclass_confusion_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Draw an N by N confusion matrix with counts and row percentages.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`analysis.multiclass.multiclass_confusion`.

    Returns
    -------
    altair.LayerChart
        Cells coloured by the share of the actual class's rows, so each row
        reads as where that class's rows went.
    """
    _require_columns(
        frame, ("actual", "predicted", "count", "percent", "row_percent"), "frame"
    )
    data = frame.copy()
    data["label"] = [
        f"{count:,} ({share:.0f}%)"
        for count, share in zip(data["count"], data["row_percent"], strict=True)
    ]
    order = list(dict.fromkeys([*data["actual"], *data["predicted"]]))
    base = alt.Chart(data).encode(
        x=alt.X("predicted:N", title="Predicted", sort=order),
        y=alt.Y("actual:N", title="Actual", sort=order),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "row_percent:Q",
            title="% of actual class",
            scale=alt.Scale(scheme="blues", domain=[0, 100]),
        ),
        tooltip=[
            alt.Tooltip("actual:N", title="Actual"),
            alt.Tooltip("predicted:N", title="Predicted"),
            alt.Tooltip("count:Q", title="Rows", format=","),
            alt.Tooltip("row_percent:Q", title="% of actual class", format=".1f"),
            alt.Tooltip("percent:Q", title="% of all rows", format=".1f"),
        ],
    )
    labels = base.mark_text(baseline="middle").encode(
        text="label:N",
        color=alt.condition(
            alt.datum.row_percent > 50, alt.value("white"), alt.value("black")
        ),
    )
    return alt.layer(cells, labels).properties(title="Confusion matrix")


def square_matrix_chart(chart: alt.LayerChart, n_classes: int) -> alt.LayerChart:
    """Make a confusion matrix chart square, with horizontal class labels.

    Parameters
    ----------
    chart : altair.LayerChart
        A confusion matrix from :func:`multiclass_confusion_chart` or
        :func:`analysis.charts.confusion_matrix_chart`.
    n_classes : int
        Classes on each axis.

    Returns
    -------
    altair.LayerChart
        ``MATRIX_CELL_PX`` pixels per class, at least ``MATRIX_MIN_PX`` and at
        most ``MATRIX_MAX_PX`` on each side. The chart has a ``config``, so it
        can be drawn but no longer layered. Draw it at its own width (in
        Streamlit, ``width="content"``) to keep it square.
    """
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    side = min(MATRIX_MAX_PX, max(MATRIX_MIN_PX, MATRIX_CELL_PX * n_classes))
    return chart.properties(width=side, height=side).configure_axisX(labelAngle=0)


def one_vs_rest_rate_chart(frame: pd.DataFrame, rate: str = "tpr") -> alt.LayerChart:
    """Draw a heat map of one one-vs-rest rate per slice and class.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`analysis.multiclass.one_vs_rest_rates_by_slice`.
    rate : str, default "tpr"
        A rate column such as ``"tpr"``, ``"fpr"``, ``"precision"`` or
        ``"selection_rate"``.

    Returns
    -------
    altair.LayerChart
    """
    _require_columns(frame, ("slice", "class", "count", rate), "frame")
    data = frame.loc[:, ["slice", "class", "count", rate]].rename(
        columns={rate: "value"}
    )
    base = alt.Chart(data).encode(
        x=alt.X("class:N", title="Class", sort=list(dict.fromkeys(data["class"]))),
        y=alt.Y("slice:N", title="Slice", sort=list(dict.fromkeys(data["slice"]))),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("value:Q", title=rate, scale=alt.Scale(domain=[0, 1])),
        tooltip=[
            alt.Tooltip("slice:N", title="Slice"),
            alt.Tooltip("class:N", title="Class"),
            alt.Tooltip("value:Q", title=rate, format=".1%"),
            alt.Tooltip("count:Q", title="Rows in slice", format=","),
        ],
    )
    labels = base.mark_text(baseline="middle").encode(
        text=alt.Text("value:Q", format=".0%")
    )
    return alt.layer(cells, labels).properties(title=f"One-vs-rest {rate} by slice")


def residual_chart(bins: pd.DataFrame) -> alt.LayerChart:
    """Draw binned errors against predictions, with a rule at zero error.

    Parameters
    ----------
    bins : pandas.DataFrame
        Output of :func:`analysis.regression.residual_bins`.

    Returns
    -------
    altair.LayerChart
    """
    grid = _bin_grid(bins, "Prediction", "Error (prediction - label)")
    zero = (
        alt.Chart(pd.DataFrame({"y": [0.0]}))
        .mark_rule(color="black", strokeDash=[4, 4])
        .encode(y="y:Q")
    )
    return alt.layer(grid, zero).properties(title="Errors against predictions")


def predicted_actual_chart(bins: pd.DataFrame) -> alt.LayerChart:
    """Draw binned predictions against actual values, with the diagonal.

    Parameters
    ----------
    bins : pandas.DataFrame
        Output of :func:`analysis.regression.prediction_bins`.

    Returns
    -------
    altair.LayerChart
        Exact predictions lie on the dashed diagonal.
    """
    grid = _bin_grid(bins, "Actual value", "Predicted value")
    low = float(bins["x_start"].min()) if len(bins) else 0.0
    high = float(bins["x_end"].max()) if len(bins) else 1.0
    diagonal = (
        alt.Chart(pd.DataFrame({"x": [low, high], "y": [low, high]}))
        .mark_line(color="black", strokeDash=[4, 4])
        .encode(x="x:Q", y="y:Q")
    )
    return alt.layer(grid, diagonal).properties(title="Predicted against actual")


def slice_error_chart(slice_frame: pd.DataFrame) -> alt.Chart:
    """Draw the mean absolute error and the bias (mean error) of each slice.

    Parameters
    ----------
    slice_frame : pandas.DataFrame
        Output of :func:`analysis.regression.regression_metrics_by_slice`.

    Returns
    -------
    altair.Chart
        Paired bars per slice; slices flagged ``small`` are faded.
    """
    _require_columns(
        slice_frame, ("slice", "count", "mae", "mean_error", "small"), "slice_frame"
    )
    rows = slice_frame.loc[slice_frame["slice"] != ALL_ROWS_LABEL]
    names = {"mae": "MAE", "mean_error": "Bias (mean error)"}
    data = pd.concat(
        [
            pd.DataFrame(
                {
                    "slice": rows["slice"].astype(str),
                    "statistic": title,
                    "value": rows[column].astype(float),
                    "count": rows["count"],
                    "small": rows["small"].astype(bool),
                }
            )
            for column, title in names.items()
        ],
        ignore_index=True,
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title="Error"),
            y=alt.Y("slice:N", title="Slice", sort=list(rows["slice"].astype(str))),
            yOffset=alt.YOffset("statistic:N"),
            color=alt.Color("statistic:N", title=None, scale=category_scale()),
            opacity=alt.condition(alt.datum.small, alt.value(0.4), alt.value(1.0)),
            tooltip=[
                alt.Tooltip("slice:N", title="Slice"),
                alt.Tooltip("statistic:N", title="Statistic"),
                alt.Tooltip("value:Q", title="Value", format=",.4g"),
                alt.Tooltip("count:Q", title="Rows", format=","),
            ],
        )
        .properties(title="MAE and bias by slice")
    )


def _curve_chart(
    points: pd.DataFrame,
    x: str,
    y: str,
    x_title: str,
    y_title: str,
    *,
    color: str | None,
    marker: Mapping[str, float] | pd.DataFrame | None,
    title: str,
    diagonal: bool,
) -> alt.LayerChart:
    columns = (x, y) if color is None else (x, y, color)
    _require_columns(points, columns, "points")
    data = points.loc[:, list(columns)].copy()
    # Drawing order: Altair would otherwise sort a line's points by x.
    data["order"] = range(len(data))
    unit = alt.Scale(domain=[0, 1])

    encoding = {
        "x": alt.X(f"{x}:Q", title=x_title, scale=unit),
        "y": alt.Y(f"{y}:Q", title=y_title, scale=unit),
        "order": "order:Q",
        "tooltip": [
            alt.Tooltip(f"{x}:Q", title=x_title, format=".3f"),
            alt.Tooltip(f"{y}:Q", title=y_title, format=".3f"),
        ],
    }
    if color is not None:
        encoding["color"] = alt.Color(f"{color}:N", title=color, scale=category_scale())
    layers = [alt.Chart(data).mark_line().encode(**encoding)]

    if diagonal:
        chance = pd.DataFrame({x: [0.0, 1.0], y: [0.0, 1.0]})
        layers.append(
            alt.Chart(chance)
            .mark_line(color="gray", strokeDash=[4, 4])
            .encode(x=f"{x}:Q", y=f"{y}:Q")
        )
    if marker is not None:
        layers.append(_marker_layer(marker, x, y, color))
    return alt.layer(*layers).properties(title=title)


def _marker_layer(
    marker: Mapping[str, float] | pd.DataFrame, x: str, y: str, color: str | None
) -> alt.Chart:
    data = marker if isinstance(marker, pd.DataFrame) else pd.DataFrame([dict(marker)])
    tooltip = [alt.Tooltip(f"{x}:Q", format=".3f"), alt.Tooltip(f"{y}:Q", format=".3f")]
    if "threshold" in data.columns:
        tooltip.insert(0, alt.Tooltip("threshold:Q", title="Threshold", format=".4g"))
    encoding = {"x": f"{x}:Q", "y": f"{y}:Q", "tooltip": tooltip}
    if color is not None and color in data.columns:
        encoding["color"] = alt.Color(f"{color}:N", title=color, scale=category_scale())
    return (
        alt.Chart(data)
        .mark_point(size=90, filled=True, color="black")
        .encode(**encoding)
    )


def _bin_grid(bins: pd.DataFrame, x_title: str, y_title: str) -> alt.Chart:
    _require_columns(bins, _BIN_COLUMNS, "bins")
    return (
        alt.Chart(bins.loc[:, list(_BIN_COLUMNS)])
        .mark_rect()
        .encode(
            x=alt.X("x_start:Q", title=x_title),
            x2="x_end:Q",
            y=alt.Y("y_start:Q", title=y_title),
            y2="y_end:Q",
            color=alt.Color(
                "count:Q", title="Rows", scale=alt.Scale(type="log", scheme="viridis")
            ),
            tooltip=[
                alt.Tooltip("x_start:Q", title=f"{x_title} from", format=",.4g"),
                alt.Tooltip("x_end:Q", title="to", format=",.4g"),
                alt.Tooltip("y_start:Q", title=f"{y_title} from", format=",.4g"),
                alt.Tooltip("y_end:Q", title="to", format=",.4g"),
                alt.Tooltip("count:Q", title="Rows", format=","),
            ],
        )
    )


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} is missing column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, frame.columns))}"
        )
