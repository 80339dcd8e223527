"""Altair charts of partial dependence: lines per model, ICE lines, a 2-D heatmap.

The builders take the results of :mod:`analysis.pdp`, whose size is the grid times
the number of ICE lines (by default 10 points and at most 50 lines per model), so
a chart stays small. None of them calls Streamlit.
"""

from __future__ import annotations

import logging

import altair as alt
import pandas as pd

from analysis.chart_palette import category_scale
from analysis.pdp import PartialDependence, PartialDependence2D

logger = logging.getLogger(__name__)


def partial_dependence_chart(
    result: PartialDependence,
    *,
    show_ice: bool = True,
    current_value: object | None = None,
) -> alt.LayerChart:
    """Draw the average line of each model, over thin ICE lines when asked.

    Parameters
    ----------
    result : PartialDependence
        Output of :func:`analysis.pdp.partial_dependence`.
    show_ice : bool, default True
        Draw the ICE lines of the sampled rows under the averages. A single-row
        result has only its own line, so nothing is added.
    current_value : object, optional
        The selected row's value of the feature, drawn as a dashed rule
        (vertical for numbers, horizontal for categories). None or NaN draws
        no rule.

    Returns
    -------
    altair.LayerChart
        Numeric features: lines over a quantitative x axis. Categorical
        features: a dot per category and model (ICE values as ticks), with
        the categories on the y axis in grid order.
    """
    y_title = ("centred " if result.centered else "") + result.output
    show_ice = show_ice and result.position is None and len(result.ice_positions) > 0
    if result.kind == "numeric":
        layers, height = _numeric_layers(result, y_title, show_ice), 220
    else:
        # One step per category, so every category's name has room.
        layers, height = _categorical_layers(result, y_title, show_ice), alt.Step(22)
    if current_value is not None and not pd.isna(current_value):
        layers.append(_current_value_rule(result, current_value))
    title = alt.TitleParams(text=result.feature, subtitle=[result.description])
    return alt.layer(*layers).properties(title=title, height=height)


def _numeric_layers(
    result: PartialDependence, y_title: str, show_ice: bool
) -> list[alt.Chart]:
    x = alt.X("value:Q", title=result.feature)
    y = alt.Y("output:Q", title=y_title)
    color = alt.Color("model:N", title="Model", scale=category_scale())
    lines = (
        alt.Chart(result.to_frame())
        .mark_line(point=True, strokeWidth=3)
        .encode(x=x, y=y, color=color, tooltip=_tooltip(result, y_title))
    )
    if not show_ice:
        return [lines]
    ice = (
        alt.Chart(result.ice_frame())
        .mark_line(opacity=0.15, strokeWidth=1)
        .encode(x=x, y=y, color=color, detail="position:N")
    )
    return [ice, lines]


def _categorical_layers(
    result: PartialDependence, y_title: str, show_ice: bool
) -> list[alt.Chart]:
    """Dots per category, categories on the y axis so their names stay readable."""
    average = _as_text(result.to_frame())
    y = alt.Y(
        "value:N",
        title=result.feature,
        sort=list(average["value"].unique()),
        axis=alt.Axis(labelLimit=140),
    )
    x = alt.X("output:Q", title=y_title)
    color = alt.Color("model:N", title="Model", scale=category_scale())
    dots = (
        alt.Chart(average)
        .mark_point(filled=True, size=90)
        .encode(x=x, y=y, color=color, tooltip=_tooltip(result, y_title))
    )
    if not show_ice:
        return [dots]
    ice = (
        alt.Chart(_as_text(result.ice_frame()))
        .mark_tick(opacity=0.25)
        .encode(x=x, y=y, color=color)
    )
    return [ice, dots]


def _current_value_rule(result: PartialDependence, value: object) -> alt.Chart:
    """Draw the selected row's own value of the feature as a dashed rule."""
    tooltip = alt.Tooltip("value", title=f"{result.feature} of the selected row")
    if result.kind == "numeric":
        data = pd.DataFrame({"value": [float(value)]})
        position = {"x": alt.X("value:Q")}
    else:
        data = pd.DataFrame({"value": [str(value)]})
        position = {"y": alt.Y("value:N")}
    return (
        alt.Chart(data)
        .mark_rule(color="black", strokeDash=[4, 4], strokeWidth=2)
        .encode(**position, tooltip=[tooltip])
    )


def _tooltip(result: PartialDependence, y_title: str) -> list[alt.Tooltip]:
    return [
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("value", title=result.feature),
        alt.Tooltip("output:Q", title=y_title, format=".4f"),
    ]


def partial_dependence_heatmap(
    result: PartialDependence2D, model: str | None = None
) -> alt.LayerChart:
    """Draw a two-feature partial dependence as a heatmap with values in the cells.

    Parameters
    ----------
    result : PartialDependence2D
        Output of :func:`analysis.pdp.partial_dependence_2d`.
    model : str, optional
        Model name to draw; the first model by default.

    Returns
    -------
    altair.LayerChart
    """
    frame = result.to_frame()
    name = model if model is not None else next(iter(result.values))
    data = frame.loc[frame["model"] == name].copy()
    data["x"] = data["x"].astype(str)
    data["y"] = data["y"].astype(str)
    x_name, y_name = result.features
    x_order = [str(value) for value in result.grids[0]]
    y_order = [str(value) for value in result.grids[1]]

    base = alt.Chart(data).encode(
        x=alt.X("x:N", title=x_name, sort=x_order),
        y=alt.Y("y:N", title=y_name, sort=y_order[::-1]),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "output:Q", title=result.output, scale=alt.Scale(scheme="viridis")
        ),
        tooltip=[
            alt.Tooltip("x:N", title=x_name),
            alt.Tooltip("y:N", title=y_name),
            alt.Tooltip("output:Q", title=result.output, format=".4f"),
        ],
    )
    labels = base.mark_text(fontSize=9, color="white").encode(
        text=alt.Text("output:Q", format=".2f")
    )
    rows = (
        f"row {result.position}"
        if result.position is not None
        else f"mean over {result.n_rows:,} of {result.n_total:,} rows"
    )
    title = alt.TitleParams(
        text=f"{x_name} and {y_name}", subtitle=[f"{name}: {result.output}, {rows}"]
    )
    return alt.layer(cells, labels).properties(title=title)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the grid values as text, for a nominal axis."""
    return frame.assign(value=frame["value"].astype(str))
