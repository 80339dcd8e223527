"""A trial's run: swept keys locked and deep-merged, sweep project, hyperband stop."""

from __future__ import annotations

import copy
import logging

import pytest
import sweep_trials

import tracking
from tracking import writer
from tracking.sweeps import store as sweep_store
from tracking.sweeps.trial import merge_sweep_config


def _one_trial(parameters, train, project="locks", **top):
    sweep_id = tracking.sweep(
        {"method": "grid", "parameters": parameters, **top}, project=project
    )
    results = tracking.agent(sweep_id, function=train, count=1)
    return sweep_id, results[0]


def test_nested_parameters_deep_merged_like_wandb(sqlite_store):
    """Check the W&B source's behaviour: keys only the script has survive."""
    seen = {}
    user_config = {"nested_param": {"manual_key": 1, "learning_rate": 0.5}}
    before = copy.deepcopy(user_config)

    def train():
        tracking.init(config=user_config)
        seen.update(copy.deepcopy(dict(tracking.config)))

    _one_trial(
        {
            "nested_param": {
                "parameters": {
                    "learning_rate": {"value": 0.01},
                    "double": {"parameters": {"x": {"value": 0.9}}},
                }
            }
        },
        train,
    )
    assert seen == {
        "nested_param": {"manual_key": 1, "learning_rate": 0.01, "double": {"x": 0.9}}
    }
    assert user_config == before


def test_swept_keys_locked(sqlite_store, caplog):
    seen = {}

    def train():
        run = tracking.init(config={"lr": 0.5, "epochs": 3})
        with caplog.at_level(logging.WARNING):
            tracking.config.update({"lr": 0.01})
            quiet = caplog.text
            tracking.config.update({"lr": 0.2}, allow_val_change=True)
            tracking.config["lr"] = 0.3
            tracking.config.epochs = 3
            tracking.config.update({"epochs": 5}, allow_val_change=True)
        seen["quiet"] = quiet
        seen["config"] = dict(tracking.config)
        run.log({"score": 1})

    sweep_id, result = _one_trial({"lr": {"values": [0.01]}}, train)
    assert result.state == "finished"
    assert seen["quiet"] == ""
    assert seen["config"] == {"lr": 0.01, "epochs": 5}
    assert "Config item 'lr' was locked by 'sweep' (ignored update)." in caplog.text
    stored = tracking.open_store().run("locks", result.run_id)["config"]
    assert stored == {"lr": 0.01, "epochs": 5}


def test_sweep_project_and_run_id_win(sqlite_store, caplog):
    ids = {}

    def train():
        run = tracking.init(project="mine", id="my-id")
        ids["project"], ids["id"] = run.project, run.id
        run.log({"score": 1})

    sweep_id, result = _one_trial({"a": {"values": [1]}}, train, project="swept")
    assert ids == {"project": "swept", "id": result.run_id}
    assert "init(project='mine') ignored" in caplog.text
    assert "init(id='my-id') ignored" in caplog.text
    assert tracking.open_store().run("swept", result.run_id)["sweep_id"] == sweep_id


def test_second_init_in_trial_is_a_plain_run(sqlite_store):
    ids = []

    def train():
        with tracking.init() as run:
            ids.append((run.id, run.sweep_id))
        with tracking.init(project="other") as run:
            ids.append((run.id, run.sweep_id))

    sweep_id, result = _one_trial({"a": {"values": [1]}}, train)
    assert ids[0] == (result.run_id, sweep_id)
    assert ids[1][0] != result.run_id
    assert ids[1][1] is None


def test_merge_sweep_config_copies():
    user = {"opt": {"keep": [1], "lr": 1}, "other": 2}
    swept = {"opt": {"lr": 0.1}, "new": {"a": 1}}
    merged = merge_sweep_config(user, swept)
    assert merged == {"opt": {"keep": [1], "lr": 0.1}, "new": {"a": 1}}
    merged["opt"]["keep"].append(2)
    merged["new"]["a"] = 5
    assert user["opt"]["keep"] == [1]
    assert swept["new"]["a"] == 1


@pytest.fixture
def fast_writer(monkeypatch):
    """Flush history every 50 ms, so hyperband decides while a trial logs."""
    monkeypatch.setattr(writer, "FLUSH_SECONDS", 0.05)


def test_hyperband_stops_worse_run_in_process(sqlite_store, fast_writer):
    sweep_id = tracking.sweep(
        {
            "method": "grid",
            "metric": {"name": "loss"},
            "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 2},
            "parameters": {"level": {"values": [1, 2, 5]}},
        },
        project="hb",
    )
    results = tracking.agent(sweep_id, function=sweep_trials.hyperband_curve)
    assert [r.state for r in results] == ["finished", "finished", "stopped"]

    store = tracking.open_store()
    runs = store.runs("hb").sort_values("created_at")
    assert list(runs["state"]) == ["finished", "finished", "stopped"]
    steps = list(runs["last_step"])
    assert steps[:2] == [39, 39]
    assert steps[2] < 39
    trials = sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_id))
    assert trials[2].stop_requested == "hyperband"
    assert trials[2].state == "stopped"
