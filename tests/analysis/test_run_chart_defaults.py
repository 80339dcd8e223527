"""Default metrics, scatter pair and parallel axes of the Runs page charts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.run_chart_defaults import (
    common_run_count,
    default_metrics,
    default_parallel_axes,
    default_scatter_pair,
    is_metric_column,
    is_step_counter,
)

NAN = np.nan


def _runs() -> pd.DataFrame:
    """Five runs: config.a on one run, config.b on four, config.c constant."""
    return pd.DataFrame(
        {
            "name": ["r0", "r1", "r2", "r3", "r4"],
            "config.a": [1.0, NAN, NAN, NAN, NAN],
            "config.b": [0.1, 0.2, 0.3, 0.4, NAN],
            "config.c": ["x", "x", "x", "x", "x"],
            "config.d": [[64], [64, 32], NAN, NAN, NAN],
            "summary.acc": [NAN, NAN, NAN, NAN, 0.9],
            "summary.val/acc": [0.5, 0.6, 0.7, NAN, 0.8],
            "summary.epoch": [3.0, 4.0, 5.0, 6.0, 7.0],
            "summary.loss": [1.0, 1.0, 1.0, 1.0, 1.0],
        }
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("epoch", True),
        ("_step", True),
        ("_runtime", True),
        ("_timestamp", True),
        ("trainer/global_step", True),
        ("train/Epoch", True),
        ("val/acc", False),
        ("epoch_loss", False),
        ("loss", False),
    ],
)
def test_step_counters_recognised(key, expected):
    assert is_step_counter(key) is expected


def test_summary_step_counter_not_metric():
    assert is_metric_column("summary.val/acc")
    assert not is_metric_column("summary.epoch")
    assert not is_metric_column("config.lr")


def test_default_metrics_skip_counters_keep_slashes():
    keys = ["_step", "acc", "epoch", "loss", "val/acc"]
    # Runs logging each: val/acc 4, loss 5, acc 1; epoch is skipped.
    assert default_metrics(keys, _runs()) == ["loss", "val/acc", "acc"]
    assert default_metrics(keys, _runs(), count=1) == ["loss"]


def test_scatter_pair_most_runs_together():
    runs = _runs()
    parameters = ["config.a", "config.b", "config.c", "config.d"]
    metrics = ["summary.acc", "summary.loss", "summary.val/acc"]
    # config.b with summary.val/acc: runs r0, r1, r2, both varying. config.a
    # and summary.acc have one run each, config.c and summary.loss are constant.
    assert default_scatter_pair(runs, parameters, metrics) == (
        "config.b",
        "summary.val/acc",
    )
    assert common_run_count(runs, "config.b", "summary.val/acc") == 3


def test_scatter_pair_none_without_variation():
    runs = _runs().iloc[[0]]
    pair = default_scatter_pair(runs, ["config.b"], ["summary.val/acc"])
    assert pair is None


def test_common_run_count_disjoint_pair():
    assert common_run_count(_runs(), "config.a", "summary.acc") == 0
    assert common_run_count(_runs(), "config.missing", "summary.acc") == 0


def test_parallel_axes_skip_constant_and_single():
    runs = _runs()
    parameters = ["config.a", "config.b", "config.c", "config.d"]
    metrics = ["summary.acc", "summary.loss", "summary.val/acc"]
    # config.a has one value and config.c one value: both left out. config.d
    # contains lists that differ, on two runs, so it follows config.b (four runs).
    assert default_parallel_axes(runs, parameters, metrics) == [
        "config.b",
        "config.d",
        "summary.val/acc",
    ]
    assert default_parallel_axes(runs, parameters, metrics, count=1) == [
        "config.b",
        "summary.val/acc",
    ]
