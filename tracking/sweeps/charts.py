"""Altair charts of a sweep: metric per trial, parallel coordinates, importance."""

from __future__ import annotations

import altair as alt
import pandas as pd


def metric_chart(trials: pd.DataFrame, metric: str) -> alt.Chart:
    """Plot each trial's best metric as a point and the running best as a line."""
    done = trials.dropna(subset=["metric"])
    trial_axis = alt.Axis(tickMinStep=1, format="d")
    base = alt.Chart(done).encode(x=alt.X("number:Q", title="trial", axis=trial_axis))
    points = base.mark_circle(size=60).encode(
        y=alt.Y("metric:Q", title=metric, scale=alt.Scale(zero=False)),
        color=alt.Color("state:N", title="state"),
        tooltip=["number", "run_id", "state", "metric"],
    )
    best = base.mark_line(interpolate="step-after", color="black").encode(
        y=alt.Y("running_best:Q", title=metric)
    )
    return (points + best).properties(height=300)


def parallel_coordinates_chart(frame: pd.DataFrame, metric: str) -> alt.Chart:
    """Draw one line per trial across the parameter axes, coloured by the metric.

    ``frame`` is :func:`tracking.sweeps.report.parallel_frame`'s output.
    """
    axes = list(dict.fromkeys(frame["axis"]))
    return (
        alt.Chart(frame)
        .mark_line(opacity=0.6)
        .encode(
            x=alt.X("axis:N", sort=axes, title=None),
            y=alt.Y("position:Q", axis=None),
            color=alt.Color(
                "metric:Q", title=metric, scale=alt.Scale(scheme="viridis")
            ),
            detail="number:N",
            tooltip=["number", "axis", "value", "metric"],
        )
        .properties(height=320)
    )


def importance_chart(importance: pd.Series) -> alt.Chart:
    """Draw parameter importances as horizontal bars, largest first."""
    frame = importance.rename_axis("parameter").reset_index(name="importance")
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("importance:Q", title="importance (fANOVA)"),
            y=alt.Y("parameter:N", sort="-x", title=None),
            tooltip=["parameter", alt.Tooltip("importance:Q", format=".3f")],
        )
    )
