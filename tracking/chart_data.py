"""Shaping metric histories for charts: the x axis, smoothing and run groups.

Each function takes the long history frame of :meth:`tracking.RunStore.history`
or :func:`tracking.downsample.downsampled_history` and returns a new frame;
the chart builders in ``analysis.run_charts`` draw them.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

# x axes that every history has; any other name is a metric logged beside it.
X_AXES = {
    "step": "Step",
    "runtime": "Relative time (s)",
    "wall_time": "Wall time",
}
SMOOTHING_METHODS = ("debiased", "plain")
MAX_GROUP_BINS = 500


def with_x_axis(
    history: pd.DataFrame, x_axis: str, x_history: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Add an ``x`` column: the step, the run's relative time, wall time or a metric.

    Parameters
    ----------
    history : pandas.DataFrame
        Long history with ``run_id``, ``step``, ``timestamp`` and ``runtime``.
    x_axis : str
        ``"step"``, ``"runtime"`` (seconds since the run started),
        ``"wall_time"`` (a UTC datetime) or the name of another metric.
    x_history : pandas.DataFrame, optional
        The history of the x metric when ``x_axis`` names one. Each point
        takes the x metric's value at the same step, or else at the latest
        earlier step of the same run. Points before the x metric's first
        step are dropped.

    Returns
    -------
    pandas.DataFrame
        ``history`` with ``x``, sorted by run and step.
    """
    data = history.sort_values(["run_id", "step"], kind="stable").reset_index(drop=True)
    if x_axis == "step":
        return data.assign(x=data["step"].astype("float64"))
    if x_axis == "runtime":
        return data.assign(x=data["runtime"].astype("float64"))
    if x_axis == "wall_time":
        return data.assign(x=pd.to_datetime(data["timestamp"], unit="s", utc=True))
    if x_history is None:
        raise ValueError(
            f"x axis {x_axis!r} is not one of {', '.join(X_AXES)}; pass the "
            "history of that metric as x_history to plot against it"
        )

    x_points = (
        x_history[["run_id", "step", "value"]]
        .dropna(subset=["value"])
        .rename(columns={"value": "x"})
        .sort_values("step", kind="stable")
    )
    data = data.sort_values("step", kind="stable")
    merged = pd.merge_asof(
        data, x_points, on="step", by="run_id", direction="backward"
    ).dropna(subset=["x"])
    return merged.sort_values(["run_id", "step"], kind="stable").reset_index(drop=True)


def smooth(
    history: pd.DataFrame, weight: float, method: str = "debiased"
) -> pd.DataFrame:
    """Add a ``smoothed`` column: an exponential moving average of each line.

    A line is one ``run_id`` and ``key``, in step order. With weight ``w`` the
    plain average is ``s[0] = v[0]``, ``s[i] = w * s[i-1] + (1 - w) * v[i]``.
    The debiased average, as in TensorBoard, starts from zero and divides by
    ``1 - w**(i + 1)``, which equals the mean of the values weighted by
    ``w**age``, so early points are not pulled towards the first one. NaN
    values are skipped and stay NaN. The average runs over the points given,
    so on a downsampled line it spans more steps per point.

    Parameters
    ----------
    history : pandas.DataFrame
        With ``run_id``, ``key``, ``step`` and ``value``.
    weight : float
        In [0, 1); 0 leaves the values as they are.
    method : {"debiased", "plain"}
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    if method not in SMOOTHING_METHODS:
        raise ValueError(
            f"smoothing method must be one of {', '.join(SMOOTHING_METHODS)}, "
            f"got {method!r}"
        )
    data = history.sort_values(["run_id", "key", "step"], kind="stable").reset_index(
        drop=True
    )
    if weight == 0.0 or data.empty:
        return data.assign(smoothed=data["value"].astype("float64"))

    smoothed = data.groupby(["run_id", "key"], sort=False)["value"].transform(
        lambda values: values.ewm(
            alpha=1.0 - weight, adjust=method == "debiased", ignore_na=True
        ).mean()
    )
    smoothed = smoothed.where(data["value"].notna())
    return data.assign(smoothed=smoothed.astype("float64"))


def group_lines(
    history: pd.DataFrame,
    runs: pd.DataFrame,
    group_by: str,
    *,
    value_column: str = "value",
    max_bins: int = MAX_GROUP_BINS,
) -> pd.DataFrame:
    """Aggregate the lines of runs that share a config value: mean, min and max.

    Runs log at different x values, so x is cut into at most ``max_bins``
    equal-width bins unless it has no more distinct values than that. Within a
    bin each run counts once, with the mean of its points. The mean, min and
    max are then taken over the runs of the group.

    Parameters
    ----------
    history : pandas.DataFrame
        With ``run_id``, ``key``, ``x`` (see :func:`with_x_axis`) and
        ``value_column``.
    runs : pandas.DataFrame
        The runs table, with ``run_id`` and the ``group_by`` column.
    group_by : str
        A column of ``runs``, such as ``config.optimizer``. Runs without a
        value form the group ``"(none)"``.
    value_column : str, default "value"
        ``"smoothed"`` groups smoothed lines.
    max_bins : int, default 500

    Returns
    -------
    pandas.DataFrame
        Columns ``group``, ``key``, ``x``, ``mean``, ``min``, ``max`` and
        ``runs`` (how many runs the bin has), sorted by group, key and x.
    """
    if group_by not in runs.columns:
        raise ValueError(
            f"cannot group by {group_by!r}: the runs have no such column; choose "
            "a config.* column"
        )
    groups = runs.set_index("run_id")[group_by].map(_group_label)
    data = history.dropna(subset=[value_column]).copy()
    data["group"] = data["run_id"].map(groups).fillna("(none)")
    columns = ["group", "key", "x", "mean", "min", "max", "runs"]
    if data.empty:
        return pd.DataFrame({name: [] for name in columns})

    is_time = pd.api.types.is_datetime64_any_dtype(data["x"])
    if is_time:
        epoch = pd.Timestamp(0, tz="UTC")
        x_values = (data["x"] - epoch) / pd.Timedelta(seconds=1)
    else:
        x_values = data["x"].astype("float64")
    data["x_number"] = x_values
    distinct = np.unique(x_values.to_numpy())
    if len(distinct) <= max_bins:
        data["bin"] = np.searchsorted(distinct, x_values.to_numpy())
    else:
        edges = np.linspace(distinct[0], distinct[-1], max_bins + 1)
        data["bin"] = np.clip(
            np.searchsorted(edges, x_values.to_numpy(), side="right") - 1,
            0,
            max_bins - 1,
        )

    per_run = (
        data.groupby(["group", "key", "bin", "run_id"], sort=True)
        .agg(value=(value_column, "mean"), x_number=("x_number", "mean"))
        .reset_index()
    )
    grouped = (
        per_run.groupby(["group", "key", "bin"], sort=True)
        .agg(
            x=("x_number", "mean"),
            mean=("value", "mean"),
            min=("value", "min"),
            max=("value", "max"),
            runs=("run_id", "nunique"),
        )
        .reset_index()
        .drop(columns="bin")
    )
    if is_time:
        grouped["x"] = pd.to_datetime(grouped["x"], unit="s", utc=True)
    return grouped[columns]


def _group_label(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "(none)"
    return str(value)
