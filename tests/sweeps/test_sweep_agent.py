"""In-process agents: count, methods with nested parameters, failures, states."""

from __future__ import annotations

import pytest
import sweep_trials

import tracking
from tracking.sweeps import AgentError, SweepError, cancel, pause, resume, stop
from tracking.sweeps import store as sweep_store
from tracking.sweeps.controller import claim_trial

NESTED = {
    "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
    "opt": {
        "parameters": {
            "name": {"values": ["adam", "sgd"]},
            "momentum": {"min": 0.5, "max": 0.99},
            "schedule": {"parameters": {"warmup": {"min": 0, "max": 10}}},
        }
    },
}


def _runs(project):
    return tracking.open_store().runs(project).sort_values("created_at")


@pytest.mark.parametrize("method", ["random", "bayes"])
def test_nested_parameters_reach_run_config(sqlite_store, method):
    sweep_id = tracking.sweep(
        {"method": method, "metric": {"name": "score"}, "parameters": NESTED},
        project="nested",
    )
    results = tracking.agent(sweep_id, function=sweep_trials.log_params, count=12)
    assert len(results) == 12
    assert {r.state for r in results} == {"finished"}

    store = tracking.open_store()
    for trial in sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_id)):
        config = store.run("nested", trial.run_id)["config"]
        assert config["script_default"] == 1
        assert 1e-4 <= config["lr"] <= 1e-1
        assert config["opt"]["name"] in ("adam", "sgd")
        assert 0.5 <= config["opt"]["momentum"] <= 0.99
        assert config["opt"]["schedule"]["warmup"] in range(11)
        assert config["opt"]["momentum"] == trial.params["opt.momentum"]


def test_count_limits_trials(sqlite_store):
    sweep_id = tracking.sweep(
        {"method": "random", "parameters": {"x": {"min": 0.0, "max": 1.0}}}, project="c"
    )
    assert len(tracking.agent(sweep_id, function=sweep_trials.log_params, count=3)) == 3
    assert len(tracking.agent(sweep_id, function=sweep_trials.log_params, count=2)) == 2
    assert len(_runs("c")) == 5
    numbers = [t.number for t in _trials(sweep_id)]
    assert numbers == [1, 2, 3, 4, 5]


def _trials(sweep_id):
    store = tracking.open_store()
    return sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_id))


def test_random_draws_replay_with_seed(sqlite_store):
    config = {"method": "random", "parameters": {"x": {"min": 0.0, "max": 1.0}}}
    first = tracking.sweep(config, seed=11)
    second = tracking.sweep(config, seed=11)
    tracking.agent(first, function=sweep_trials.log_params, count=3)
    tracking.agent(second, function=sweep_trials.log_params, count=3)
    assert [t.params for t in _trials(first)] == [t.params for t in _trials(second)]


def test_failure_streak_stops_agent(sqlite_store):
    sweep_id = tracking.sweep(
        {"method": "random", "parameters": {"x": {"values": [1, 2]}}}, project="f"
    )
    with pytest.raises(AgentError) as raised:
        tracking.agent(sweep_id, function=sweep_trials.fail, max_consecutive_failures=3)
    message = str(raised.value)
    assert "3 trials failed in a row" in message
    assert "trial 1" in message
    assert "ValueError: this trial fails on purpose" in message
    trials = _trials(sweep_id)
    assert [t.state for t in trials] == ["failed"] * 3
    assert "ValueError" in trials[0].error
    assert set(_runs("f")["state"]) == {"failed"}


def test_failed_trial_does_not_stop_agent(sqlite_store):
    sweep_id = tracking.sweep(
        {"method": "grid", "parameters": {"fail": {"values": [False, True, False]}}},
        project="g",
    )

    def train():
        run = tracking.init()
        if tracking.config.fail:
            raise RuntimeError("bad combination")
        run.log({"score": 1})

    results = tracking.agent(sweep_id, function=train)
    assert [r.state for r in results] == ["finished", "failed", "finished"]
    assert "RuntimeError: bad combination" in results[1].error


def test_trial_without_init_recorded(sqlite_store, caplog):
    sweep_id = tracking.sweep({"method": "grid", "parameters": {"a": {"values": [1]}}})
    results = tracking.agent(sweep_id, function=sweep_trials.fail_before_init)
    assert results[0].state == "failed"
    assert "RuntimeError: no run for this trial" in results[0].error
    assert "never called tracking.init()" in caplog.text


def test_run_cap_ends_sweep(sqlite_store):
    sweep_id = tracking.sweep(
        {
            "method": "random",
            "run_cap": 4,
            "parameters": {"x": {"min": 0.0, "max": 1.0}},
        }
    )
    assert len(tracking.agent(sweep_id, function=sweep_trials.log_params)) == 4
    store = tracking.open_store()
    assert sweep_store.get_sweep(store, sweep_id).state == "finished"


def test_target_ends_sweep(sqlite_store):
    sweep_id = tracking.sweep(
        {
            "method": "grid",
            "metric": {"name": "score", "goal": "maximize", "target": 22},
            "parameters": {"x": {"values": [10, 20, 30, 40]}},
        }
    )
    # x = 20 logs scores 21, 22, 23 (plus script_default 1): the target is reached.
    results = tracking.agent(sweep_id, function=sweep_trials.log_params)
    assert len(results) == 2


def test_state_commands(sqlite_store):
    sweep_id = tracking.sweep(
        {"method": "grid", "parameters": {"a": {"values": [1, 2]}}}
    )
    store = tracking.open_store()
    assert pause(sweep_id) == "paused"
    assert claim_trial(store, sweep_id) == "paused"
    with pytest.raises(SweepError, match="cannot pause sweep .*: it is paused"):
        pause(sweep_id)
    assert resume(sweep_id) == "running"
    assert stop(sweep_id) == "stopped"
    assert claim_trial(store, sweep_id) == "stopped"
    assert tracking.agent(sweep_id, function=sweep_trials.log_params) == []
    assert resume(sweep_id) == "running"
    assert cancel(f"entity/project/{sweep_id}") == "cancelled"
    with pytest.raises(SweepError, match="cannot resume sweep .*: it is cancelled"):
        resume(sweep_id)
    with pytest.raises(SweepError, match="sweep 'nope' not found"):
        pause("nope")


def test_stop_lets_running_trial_finish(sqlite_store):
    sweep_id = tracking.sweep(
        {"method": "grid", "parameters": {"a": {"values": [1, 2, 3]}}}
    )

    def train():
        run = tracking.init()
        stop(sweep_id)
        run.log({"score": 1})

    results = tracking.agent(sweep_id, function=train)
    assert [r.state for r in results] == ["finished"]


def test_n_jobs_runs_in_worker_processes(sqlite_store):
    sweep_id = tracking.sweep(
        {"method": "grid", "parameters": {"a": {"values": [1, 2, 3, 4]}}}, project="nj"
    )
    results = tracking.agent(
        sweep_id, function=sweep_trials.log_params_slowly, n_jobs=2
    )
    assert sorted(r.state for r in results) == ["finished"] * 4
    runs = _runs("nj")
    assert sorted(runs["config.a"]) == [1, 2, 3, 4]
    import os

    assert os.getpid() not in set(runs["summary.pid"])


def test_agent_without_program_or_function(sqlite_store):
    sweep_id = tracking.sweep({"method": "grid", "parameters": {"a": {"values": [1]}}})
    with pytest.raises(AgentError, match="has no program or command to run"):
        tracking.agent(sweep_id)


def test_agent_refuses_to_start_inside_an_active_run(sqlite_store):
    sweep_id = tracking.sweep(
        {"method": "grid", "parameters": {"x": {"values": [1, 2]}}},
        project="busy",
    )
    run = tracking.init(project="busy")
    with pytest.raises(tracking.UsageError, match=run.id):
        tracking.agent(sweep_id, function=lambda: None, count=1)
    run.log({"still": 1})
    run.finish()
    assert tracking.open_store().run("busy", run.id)["state"] == "finished"
