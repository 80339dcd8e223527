"""The Sweeps page: sweep list, results of a sweep, the YAML editor, controls."""

from __future__ import annotations

import pytest

import tracking
from tests.app.helpers import metric_values, open_page
from tracking.sweeps import store as sweep_store

PAGE = "pages/3_Sweeps.py"


def _train():
    run = tracking.init()
    run.log({"loss": (tracking.config.x - 2) ** 2 + tracking.config.opt["w"]})


@pytest.fixture
def sweep_env(sqlite_store):
    """A store with a finished 3x2 grid sweep, the last one created."""
    grid = tracking.sweep(
        {
            "name": "quadratic-grid",
            "method": "grid",
            "metric": {"name": "loss"},
            "parameters": {
                "x": {"values": [1, 2, 3]},
                "opt": {"parameters": {"w": {"values": [0.0, 0.5]}}},
            },
        },
        project="page",
    )
    tracking.agent(grid, function=_train)
    return grid


def test_results_of_finished_grid(sweep_env):
    app = open_page(PAGE)
    assert not app.exception
    assert app.selectbox(key="sweep_id").value == sweep_env
    metrics = metric_values(app)
    assert metrics["State"] == "finished"
    assert metrics["Trials"] == "6 / 6"
    assert metrics["Failed"] == "0"
    assert metrics["Best loss"] == "0"
    trials = app.dataframe[0].value
    assert sorted(trials["param.x"]) == [1, 1, 2, 2, 3, 3]
    assert trials["running_best"].iloc[-1] == 0.0
    assert len(app.get("vega_lite_chart")) == 3


def test_invalid_yaml_shows_errors_inline(sweep_env):
    app = open_page(PAGE)
    app.text_area(key="sweep_yaml").input(
        "method: grid\nparameters:\n  lr: {min: 0.1, max: 0.01}\n"
    ).run()
    errors = [error.value for error in app.error]
    assert any(
        "parameter 'lr': min (0.1) must be less than max (0.01)" in e for e in errors
    )
    assert app.button[0].disabled


def test_create_sweep_from_editor(sweep_env):
    app = open_page(PAGE)
    app.text_area(key="sweep_yaml").input(
        "method: random\nparameters:\n  lr: {min: 1e-5, max: 1e-1}\n"
    ).run()
    assert not app.error
    app.text_input(key="sweep_project").input("edited").run()
    app.button[0].click().run()
    assert not app.exception
    sweeps = sweep_store.list_sweeps(tracking.open_store(), "edited")
    assert len(sweeps) == 1
    assert sweeps[0].config.parameters[0].min == 1e-5


def test_pause_and_resume_buttons(sqlite_store):
    sweep_id = tracking.sweep(
        {"method": "random", "parameters": {"x": {"min": 0.0, "max": 1.0}}}
    )
    app = open_page(PAGE)
    app.button(key=f"pause_{sweep_id}").click().run()
    store = tracking.open_store()
    assert sweep_store.get_sweep(store, sweep_id).state == "paused"
    assert app.button(key=f"pause_{sweep_id}").disabled
    app.button(key=f"resume_{sweep_id}").click().run()
    assert sweep_store.get_sweep(store, sweep_id).state == "running"


def test_random_sweep_without_cap_beside_grid(sweep_env):
    """Check a sweep with no planned count shows no progress bar and no error."""
    random_sweep = tracking.sweep(
        {
            "method": "random",
            "metric": {"name": "loss"},
            "parameters": {
                "x": {"min": 0.0, "max": 4.0},
                "opt": {"parameters": {"w": {"value": 0.0}}},
            },
        },
        project="page",
    )
    tracking.agent(random_sweep, function=_train, count=2)
    app = open_page(PAGE)
    app.selectbox(key="sweep_id").set_value(random_sweep).run()
    assert not app.exception
    assert metric_values(app)["Trials"] == "2"
