"""The Sweeps page's Start agent and Stop agent buttons, on the Adult example.

The page starts ``python -m tracking agent`` as a background process, which
runs ``examples/sweep_adult.py`` once per trial. The tests wait on that
process and read the trials from the store.
"""

from __future__ import annotations

import time

import pytest

import tracking
from pages.ui.sweep_agents import agent_registry
from tests.app.helpers import metric_values, open_page
from tests.conftest import ROOT
from tracking.sweeps import load_sweep_config
from tracking.sweeps import store as sweep_store

PAGE = "pages/3_Sweeps.py"
# Seconds the agent gets for its trials: each starts Python and trains 3 folds.
AGENT_TIMEOUT = 300


def _quick_adult_sweep(run_cap):
    """Create the Adult example sweep on 900 rows and 10 boosting iterations."""
    raw = load_sweep_config(ROOT / "examples" / "sweep_adult.yaml").raw
    raw["parameters"]["train_rows"] = {"value": 900}
    raw["parameters"]["max_iter"] = {"value": 10}
    raw["run_cap"] = run_cap
    return tracking.sweep(raw, seed=3)


def _trials(sweep_id):
    store = tracking.open_store()
    return sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_id))


def _agent_process(sweep_id):
    return agent_registry().get(sweep_id).process


@pytest.fixture
def agents_ended():
    """Collect (sweep id, agent process) pairs; kill agents left running."""
    started = []
    yield started
    for sweep_id, process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
        agent_registry().get(sweep_id).log_path.unlink(missing_ok=True)


def test_start_agent_runs_trials(sqlite_store, agents_ended):
    sweep_id = _quick_adult_sweep(run_cap=2)
    app = open_page(PAGE)
    app.number_input(key=f"count_{sweep_id}").set_value(3).run()
    app.button(key=f"start_agent_{sweep_id}").click().run()
    process = _agent_process(sweep_id)
    agents_ended.append((sweep_id, process))
    assert not app.exception
    assert app.button(key=f"stop_agent_{sweep_id}")

    assert process.wait(timeout=AGENT_TIMEOUT) == 0
    app.run()

    # run_cap 2 ends the sweep before the third trial of the agent's count.
    trials = _trials(sweep_id)
    assert [t.state for t in trials] == ["finished", "finished"]
    for trial in trials:
        assert 0.5 < trial.best <= 1.0
    metrics = metric_values(app)
    assert metrics["State"] == "finished"
    assert metrics["Trials"] == "2 / 2"
    assert metrics["Best cv_roc_auc"] == f"{max(t.best for t in trials):.4g}"
    assert app.button(key=f"start_agent_{sweep_id}").disabled
    assert any("Agent ran 2 trials" in block.value for block in app.code)


def test_stop_agent_ends_running_trial(sqlite_store, agents_ended):
    sweep_id = _quick_adult_sweep(run_cap=30)
    app = open_page(PAGE)
    app.number_input(key=f"count_{sweep_id}").set_value(30).run()
    app.button(key=f"start_agent_{sweep_id}").click().run()
    process = _agent_process(sweep_id)
    agents_ended.append((sweep_id, process))

    deadline = time.monotonic() + AGENT_TIMEOUT
    while not any(t.state == "finished" for t in _trials(sweep_id)):
        assert process.poll() is None, "the agent ended before finishing a trial"
        assert time.monotonic() < deadline, "no trial finished in time"
        time.sleep(0.5)
    app.run()
    app.button(key=f"stop_agent_{sweep_id}").click().run()
    process.wait(timeout=60)
    app.run()

    states = [t.state for t in _trials(sweep_id)]
    assert 1 <= len(states) < 30
    # The trial running at the stop is killed, and none is left pending or running.
    assert set(states) <= {"finished", "killed"}
    assert states.count("killed") <= 1
    assert not app.button(key=f"start_agent_{sweep_id}").disabled
    assert metric_values(app)["State"] == "running"


def _wait_for_output(path, text):
    deadline = time.monotonic() + AGENT_TIMEOUT
    while text not in path.read_text(encoding="utf-8", errors="replace"):
        assert time.monotonic() < deadline, f"no {text!r} in the agent output"
        time.sleep(0.2)


def test_agent_shown_in_new_session(sqlite_store, agents_ended, tmp_path):
    """Check a reload sees the running agent, its output and Stop, and no second."""
    program = tmp_path / "slow_train.py"
    program.write_text("import time\ntime.sleep(120)\n", encoding="utf-8")
    sweep_id = tracking.sweep(
        {
            "method": "random",
            "program": str(program),
            "parameters": {"x": {"min": 0.0, "max": 1.0}},
        }
    )
    first = open_page(PAGE)
    # A session drawn before the agent starts still shows Start agent.
    second = open_page(PAGE)

    first.button(key=f"start_agent_{sweep_id}").click().run()
    agent = agent_registry().get(sweep_id)
    agents_ended.append((sweep_id, agent.process))
    assert not first.exception
    assert agent.running
    _wait_for_output(agent.log_path, f"runs sweep {sweep_id}")

    second.button(key=f"start_agent_{sweep_id}").click().run()
    assert not second.exception
    assert agent_registry().get(sweep_id) is agent
    [error] = [e.value for e in second.error]
    assert error.startswith(
        f"An agent started from this page already runs sweep {sweep_id} "
        f"(process {agent.process.pid})."
    )
    assert second.button(key=f"stop_agent_{sweep_id}")
    assert f"start_agent_{sweep_id}" not in [b.key for b in second.button]
    assert any(c.value.startswith("Agent running.") for c in second.caption)
    assert any(f"runs sweep {sweep_id}" in block.value for block in second.code)

    second.button(key=f"stop_agent_{sweep_id}").click().run()
    assert agent.process.wait(timeout=60) is not None
    first.run()
    assert not first.button(key=f"start_agent_{sweep_id}").disabled
    assert not any(c.value.startswith("Agent running.") for c in first.caption)


def test_agents_get_own_output_files(sqlite_store, agents_ended):
    """Check two agents of one sweep, one after the other, keep separate output."""
    sweep_id = tracking.sweep(
        {
            "method": "random",
            "program": "missing_train.py",
            "parameters": {"x": {"min": 0.0, "max": 1.0}},
        }
    )
    tracking.sweeps.pause(sweep_id)
    registry = agent_registry()
    first = registry.start(sweep_id, count=1, location=sqlite_store, cwd=ROOT)
    agents_ended.append((sweep_id, first.process))
    _wait_for_output(first.log_path, f"sweep {sweep_id} is paused")
    registry.stop(sweep_id)
    first.process.wait(timeout=60)

    second = registry.start(sweep_id, count=1, location=sqlite_store, cwd=ROOT)
    agents_ended.append((sweep_id, second.process))

    assert second.log_path != first.log_path
    assert second.log_path.name.startswith(f"runlens-agent-{sweep_id}-")
    # The finished agent's file is removed when the next agent of its sweep starts.
    assert not first.log_path.exists()
    _wait_for_output(second.log_path, f"sweep {sweep_id} is paused")
