"""The Sweeps page: sweep list, results of a sweep, the YAML editor, controls."""

from __future__ import annotations

import logging
import urllib.parse

import pandas as pd
import pytest

import tracking
from tests.app.helpers import metric_values, open_page
from tracking.sweeps import store as sweep_store
from tracking.sweeps.controller import claim_trial

PAGE = "pages/3_Sweeps.py"
RANDOM = {"method": "random", "parameters": {"x": {"min": 0.0, "max": 1.0}}}


def _train():
    run = tracking.init()
    run.log({"loss": (tracking.config.x - 2) ** 2 + tracking.config.opt["w"]})


def _table_with(app, column):
    """Return the first dataframe on the page that has ``column``."""
    return next(d.value for d in app.dataframe if column in d.value.columns)


def _state(sweep_id):
    return sweep_store.get_sweep(tracking.open_store(), sweep_id).state


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
    trials = _table_with(app, "running_best")
    assert sorted(trials["param.x"]) == [1, 1, 2, 2, 3, 3]
    assert trials["running_best"].iloc[-1] == 0.0
    assert len(app.get("vega_lite_chart")) == 3


def test_best_run_block(sweep_env):
    store = tracking.open_store()
    trials = sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_env))
    # loss = (x - 2)^2 + w is 0 only at x = 2, w = 0.0: trial 2 in grid order.
    best = trials[1]
    name = store.run("page", best.run_id)["name"]

    app = open_page(PAGE)

    block = [m.value for m in app.markdown if best.run_id in m.value]
    assert block == [f"**{name} ({best.run_id})**, trial 2, finished  \nloss = **0**"]
    [link] = app.get("page_link")
    assert link.proto.page == "Runs"
    assert urllib.parse.parse_qs(link.proto.query_string) == {
        "project": ["page"],
        "filter": [f'run_id == "{best.run_id}"'],
    }
    config = _table_with(app, "parameter")
    assert config.to_dict("records") == [
        {"parameter": "opt.w", "value": "0"},
        {"parameter": "x", "value": "2"},
    ]


def test_best_run_link_opens_run(sweep_env):
    """Check that the Runs page, opened with the link's query, lists only that run."""
    app = open_page(PAGE)
    query = urllib.parse.parse_qs(app.get("page_link")[0].proto.query_string)
    runs_page = open_page()
    for key, [value] in query.items():
        runs_page.query_params[key] = value
    runs_page.switch_page("pages/1_Runs.py").run()
    assert not runs_page.exception
    table = _table_with(runs_page, "state")
    best_id = query["filter"][0].split('"')[1]
    assert len(table) == 1
    assert table["name"].iloc[0] == tracking.open_store().run("page", best_id)["name"]


def test_best_prior_run_labelled(sqlite_store):
    run = tracking.init(project="page", config={"x": 2, "opt": {"w": 0.0}})
    run.log({"loss": -1.0})
    run.finish()
    sweep_id = tracking.sweep(
        {
            "method": "random",
            "metric": {"name": "loss"},
            "parameters": {
                "x": {"min": 0.0, "max": 4.0},
                "opt": {"parameters": {"w": {"value": 0.0}}},
            },
        },
        project="page",
        prior_runs=[run.id],
    )
    tracking.agent(sweep_id, function=_train, count=2)

    app = open_page(PAGE)

    assert metric_values(app)["Trials"] == "3"
    assert metric_values(app)["Best loss"] == "-1"
    block = [m.value for m in app.markdown if run.id in m.value]
    assert block == [f"**{run.name} ({run.id})**, prior run, finished  \nloss = **-1**"]


def test_defaults_to_newest_active_sweep(sqlite_store):
    paused = tracking.sweep(RANDOM)
    tracking.sweeps.pause(paused)
    running = tracking.sweep(RANDOM)
    cancelled = tracking.sweep(RANDOM)
    tracking.sweeps.cancel(cancelled)

    assert open_page(PAGE).selectbox(key="sweep_id").value == running
    tracking.sweeps.stop(running)
    assert open_page(PAGE).selectbox(key="sweep_id").value == paused
    tracking.sweeps.cancel(paused)
    # With no running or paused sweep, the newest is shown.
    assert open_page(PAGE).selectbox(key="sweep_id").value == cancelled


def test_terminal_pause_and_resume_shown(sqlite_store):
    sweep_id = tracking.sweep(RANDOM)
    app = open_page(PAGE)
    assert metric_values(app)["State"] == "running"

    tracking.sweeps.pause(sweep_id)
    app.run()
    assert metric_values(app)["State"] == "paused"
    assert app.button(key=f"pause_{sweep_id}").disabled
    assert not app.button(key=f"resume_{sweep_id}").disabled

    tracking.sweeps.resume(sweep_id)
    app.run()
    assert metric_values(app)["State"] == "running"
    assert not app.button(key=f"pause_{sweep_id}").disabled
    assert app.button(key=f"resume_{sweep_id}").disabled
    assert app.selectbox(key="sweep_id").value == sweep_id


def test_invalid_yaml_shows_errors_inline(sweep_env):
    app = open_page(PAGE)
    app.text_area(key="sweep_yaml").input(
        "method: grid\nparameters:\n  lr: {min: 0.1, max: 0.01}\n"
    ).run()
    errors = [error.value for error in app.error]
    assert any(
        "parameter 'lr': min (0.1) must be less than max (0.01)" in e for e in errors
    )
    assert app.button(key="create_sweep").disabled


def test_create_sweep_from_editor(sweep_env):
    app = open_page(PAGE)
    app.text_area(key="sweep_yaml").input(
        "method: random\nparameters:\n  lr: {min: 1e-5, max: 1e-1}\n"
    ).run()
    assert not app.error
    app.text_input(key="sweep_project").input("edited").run()
    app.button(key="create_sweep").click().run()
    assert not app.exception
    sweeps = sweep_store.list_sweeps(tracking.open_store(), "edited")
    assert len(sweeps) == 1
    assert sweeps[0].config.parameters[0].min == 1e-5
    assert app.selectbox(key="sweep_id").value == sweeps[0].sweep_id
    assert app.success[0].value == f"Created sweep {sweeps[0].sweep_id}"


def test_preview_rows_are_first_trials(sweep_env):
    app = open_page(PAGE)
    app.text_area(key="sweep_yaml").input(
        "method: random\nparameters:\n"
        "  lr: {distribution: log_uniform_values, min: 1e-5, max: 1e-1}\n"
        "  opt: {parameters: {name: {values: [adam, sgd]}}}\n"
    ).run()
    [caption] = [c.value for c in app.caption if c.value.startswith("Next trials")]
    preview = _table_with(app, "trial")
    app.text_input(key="sweep_project").input("previewed").run()
    app.button(key="create_sweep").click().run()

    store = tracking.open_store()
    [sweep] = sweep_store.list_sweeps(store, "previewed")
    assert caption == (
        f"Next trials: the configs agents will run next, in order (seed {sweep.seed})."
    )
    tracking.agent(sweep.sweep_id, function=lambda: tracking.init().finish(), count=3)
    trials = sweep_store.list_trials(store, sweep)
    assert list(preview["trial"]) == [1, 2, 3]
    assert list(preview["lr"]) == [t.params["lr"] for t in trials]
    assert list(preview["opt.name"]) == [t.params["opt.name"] for t in trials]


def test_next_sweep_gets_new_seed(sweep_env):
    app = open_page(PAGE)
    app.text_area(key="sweep_yaml").input(
        "method: random\nparameters:\n  lr: {min: 0.0, max: 1.0}\n"
    ).run()
    first = app.session_state["sweep_seed"]
    app.button(key="create_sweep").click().run()
    assert app.session_state["sweep_seed"] != first


def test_pause_and_resume_buttons(sqlite_store):
    sweep_id = tracking.sweep(RANDOM)
    app = open_page(PAGE)
    app.button(key=f"pause_{sweep_id}").click().run()
    assert _state(sweep_id) == "paused"
    assert app.button(key=f"pause_{sweep_id}").disabled
    app.button(key=f"resume_{sweep_id}").click().run()
    assert _state(sweep_id) == "running"


def test_stop_and_cancel_buttons(sqlite_store):
    sweep_id = tracking.sweep(RANDOM)
    claim = claim_trial(tracking.open_store(), sweep_id)
    app = open_page(PAGE)

    app.button(key=f"stop_{sweep_id}").click().run()
    assert _state(sweep_id) == "stopped"
    assert metric_values(app)["State"] == "stopped"
    assert app.button(key=f"stop_{sweep_id}").disabled
    assert not app.button(key=f"resume_{sweep_id}").disabled

    app.button(key=f"cancel_{sweep_id}").click().run()
    assert _state(sweep_id) == "cancelled"
    for command in ("pause", "resume", "stop", "cancel"):
        assert app.button(key=f"{command}_{sweep_id}").disabled
    store = tracking.open_store()
    [trial] = sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_id))
    assert trial.run_id == claim.run_id
    assert trial.stop_requested == "cancel"


def test_stale_button_click_shows_new_state(sqlite_store):
    """Check a click on Pause after a terminal cancelled the sweep changes nothing."""
    sweep_id = tracking.sweep(RANDOM)
    app = open_page(PAGE)
    tracking.sweeps.cancel(sweep_id)
    app.button(key=f"pause_{sweep_id}").click().run()
    assert not app.exception
    assert _state(sweep_id) == "cancelled"
    assert metric_values(app)["State"] == "cancelled"
    assert app.button(key=f"pause_{sweep_id}").disabled


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


@pytest.fixture
def widget_warnings():
    """Collect the warnings Streamlit logs about widget values and session state."""
    records = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("streamlit.elements.lib.policies")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_create_selects_new_sweep(sqlite_store, widget_warnings):
    """Check a sweep created beside a running one opens, with its own agent button."""
    old = tracking.sweep({**RANDOM, "program": "train.py"})
    app = open_page(PAGE)
    assert app.selectbox(key="sweep_id").value == old
    # The editor starts closed when a sweep exists; the user opens it.
    app.session_state["sweep_editor_open"] = True
    app.text_area(key="sweep_yaml").input(
        "method: random\nprogram: train.py\nparameters:\n  lr: {min: 0.1, max: 0.2}\n"
    ).run()

    app.button(key="create_sweep").click().run()

    assert not app.exception
    [new] = [
        s.sweep_id
        for s in sweep_store.list_sweeps(tracking.open_store())
        if s.sweep_id != old
    ]
    assert app.selectbox(key="sweep_id").value == new
    assert [s.value for s in app.success] == [f"Created sweep {new}"]
    assert app.session_state["sweep_editor_open"] is False
    assert app.expander[0].proto.expanded is False
    # Start agent targets the selected sweep: only its button is drawn.
    assert app.button(key=f"start_agent_{new}")
    assert f"start_agent_{old}" not in [b.key for b in app.button]
    # A rerun keeps the new sweep selected.
    app.run()
    assert app.selectbox(key="sweep_id").value == new
    assert [r.getMessage() for r in widget_warnings] == []


def _failing_train():
    run = tracking.init()
    if tracking.config.x > 0.4:
        raise ValueError(f"x = {tracking.config.x} is out of range")
    run.log({"loss": tracking.config.x})


def test_all_sweeps_counts_follow_trials(sqlite_store):
    sweep_id = tracking.sweep({**RANDOM, "metric": {"name": "loss"}}, seed=1)
    app = open_page(PAGE)
    row = _table_with(app, "planned").set_index("sweep_id").loc[sweep_id]
    assert (row["trials"], row["failed"]) == (0, 0)

    tracking.agent(sweep_id, function=_failing_train, count=4)
    app.run()

    store = tracking.open_store()
    trials = sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_id))
    failed = sum(t.state == "failed" for t in trials)
    assert 0 < failed < 4
    row = _table_with(app, "planned").set_index("sweep_id").loc[sweep_id]
    assert row["trials"] == 4
    assert row["failed"] == failed
    assert metric_values(app)["Trials"] == "4"
    assert metric_values(app)["Failed"] == str(failed)


def test_failed_trial_error_in_table(sqlite_store):
    sweep_id = tracking.sweep({**RANDOM, "metric": {"name": "loss"}}, seed=1)
    tracking.agent(sweep_id, function=_failing_train, count=4)
    store = tracking.open_store()
    trials = sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_id))

    app = open_page(PAGE)

    table = _table_with(app, "running_best").set_index("number")
    for trial in trials:
        if trial.state == "failed":
            expected = f"ValueError: x = {trial.params['x']} is out of range"
            assert table.loc[trial.number, "error"] == expected
        else:
            assert pd.isna(table.loc[trial.number, "error"])


def test_importance_caption_few_trials(sqlite_store):
    sweep_id = tracking.sweep(
        {
            "method": "random",
            "metric": {"name": "loss"},
            "parameters": {
                "x": {"min": 0.0, "max": 4.0},
                "y": {"min": 0.0, "max": 1.0},
            },
        },
        seed=2,
    )

    def train():
        tracking.init().log({"loss": tracking.config.x + tracking.config.y})

    tracking.agent(sweep_id, function=train, count=4)
    app = open_page(PAGE)
    assert "Parameter importance" in [h.value for h in app.subheader]
    captions = [c.value for c in app.caption]
    assert "Estimates from 4 finished trials are rough." in captions

    tracking.agent(sweep_id, function=train, count=6)
    app.run()
    assert not [c.value for c in app.caption if c.value.startswith("Estimates")]


def test_best_config_floats_rounded(sqlite_store):
    sweep_id = tracking.sweep(
        {
            "method": "random",
            "metric": {"name": "loss"},
            "parameters": RANDOM["parameters"],
        },
        seed=5,
    )
    tracking.agent(
        sweep_id, function=lambda: tracking.init().log({"loss": 1.0}), count=1
    )
    store = tracking.open_store()
    [trial] = sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_id))

    app = open_page(PAGE)

    config = _table_with(app, "parameter")
    assert config.to_dict("records") == [
        {"parameter": "x", "value": f"{trial.params['x']:.4g}"}
    ]
    assert len(config["value"].iloc[0]) <= len("0.1234")
