"""Default metrics, scatter pair and parallel axes for the Runs page charts.

Each default prefers the keys that most of the given runs have, so that a
chart opens with data in it. Step counters such as ``epoch`` or ``_step``
rise with every logged row in any run, so they are never default metrics.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

# Names of the last path part of a key (after any "/") that count steps.
STEP_COUNTER_NAMES = frozenset(
    {
        "epoch",
        "epochs",
        "step",
        "steps",
        "global_step",
        "iteration",
        "iter",
        "batch",
        "runtime",
        "timestamp",
    }
)


def is_step_counter(key: str) -> bool:
    """Tell whether a metric key is a step counter or a system key, not a metric.

    ``_step``, ``_runtime``, ``_timestamp`` and other keys starting with an
    underscore are system keys; ``epoch``, ``trainer/global_step`` and the
    other names in :data:`STEP_COUNTER_NAMES` count steps.
    """
    if key.startswith("_"):
        return True
    last = key.rsplit("/", 1)[-1].lower()
    return last.lstrip("_") in STEP_COUNTER_NAMES


def default_metrics(
    keys: Sequence[str], runs: pd.DataFrame, count: int = 4
) -> list[str]:
    """Pick up to ``count`` metrics that most runs logged, then by name.

    ``keys`` are history keys such as ``val/acc``; a run counts as logging a
    key when its ``summary.<key>`` column has a value.
    """

    def runs_logging(key: str) -> int:
        column = f"summary.{key}"
        return int(runs[column].notna().sum()) if column in runs else 0

    metrics = [key for key in keys if not is_step_counter(key)]
    return sorted(metrics, key=lambda key: (-runs_logging(key), key))[:count]


def is_metric_column(column: str) -> bool:
    """Tell whether a ``summary.`` column is a metric, not a step counter."""
    return column.startswith("summary.") and not is_step_counter(
        column.removeprefix("summary.")
    )


def default_scatter_pair(
    runs: pd.DataFrame,
    parameters: Sequence[str],
    metrics: Sequence[str],
) -> tuple[str, str] | None:
    """Pick the parameter and summary metric that the most runs have together.

    Only pairs whose parameter and metric both take more than one value over
    the runs that have both are considered. Ties go to the first parameter,
    then the first metric, in the given order. Returns None when no pair
    varies, for example with a single run.
    """
    best: tuple[int, int, int] | None = None
    chosen = None
    for parameter_index, parameter in enumerate(parameters):
        if parameter not in runs:
            continue
        has_parameter = runs[parameter].notna()
        for metric_index, metric in enumerate(metrics):
            if metric not in runs or metric == parameter:
                continue
            both = runs[has_parameter & runs[metric].notna()]
            if _distinct_count(both[parameter]) < 2:
                continue
            if _distinct_count(both[metric]) < 2:
                continue
            rank = (-len(both), parameter_index, metric_index)
            if best is None or rank < best:
                best, chosen = rank, (parameter, metric)
    return chosen


def default_parallel_axes(
    runs: pd.DataFrame,
    parameters: Sequence[str],
    metrics: Sequence[str],
    count: int = 4,
) -> list[str]:
    """Pick up to ``count`` varying parameters and one metric as parallel axes.

    Parameters that are constant or missing over ``runs`` are left out, and
    the rest are ordered by how many runs have them, then as given. The
    metric is the one the most runs have, among those that vary.
    """
    varying = [
        column
        for column in parameters
        if column in runs and _distinct_count(runs[column]) > 1
    ]
    varying.sort(key=lambda column: -int(runs[column].notna().sum()))
    metric_choices = [
        column
        for column in metrics
        if column in runs and _distinct_count(runs[column]) > 1
    ]
    metric_choices.sort(key=lambda column: -int(runs[column].notna().sum()))
    return varying[:count] + metric_choices[:1]


def common_run_count(runs: pd.DataFrame, parameter: str, metric: str) -> int:
    """Count the runs that have a value for both ``parameter`` and ``metric``."""
    if parameter not in runs or metric not in runs:
        return 0
    metric_values = pd.to_numeric(runs[metric], errors="coerce")
    return int((runs[parameter].notna() & metric_values.notna()).sum())


def _distinct_count(values: pd.Series) -> int:
    """Count distinct non-missing values, lists and dicts included."""
    return len({_hashable(value) for value in values.dropna()})


def _hashable(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, default=str)
    return value
