"""Bayes search through Optuna: space mapping, observations, discrete spaces."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sweep_trials

import tracking
from tracking.sweeps import load_sweep_config
from tracking.sweeps.bayes import (
    COMPLETE,
    FAILED,
    RUNNING,
    Observation,
    from_internal,
    optuna_distribution,
    suggest_bayes,
    to_internal,
)
from tracking.sweeps.random_search import sample_random, trial_rng


def _bayes(parameters, goal="minimize", **top):
    return load_sweep_config(
        {
            "method": "bayes",
            "metric": {"name": "loss", "goal": goal},
            "parameters": parameters,
            **top,
        }
    )


EVERY_KIND = {
    "cat": {"values": [False, 0, "", None, [1, 2], {"a": 1}]},
    "weighted": {"values": ["a", "b", "c"], "probabilities": [0.1, 0.6, 0.3]},
    "n": {"min": -3, "max": 4},
    "u": {"min": 0.0, "max": 2.0},
    "qu": {"distribution": "q_uniform", "min": 1, "max": 10, "q": 4},
    "lu": {"distribution": "log_uniform", "min": -5.0, "max": 0.0},
    "luv": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1.0},
    "qluv": {"distribution": "q_log_uniform_values", "min": 1, "max": 100, "q": 10},
    "ilu": {"distribution": "inv_log_uniform", "min": 1.0, "max": 3.0},
    "iluv": {"distribution": "inv_log_uniform_values", "min": 0.1, "max": 10.0},
    "norm": {"distribution": "normal", "mu": 2.0, "sigma": 0.5},
    "qnorm": {"distribution": "q_normal", "mu": 0.0, "sigma": 5.0, "q": 2},
    "lnorm": {"distribution": "log_normal", "mu": 0.0, "sigma": 1.0},
    "qlnorm": {"distribution": "q_log_normal", "mu": 1.0, "sigma": 1.0, "q": 0.5},
    "beta": {"distribution": "beta", "a": 2.0, "b": 2.0},
    "qbeta": {"distribution": "q_beta", "a": 2.0, "b": 2.0, "q": 0.1},
    "k": {"value": 7},
}


def test_space_round_trip_for_every_distribution():
    config = _bayes(EVERY_KIND)
    rng = np.random.default_rng(0)
    for _ in range(30):
        values = sample_random(config, rng)
        for parameter in config.searchable:
            value = values[parameter.name]
            internal = to_internal(parameter, value)
            assert optuna_distribution(parameter)._contains(
                optuna_distribution(parameter).to_internal_repr(internal)
            ), parameter.name
            back = from_internal(parameter, internal)
            if isinstance(value, float):
                assert back == pytest.approx(value, rel=1e-9), parameter.name
            else:
                assert back == value, parameter.name
                assert type(back) is type(value), parameter.name


def test_false_zero_and_empty_string_stay_distinct():
    config = _bayes({"x": {"values": [False, 0, "", 0.0]}})
    parameter = config.parameters[0]
    assert [to_internal(parameter, v) for v in (False, 0, "", 0.0)] == [0, 1, 2, 3]
    # Three seen points leave one: bayes must suggest the unseen value.
    observations = [
        Observation({"x": v}, COMPLETE, float(i)) for i, v in enumerate([False, 0, ""])
    ]
    suggested = suggest_bayes(config, observations, seed=1)["x"]
    assert suggested == 0.0
    assert type(suggested) is float


def test_weighted_categorical_suggested():
    config = _bayes(
        {
            "x": {"values": ["a", "b"], "probabilities": [0.9, 0.1]},
            "y": {"min": 0.0, "max": 1.0},
        }
    )
    suggestions = [suggest_bayes(config, [], seed=s)["x"] for s in range(200)]
    # Before any observation the prior weights hold.
    assert 0.8 < suggestions.count("a") / 200 < 0.97


def test_unseen_discrete_points_first():
    config = _bayes({"a": {"values": [1, 2, 3]}, "b": {"values": ["x", "y"]}})
    points = [{"a": a, "b": b} for a in (1, 2, 3) for b in ("x", "y")]
    observations = []
    for index, point in enumerate(points[:-1]):
        state = RUNNING if index % 2 else COMPLETE
        observations.append(Observation(point, state, None if index % 2 else 1.0))
    for seed in range(5):
        assert suggest_bayes(config, observations, seed=seed) == points[-1]


def test_all_points_seen_repeats_one():
    config = _bayes({"a": {"values": [1, 2]}})
    observations = [
        Observation({"a": 1}, COMPLETE, 0.0),
        Observation({"a": 2}, COMPLETE, 1.0),
    ]
    assert suggest_bayes(config, observations, seed=0)["a"] in (1, 2)


def test_failed_trials_do_not_stall():
    config = _bayes({"x": {"min": 0.0, "max": 1.0}})
    observations = [Observation({"x": 0.5}, FAILED) for _ in range(30)]
    values = {
        round(suggest_bayes(config, observations, seed=s)["x"], 6) for s in range(5)
    }
    assert len(values) == 5


def test_non_finite_value_counts_as_worst():
    config = _bayes({"x": {"min": 0.0, "max": 1.0}})
    observations = [
        Observation({"x": 0.1}, COMPLETE, 1.0),
        Observation({"x": 0.2}, COMPLETE, math.inf),
        Observation({"x": 0.3}, COMPLETE, math.nan),
    ]
    assert 0.0 <= suggest_bayes(config, observations, seed=0)["x"] <= 1.0


def test_constants_and_nested_in_suggestion():
    config = _bayes(
        {
            "k": {"value": "fixed"},
            "opt": {"parameters": {"lr": {"min": 0.0, "max": 1.0}}},
        }
    )
    values = suggest_bayes(config, [], seed=0)
    assert values["k"] == "fixed"
    assert config.to_run_config(values)["opt"]["lr"] == values["opt.lr"]


@pytest.mark.parametrize("goal", ["minimize", "maximize"])
def test_bayes_beats_random_on_quadratic(goal):
    """Check TPE's mean best over 4 seeds is below random search's on a bowl."""
    config = _bayes(
        {"x": {"min": -5.0, "max": 5.0}, "y": {"min": -5.0, "max": 5.0}}, goal=goal
    )
    sign = 1 if goal == "minimize" else -1

    def objective(values):
        return sign * ((values["x"] - 1.3) ** 2 + (values["y"] + 0.7) ** 2)

    def best(method):
        return np.mean(
            [
                sign * _optimise_signed(config, objective, seed, 30, method, sign)
                for seed in range(4)
            ]
        )

    assert best("bayes") < best("random") / 2


def _optimise_signed(config, objective, seed, trials, method, sign):
    observations = []
    for number in range(1, trials + 1):
        if method == "bayes":
            values = suggest_bayes(config, observations, seed=seed * 1000 + number)
        else:
            values = sample_random(config, trial_rng(seed, number))
        observations.append(Observation(values, COMPLETE, objective(values)))
    values = [o.value for o in observations]
    return max(values) if sign < 0 else min(values)


def test_gp_sampler_option():
    config = _bayes({"x": {"min": -2.0, "max": 2.0}}, sampler="gp")
    rng = np.random.default_rng(0)
    observations = [
        Observation({"x": x}, COMPLETE, (x - 0.5) ** 2) for x in rng.uniform(-2, 2, 12)
    ]
    assert abs(suggest_bayes(config, observations, seed=0)["x"] - 0.5) < 0.01
    # A running trial at the optimum enters as the worst value seen, so the
    # next agent is sent elsewhere.
    observations.append(Observation({"x": 0.5}, RUNNING))
    suggestion = suggest_bayes(config, observations, seed=0)["x"]
    assert -2.0 <= suggestion <= 2.0
    assert abs(suggestion - 0.5) > 0.1


def test_bayes_sweep_counts_best_logged_value(sqlite_store):
    """Check a finished run counts with its best value, not its last."""
    from tracking.sweeps import store as sweep_store

    sweep_id = tracking.sweep(
        {
            "method": "bayes",
            "metric": {"name": "score", "goal": "minimize"},
            "parameters": {"x": {"min": 0.0, "max": 1.0}},
        }
    )
    tracking.agent(sweep_id, function=sweep_trials.log_params, count=3)
    store = tracking.open_store()
    trials = sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_id))
    for trial in trials:
        # log_params logs score = x + 1, x + 2, x + 3 and the summary keeps x + 3.
        assert trial.best == pytest.approx(trial.params["x"] + 1)


@pytest.mark.parametrize("sampler", ["tpe", "gp"])
def test_suggestion_deterministic_for_seed(sampler):
    config = _bayes(
        {"x": {"min": 0.0, "max": 1.0}, "y": {"values": ["a", "b", "c"]}},
        sampler=sampler,
    )
    rng = np.random.default_rng(0)
    observations = []
    for _ in range(15):
        values = sample_random(config, rng)
        observations.append(Observation(values, COMPLETE, values["x"] ** 2))
    observations.append(Observation(sample_random(config, rng), RUNNING))

    first = suggest_bayes(config, observations, seed=7)
    assert suggest_bayes(config, observations, seed=7) == first
    others = [suggest_bayes(config, observations, seed=s)["x"] for s in range(5)]
    assert len(set(others)) > 1


def test_bayes_sweep_replays_with_seed(sqlite_store):
    """Check two sweeps with one seed and a deterministic objective match."""
    from tracking.sweeps import store as sweep_store

    def run(seed):
        sweep_id = tracking.sweep(
            {
                "method": "bayes",
                "metric": {"name": "score", "goal": "minimize"},
                "parameters": {"x": {"min": 0.0, "max": 1.0}},
            },
            seed=seed,
        )
        # 12 trials, so the last two come from TPE after 10 random ones.
        tracking.agent(sweep_id, function=sweep_trials.log_params, count=12)
        store = tracking.open_store()
        sweep = sweep_store.get_sweep(store, sweep_id)
        return [t.params["x"] for t in sweep_store.list_trials(store, sweep)]

    first = run(5)
    assert run(5) == first
    assert run(6) != first


def test_sweep_observations_reach_sampler(sqlite_store, monkeypatch):
    """Check the sampler is told each finished run's best logged value."""
    import optuna

    from tracking.sweeps import store as sweep_store
    from tracking.sweeps.controller import claim_trial

    sweep_id = tracking.sweep(
        {
            "method": "bayes",
            "metric": {"name": "score", "goal": "minimize"},
            "parameters": {"x": {"min": 0.0, "max": 1.0}},
        }
    )
    tracking.agent(sweep_id, function=sweep_trials.log_params, count=4)
    store = tracking.open_store()
    trials = sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_id))

    told = []
    original = optuna.study.Study.add_trials

    def add_trials(study, frozen):
        told.extend(frozen)
        return original(study, frozen)

    monkeypatch.setattr(optuna.study.Study, "add_trials", add_trials)
    claim_trial(store, sweep_id, agent="test")

    assert [t.state for t in told] == [optuna.trial.TrialState.COMPLETE] * 4
    assert [t.params["x"] for t in told] == [t.params["x"] for t in trials]
    # log_params logs score = x + 1, x + 2, x + 3: the best is x + 1, not the last.
    assert [t.value for t in told] == [pytest.approx(t.params["x"] + 1) for t in trials]
