"""Bayes imputation: the values told to the sampler for runs without a result."""

from __future__ import annotations

import math

import optuna
import pytest
from sqlalchemy import update

import tracking
from tracking import schema
from tracking.sweeps import load_sweep_config
from tracking.sweeps import store as sweep_store
from tracking.sweeps.bayes import (
    COMPLETE,
    FAILED,
    RUNNING,
    Observation,
    suggest_bayes,
    terminal_worst,
    told_value,
)
from tracking.sweeps.controller import claim_trial


def _config(impute="worst", while_running="false", goal="minimize"):
    return load_sweep_config(
        {
            "method": "bayes",
            "metric": {
                "name": "loss",
                "goal": goal,
                "impute": impute,
                "impute_while_running": while_running,
            },
            "parameters": {"x": {"min": 0.0, "max": 1.0}},
        }
    )


# Hand-made runs: best, latest and worst of what each logged.
FINISHED = Observation({"x": 0.1}, COMPLETE, 2.0, latest=3.0, worst=5.0)
OTHER_FINISHED = Observation({"x": 0.2}, COMPLETE, 1.0, latest=1.0, worst=4.0)
FAILED_LOGGED = Observation({"x": 0.3}, FAILED, 6.0, latest=7.0, worst=9.0)
FAILED_SILENT = Observation({"x": 0.4}, FAILED)
RUNNING_LOGGED = Observation({"x": 0.5}, RUNNING, 2.5, latest=2.8, worst=3.0)
HAND_MADE = [FINISHED, OTHER_FINISHED, FAILED_LOGGED, FAILED_SILENT, RUNNING_LOGGED]


def test_terminal_worst_takes_worst_extremum():
    # 9.0 is the failed run's worst value. The running run's 3.0 does not count.
    assert terminal_worst(HAND_MADE, maximize=False) == 9.0
    # Maximising, each run's minimum counts: 2.0, 1.0 and 6.0.
    assert terminal_worst(HAND_MADE, maximize=True) == 1.0
    assert terminal_worst([FAILED_SILENT, RUNNING_LOGGED], maximize=False) is None


def test_worst_defaults_to_best_value():
    observations = [
        Observation({"x": 0.1}, COMPLETE, 2.0),
        Observation({"x": 0.2}, COMPLETE, 7.0),
        Observation({"x": 0.3}, COMPLETE, math.inf),
    ]
    assert terminal_worst(observations, maximize=False) == 7.0
    assert told_value(_config(), observations[2], 7.0) == 7.0


@pytest.mark.parametrize(
    ("impute", "while_running", "expected"),
    [
        ("worst", "false", [2.0, 1.0, 9.0, 9.0, None]),
        ("best", "false", [2.0, 1.0, 6.0, 9.0, None]),
        ("latest", "false", [2.0, 1.0, 7.0, 9.0, None]),
        ("worst", "worst", [2.0, 1.0, 9.0, 9.0, 9.0]),
        ("worst", "best", [2.0, 1.0, 9.0, 9.0, 2.5]),
        ("worst", "latest", [2.0, 1.0, 9.0, 9.0, 2.8]),
    ],
)
def test_told_values_per_strategy(impute, while_running, expected):
    config = _config(impute, while_running)
    worst = terminal_worst(HAND_MADE, maximize=False)
    assert [told_value(config, o, worst) for o in HAND_MADE] == expected


def test_nothing_to_impute_leaves_run_out():
    config = _config("worst")
    assert told_value(config, FAILED_SILENT, None) is None
    assert told_value(config, FAILED_LOGGED, None) is None
    # The run's own values still count for best and latest.
    assert told_value(_config("best"), FAILED_LOGGED, None) == 6.0
    assert told_value(_config("latest"), FAILED_SILENT, None) is None


class _TrialSpy:
    """Record the trials each suggestion tells the in-memory Optuna study."""

    def __init__(self, monkeypatch):
        self.calls = []
        original = optuna.study.Study.add_trials

        def add_trials(study, trials):
            self.calls.append(list(trials))
            return original(study, trials)

        monkeypatch.setattr(optuna.study.Study, "add_trials", add_trials)

    def told(self):
        """Return ``{x: value}`` of the last call, ``"running"`` for in-flight."""
        return {
            round(trial.params["x"], 9): (
                "running"
                if trial.state == optuna.trial.TrialState.RUNNING
                else trial.value
            )
            for trial in self.calls[-1]
        }


def test_suggest_tells_imputed_values(monkeypatch):
    spy = _TrialSpy(monkeypatch)
    suggest_bayes(_config("latest", "false"), HAND_MADE, seed=0)
    assert spy.told() == {0.1: 2.0, 0.2: 1.0, 0.3: 7.0, 0.4: 9.0, 0.5: "running"}

    suggest_bayes(_config("best", "latest"), HAND_MADE, seed=0)
    assert spy.told() == {0.1: 2.0, 0.2: 1.0, 0.3: 6.0, 0.4: 9.0, 0.5: 2.8}


def test_failed_run_imputed_once_a_value_exists(monkeypatch):
    spy = _TrialSpy(monkeypatch)
    suggest_bayes(_config(), [FAILED_SILENT], seed=0)
    assert spy.told() == {}
    suggest_bayes(_config(), [FAILED_SILENT, FINISHED], seed=0)
    assert spy.told() == {0.4: 5.0, 0.1: 2.0}


def test_maximize_imputes_lowest_extremum(monkeypatch):
    spy = _TrialSpy(monkeypatch)
    observations = [
        Observation({"x": 0.1}, COMPLETE, 0.9, latest=0.8, worst=0.6),
        Observation({"x": 0.2}, COMPLETE, 0.7, latest=0.7, worst=0.5),
        Observation({"x": 0.3}, FAILED),
    ]
    suggest_bayes(_config(goal="maximize"), observations, seed=0)
    assert spy.told() == {0.1: 0.9, 0.2: 0.7, 0.3: 0.5}


# Each trial of the sweep below logs one of these loss histories, then "fail"
# makes it raise.
HISTORIES = [
    ([5.0, 2.0, 3.0], None),
    ([4.0, 1.0], None),
    ([6.0, 9.0, 7.0], "fail"),
    ([], "fail"),
    ([3.0, 2.5, 2.8], None),
]


def _hand_made_sweep(impute, while_running):
    """Run five trials that log HISTORIES; return the store, sweep id and xs."""
    sweep_id = tracking.sweep(
        {
            "method": "bayes",
            "metric": {
                "name": "loss",
                "impute": impute,
                "impute_while_running": while_running,
            },
            "parameters": {"x": {"min": 0.0, "max": 1.0}},
        },
        seed=3,
    )
    xs = []

    def train():
        run = tracking.init()
        history, outcome = HISTORIES[len(xs)]
        xs.append(round(tracking.config.x, 9))
        for loss in history:
            run.log({"loss": loss})
        if outcome == "fail":
            raise RuntimeError("this trial fails on purpose")

    tracking.agent(sweep_id, function=train, count=len(HISTORIES))
    store = tracking.open_store()

    # Mark the last run as still running, as if its agent were training it.
    sweep = sweep_store.get_sweep(store, sweep_id)
    last = sweep_store.list_trials(store, sweep)[-1]
    with store.write() as conn, conn.begin():
        conn.execute(
            update(schema.runs)
            .where(schema.runs.c.run_id == last.run_id)
            .values(state="running")
        )
    return store, sweep_id, xs


@pytest.mark.parametrize(
    ("impute", "while_running", "expected"),
    [
        ("worst", "false", [2.0, 1.0, 9.0, 9.0, "running"]),
        ("best", "best", [2.0, 1.0, 6.0, 9.0, 2.5]),
        ("latest", "latest", [2.0, 1.0, 7.0, 9.0, 2.8]),
    ],
)
def test_sweep_history_reaches_sampler(
    store_location, monkeypatch, impute, while_running, expected
):
    store, sweep_id, xs = _hand_made_sweep(impute, while_running)
    states = [
        t.state
        for t in sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_id))
    ]
    assert states == ["finished", "finished", "failed", "failed", "running"]

    spy = _TrialSpy(monkeypatch)
    claim_trial(store, sweep_id, agent="test")
    assert spy.told() == dict(zip(xs, expected, strict=True))
