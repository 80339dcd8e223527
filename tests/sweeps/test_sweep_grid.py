"""Grid search: W&B's order and enumeration, exhaustion, random order, requeue."""

from __future__ import annotations

import itertools

import pytest
import sweep_trials

import tracking
from tracking.sweeps import load_sweep_config, requeue_failed
from tracking.sweeps import store as sweep_store
from tracking.sweeps.controller import claim_trial
from tracking.sweeps.grid import grid_combination, grid_size, next_grid_index


def _grid(parameters, **top):
    return load_sweep_config({"method": "grid", "parameters": parameters, **top})


def test_order_last_name_fastest():
    config = _grid({"b": {"values": [1, 2]}, "a": {"values": ["x", "y"]}})
    combos = [grid_combination(config, i) for i in range(grid_size(config))]
    assert [(c["a"], c["b"]) for c in combos] == [
        ("x", 1),
        ("x", 2),
        ("y", 1),
        ("y", 2),
    ]


def test_order_matches_itertools_product():
    config = _grid(
        {
            "c": {"values": [True, False]},
            "a": {"min": 1, "max": 3},
            "b": {"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.25},
            "k": {"value": "fixed"},
        }
    )
    expected = list(
        itertools.product([1, 2, 3], [0.0, 0.25, 0.5, 0.75], [True, False], ["fixed"])
    )
    combos = [grid_combination(config, i) for i in range(grid_size(config))]
    assert [(c["a"], c["b"], c["c"], c["k"]) for c in combos] == expected


def test_q_uniform_grid_anchored_at_min():
    config = _grid({"x": {"distribution": "q_uniform", "min": 1, "max": 10, "q": 4}})
    assert config.parameters[0].grid_values() == [1, 5, 9]


def test_nested_grid_gives_every_combination():
    """Check W&B's dropped nested blocks: {a: [1, 2], opt.lr: [.1, .01]} is 4 runs."""
    config = _grid(
        {
            "a": {"values": [1, 2]},
            "opt": {"parameters": {"lr": {"values": [0.1, 0.01]}}},
        }
    )
    assert grid_size(config) == 4
    runs = [config.to_run_config(grid_combination(config, i)) for i in range(4)]
    assert runs == [
        {"a": 1, "opt": {"lr": 0.1}},
        {"a": 1, "opt": {"lr": 0.01}},
        {"a": 2, "opt": {"lr": 0.1}},
        {"a": 2, "opt": {"lr": 0.01}},
    ]


def test_next_index_skips_issued():
    config = _grid({"a": {"values": [1, 2, 3]}})
    assert next_grid_index(config, [], seed=0) == 0
    assert next_grid_index(config, [0, 2], seed=0) == 1
    assert next_grid_index(config, [0, 1, 2], seed=0) is None


def test_randomized_order_issues_each_once():
    config = _grid(
        {"a": {"values": list(range(6))}, "b": {"values": [0, 1]}}, randomize_order=True
    )
    issued = []
    while (index := next_grid_index(config, issued, seed=3)) is not None:
        issued.append(index)
    assert sorted(issued) == list(range(12))
    assert issued != list(range(12))
    replay = []
    while (index := next_grid_index(config, replay, seed=3)) is not None:
        replay.append(index)
    assert replay == issued


def test_grid_sweep_runs_each_combination_then_finishes(store_location):
    sweep_id = tracking.sweep(
        {
            "method": "grid",
            "parameters": {
                "b": {"values": [10, 20]},
                "a": {"min": 1, "max": 3},
                "opt": {"parameters": {"lr": {"values": [0.5]}}},
            },
        },
        project="grid",
    )
    results = tracking.agent(sweep_id, function=sweep_trials.log_params)
    assert [r.state for r in results] == ["finished"] * 6

    store = tracking.open_store()
    runs = store.runs("grid").sort_values("created_at")
    assert list(zip(runs["config.a"], runs["config.b"], strict=True)) == [
        (1, 10),
        (1, 20),
        (2, 10),
        (2, 20),
        (3, 10),
        (3, 20),
    ]
    assert set(runs["config.opt.lr"]) == {0.5}
    assert set(runs["config.script_default"]) == {1}
    assert set(runs["sweep_id"]) == {sweep_id}

    sweep = sweep_store.get_sweep(store, sweep_id)
    assert sweep.state == "finished"
    assert claim_trial(store, sweep_id) == "finished"
    assert tracking.agent(sweep_id, function=sweep_trials.log_params) == []


def test_requeue_failed_combinations(sqlite_store):
    sweep_id = tracking.sweep(
        {"method": "grid", "parameters": {"a": {"values": [1, 2, 3]}}}, project="rq"
    )
    calls = []

    def train():
        run = tracking.init()
        calls.append(tracking.config.a)
        if tracking.config.a == 2 and calls.count(2) == 1:
            raise ValueError("first attempt at a=2 fails")
        run.log({"score": tracking.config.a})

    first = tracking.agent(sweep_id, function=train)
    assert [r.state for r in first] == ["finished", "failed", "finished"]
    store = tracking.open_store()
    assert sweep_store.get_sweep(store, sweep_id).state == "finished"

    assert requeue_failed(sweep_id) == 1
    assert sweep_store.get_sweep(store, sweep_id).state == "running"
    second = tracking.agent(sweep_id, function=train)
    assert [r.state for r in second] == ["finished"]
    assert calls == [1, 2, 3, 2]
    trials = sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_id))
    assert [t.grid_index for t in trials] == [0, None, 2, 1]


def test_grid_index_unique_in_store(sqlite_store):
    """Check the store itself rejects a second trial with the same combination."""
    from sqlalchemy.exc import IntegrityError

    sweep_id = tracking.sweep(
        {"method": "grid", "parameters": {"a": {"values": [1, 2]}}}
    )
    store = tracking.open_store()
    sweep = sweep_store.get_sweep(store, sweep_id)
    with store.write() as conn, conn.begin():
        sweep_store.insert_trial(
            conn, sweep, number=1, params={"a": 1}, grid_index=0, agent="t"
        )
    with pytest.raises(IntegrityError):
        with store.write() as conn, conn.begin():
            sweep_store.insert_trial(
                conn, sweep, number=2, params={"a": 1}, grid_index=0, agent="t"
            )
