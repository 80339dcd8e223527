"""Previews of the next trials match the trials that agents then claim."""

from __future__ import annotations

import logging

import pytest
import sweep_trials

import tracking
from tracking.sweeps import load_sweep_config, preview
from tracking.sweeps import store as sweep_store
from tracking.sweeps.previews import preview_caption, preview_trials

NESTED = {
    "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
    "opt": {"parameters": {"name": {"values": ["adam", "sgd"]}}},
}


def _trial_configs(sweep_id):
    store = tracking.open_store()
    sweep = sweep_store.get_sweep(store, sweep_id)
    return [
        (trial.number, sweep.config.to_run_config(trial.params))
        for trial in sweep_store.list_trials(store, sweep)
    ]


def test_random_preview_is_first_trials(sqlite_store):
    config = {"method": "random", "parameters": NESTED}
    previewed = preview(config, n=4, seed=21)
    sweep_id = tracking.sweep(config, seed=21)
    tracking.agent(sweep_id, function=sweep_trials.log_params, count=4)
    assert [config for _, config in _trial_configs(sweep_id)] == previewed


def test_bayes_preview_first_row_is_first_trial(sqlite_store):
    config = {
        "method": "bayes",
        "metric": {"name": "score", "goal": "maximize"},
        "parameters": NESTED,
    }
    previewed = preview(config, n=3, seed=8)
    sweep_id = tracking.sweep(config, seed=8)
    tracking.agent(sweep_id, function=sweep_trials.log_params, count=1)
    [(number, first)] = _trial_configs(sweep_id)
    assert number == 1
    assert first == previewed[0]
    assert len(previewed) == 3
    assert "the first is the config agents will run next" in preview_caption(
        load_sweep_config(config)
    )


def test_preview_after_prior_runs(sqlite_store):
    run = tracking.init(project="p", config={"a": 1, "b": "x"})
    run.finish()
    config = load_sweep_config(
        {
            "method": "grid",
            "run_cap": 4,
            "parameters": {"a": {"values": [1, 2]}, "b": {"values": ["x", "y"]}},
        }
    )
    sweep_id = tracking.sweep(config.raw, project="p", prior_runs=[run.id])
    store = tracking.open_store()
    sweep = sweep_store.get_sweep(store, sweep_id)
    trials = sweep_store.list_trials(store, sweep)

    previewed = preview_trials(config, sweep.seed, trials, n=5)

    # The prior run covers a=1, b=x, so the grid goes on from a=1, b=y.
    assert [(p.number, p.config) for p in previewed] == [
        (2, {"a": 1, "b": "y"}),
        (3, {"a": 2, "b": "x"}),
        (4, {"a": 2, "b": "y"}),
    ]


def test_preview_stops_at_run_cap():
    config = load_sweep_config(
        {
            "method": "random",
            "run_cap": 2,
            "parameters": {"x": {"min": 0.0, "max": 1.0}},
        }
    )
    assert [p.number for p in preview_trials(config, 3, n=5)] == [1, 2]


def test_sweep_logs_next_trials(sqlite_store, caplog):
    config = {"method": "random", "parameters": {"x": {"values": [7]}}}
    with caplog.at_level(logging.INFO, logger="tracking.sweeps"):
        tracking.sweep(config, seed=1)
    assert "Next trials: the configs agents will run next, in order:" in caplog.text
    assert "trial 1: {'x': 7}" in caplog.text
    assert "trial 3: {'x': 7}" in caplog.text


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, True])
def test_invalid_seed_rejected(sqlite_store, seed):
    with pytest.raises(tracking.sweeps.SweepError, match="seed must be a whole"):
        tracking.sweep(
            {"method": "random", "parameters": {"x": {"values": [1]}}}, seed=seed
        )
    assert sweep_store.list_sweeps(tracking.open_store()) == []
