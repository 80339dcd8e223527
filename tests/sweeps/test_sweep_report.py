"""Sweep tables and figures for the app: progress, best trial, importance."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import tracking
from tracking.sweeps import store as sweep_store
from tracking.sweeps.report import (
    best_run,
    best_trial,
    error_line,
    importance_trial_count,
    parallel_frame,
    parameter_importance,
    sweeps_table,
    trials_table,
)


def _train():
    run = tracking.init()
    config = tracking.config
    # Only x moves the loss; noise is a parameter that changes nothing.
    run.log({"loss": (config.x - 3) ** 2})


@pytest.fixture
def grid_sweep(sqlite_store):
    sweep_id = tracking.sweep(
        {
            "method": "grid",
            "metric": {"name": "loss"},
            "parameters": {
                "x": {"values": [1, 2, 3, 4, 5]},
                "noise": {"values": ["a", "b"]},
                "k": {"value": 1},
            },
        },
        project="report",
    )
    tracking.agent(sweep_id, function=_train, count=8)
    store = tracking.open_store()
    return store, sweep_store.get_sweep(store, sweep_id)


def test_sweeps_table_progress(grid_sweep):
    store, sweep = grid_sweep
    row = sweeps_table(store).set_index("sweep_id").loc[sweep.sweep_id]
    assert row["trials"] == 8
    assert row["planned"] == 10
    assert row["progress"] == pytest.approx(0.8)
    assert row["finished"] == 8
    assert row["failed"] == 0
    assert row["best"] == 0.0
    assert row["state"] == "running"


def test_best_trial_has_lowest_loss(grid_sweep):
    store, sweep = grid_sweep
    best = best_trial(sweep, sweep_store.list_trials(store, sweep))
    assert best.params["x"] == 3
    assert best.best == 0.0


def test_trials_frame_running_best(grid_sweep):
    store, sweep = grid_sweep
    frame = sweep_store.trials_frame(store, sweep)
    # Grid order: (noise a, x 1), (a, 2), (a, 3), (a, 4), (a, 5), (b, 1), ...
    assert frame["metric"].tolist() == [4.0, 1.0, 0.0, 1.0, 4.0, 4.0, 1.0, 0.0]
    assert frame["running_best"].tolist() == [4.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


def test_importance_ranks_driving_parameter(grid_sweep):
    store, sweep = grid_sweep
    importance = parameter_importance(sweep, sweep_store.list_trials(store, sweep))
    assert list(importance.index) == ["x", "noise"]
    assert importance.sum() == pytest.approx(1.0)
    assert importance["x"] > 0.9


def test_parallel_frame_scales_axes():
    trials = pd.DataFrame(
        {
            "number": [1, 2, 3],
            "metric": [0.5, 1.5, math.nan],
            "param.lr": [0.1, 0.3, 0.2],
            "param.opt": ["sgd", "adam", "sgd"],
            "param.k": [7, 7, 7],
        }
    )
    frame = parallel_frame(trials)
    positions = frame.set_index(["number", "axis"])["position"]
    assert set(frame["axis"]) == {"lr", "opt", "metric"}
    assert positions[(1, "lr")] == 0.0
    assert positions[(2, "lr")] == 1.0
    assert positions[(2, "opt")] == 0.0
    assert positions[(1, "opt")] == 1.0
    assert positions[(2, "metric")] == 1.0
    assert 3 not in set(frame["number"])


TRACEBACK = """Traceback (most recent call last):
  File "train.py", line 3, in <module>
    fit()
ValueError: learning rate 2.0 is above 1
"""


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (TRACEBACK, "ValueError: learning rate 2.0 is above 1"),
        (
            "exit code 1\n" + TRACEBACK,
            "exit code 1: ValueError: learning rate 2.0 is above 1",
        ),
        ("exit code -9", "exit code -9"),
        (
            "cannot start ['python', 'x.py']: not found",
            "cannot start ['python', 'x.py']: not found",
        ),
        ("  \n", None),
        (None, None),
    ],
)
def test_error_line_names_failure(error, line):
    assert error_line(error) == line


def _flaky_train():
    run = tracking.init()
    if tracking.config.x == 2:
        raise ValueError("x = 2 diverged")
    run.log({"loss": (tracking.config.x - 3) ** 2})


def test_trials_table_error_column(sqlite_store):
    sweep_id = tracking.sweep(
        {
            "method": "grid",
            "metric": {"name": "loss"},
            "parameters": {"x": {"values": [1, 2, 3]}},
        }
    )
    tracking.agent(sweep_id, function=_flaky_train)
    store = tracking.open_store()
    sweep = sweep_store.get_sweep(store, sweep_id)
    trials = sweep_store.list_trials(store, sweep)

    table = trials_table(sweep_store.trials_frame(store, sweep), trials)

    assert list(table.columns[:4]) == ["number", "run_id", "state", "error"]
    assert list(table["state"]) == ["finished", "failed", "finished"]
    assert table["error"].iloc[1] == "ValueError: x = 2 diverged"
    assert table["error"].iloc[[0, 2]].isna().all()
    assert importance_trial_count(trials) == 2


def test_trials_table_empty_sweep(sqlite_store):
    sweep_id = tracking.sweep({"method": "grid", "parameters": {"x": {"values": [1]}}})
    store = tracking.open_store()
    sweep = sweep_store.get_sweep(store, sweep_id)

    table = trials_table(sweep_store.trials_frame(store, sweep), [])

    assert table.empty
    assert "error" in table.columns


def test_best_run_config_four_digits(sqlite_store):
    sweep_id = tracking.sweep(
        {
            "method": "grid",
            "metric": {"name": "loss"},
            "parameters": {
                "lr": {"value": 0.24741783818701557},
                "big": {"value": 123456.7},
                "n": {"value": 12345},
                "layers": {"value": [64, 32]},
            },
        }
    )
    tracking.agent(sweep_id, function=lambda: tracking.init().log({"loss": 1.0}))
    store = tracking.open_store()
    sweep = sweep_store.get_sweep(store, sweep_id)

    best = best_run(store, sweep, sweep_store.list_trials(store, sweep))

    values = dict(zip(best.config["parameter"], best.config["value"], strict=True))
    assert values == {
        "lr": "0.2474",
        "big": "1.235e+05",
        "n": "12345",
        "layers": "[64, 32]",
    }
    [trial] = sweep_store.list_trials(store, sweep)
    assert trial.params["lr"] == 0.24741783818701557
