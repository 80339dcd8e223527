"""Agents in several processes, subprocess trials, the command line, killed trials."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tracking
from tracking.sweeps import store as sweep_store

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

AGENT_SCRIPT = """
import sys, time
from pathlib import Path
import tracking, sweep_trials
Path(sys.argv[2]).touch()
while not Path(sys.argv[3]).exists():
    time.sleep(0.01)
tracking.agent(sys.argv[1], function=sweep_trials.log_params_slowly)
"""


def _environment():
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO)])
    return environment


def _trials(sweep_id, store=None):
    store = store or tracking.open_store()
    return sweep_store.list_trials(store, sweep_store.get_sweep(store, sweep_id))


def test_four_agent_processes_issue_each_combination_once(store_location, tmp_path):
    sweep_id = tracking.sweep(
        {
            "method": "grid",
            "parameters": {
                "a": {"values": [1, 2, 3]},
                "b": {"values": [10, 20]},
                "c": {"parameters": {"d": {"values": [100, 200, 300, 400]}}},
            },
        },
        project="four",
    )
    go = tmp_path / "go"
    agents = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                AGENT_SCRIPT,
                sweep_id,
                str(tmp_path / f"ready{i}"),
                str(go),
            ],
            env=_environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(4)
    ]
    while not all((tmp_path / f"ready{i}").exists() for i in range(4)):
        assert all(agent.poll() is None for agent in agents), agents[0].stderr.read()
        time.sleep(0.05)
    go.touch()
    for agent in agents:
        _, stderr = agent.communicate(timeout=120)
        assert agent.returncode == 0, stderr.decode()

    trials = _trials(sweep_id)
    assert len(trials) == 24
    assert sorted(t.grid_index for t in trials) == list(range(24))
    assert sorted(t.number for t in trials) == list(range(1, 25))
    assert {t.state for t in trials} == {"finished"}
    assert len({t.agent for t in trials}) >= 2

    runs = tracking.open_store().runs("four")
    combos = set(
        zip(runs["config.a"], runs["config.b"], runs["config.c.d"], strict=True)
    )
    assert len(runs) == 24
    assert len(combos) == 24
    assert len(set(runs["summary.pid"])) >= 2


KILLER = """
import os, signal
import tracking
run = tracking.init()
run.log({"score": 1})
if tracking.config.kill:
    run._writer.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_trial_reads_crashed_and_agent_goes_on(sqlite_store, tmp_path):
    program = tmp_path / "killer.py"
    program.write_text(KILLER)
    sweep_id = tracking.sweep(
        {
            "method": "grid",
            "program": str(program),
            "parameters": {"kill": {"values": [False, True, False]}},
        },
        project="kill",
    )
    results = tracking.agent(sweep_id)
    assert [r.state for r in results] == ["finished", "crashed", "finished"]
    assert results[1].error.startswith("exit code -9")

    # The run's process died without finishing it. The agent saw it die, so the
    # run reads as crashed at once, without waiting for a stale heartbeat.
    killed = results[1].run_id
    assert tracking.open_store().run("kill", killed)["state"] == "crashed"
    assert [t.state for t in _trials(sweep_id)] == ["finished", "crashed", "finished"]


def test_killed_worker_crashes_trial_and_agent_goes_on(sqlite_store):
    import sweep_trials

    sweep_id = tracking.sweep(
        {
            "method": "grid",
            "metric": {"name": "score"},
            "parameters": {"x": {"values": [1, 2, 3, 4, 5, 6]}},
        },
        project="worker",
    )

    results = tracking.agent(
        sweep_id, function=sweep_trials.kill_own_worker, count=4, n_jobs=2
    )

    # Every trial that the agent claimed is counted, the crashed ones too.
    assert len(results) == 4
    by_x = {t.params["x"]: t for t in _trials(sweep_id)}
    assert sorted(by_x) == [1, 2, 3, 4]
    # With the default crash_after of 120 s, only the agent's own record makes
    # the killed trial and its run read as crashed this soon.
    assert by_x[2].state == "crashed"
    assert tracking.open_store().run("worker", by_x[2].run_id)["state"] == "crashed"
    assert "a worker process of the agent died" in by_x[2].error
    # loky ends the whole pool, so a trial running beside x = 2 may crash too.
    states = [t.state for t in by_x.values()]
    assert set(states) == {"finished", "crashed"}
    assert 1 <= states.count("crashed") <= 2
    # The last trial was claimed after the crash, from new workers.
    assert by_x[4].state == "finished"
    for trial in by_x.values():
        if trial.state == "finished":
            assert trial.best == trial.params["x"]
    assert {r.run_id for r in results} == {t.run_id for t in by_x.values()}


PROGRAM = """
import argparse, sys
import tracking
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float)
parser.add_argument("--opt")
args = parser.parse_args()
run = tracking.init(config={"epochs": 2})
assert args.lr == tracking.config.lr, (args.lr, tracking.config.lr)
for epoch in range(2):
    run.log({"loss": args.lr * (epoch + 1)})
print("argv", sys.argv[1:])
"""


def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "tracking", *args],
        env=_environment(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_command_line_sweep_and_agent(sqlite_store, tmp_path):
    (tmp_path / "train.py").write_text(PROGRAM)
    (tmp_path / "sweep.yaml").write_text(
        textwrap.dedent(
            """
            method: grid
            program: train.py
            metric: {name: loss, goal: minimize}
            parameters:
              lr: {values: [1e-3, 1e-2, 1e-1]}
              opt: {parameters: {name: {value: adam}}}
            """
        )
    )
    created = _cli("sweep", "sweep.yaml", "--project", "cli", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    sweep_id = created.stdout.strip()
    assert len(sweep_id) == 8
    assert "{'lr': 0.001, 'opt': {'name': 'adam'}}" in created.stderr

    ran = _cli("agent", sweep_id, "--count", "2", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "argv ['--lr=0.001', \"--opt={'name': 'adam'}\"]" in ran.stdout

    runs = tracking.open_store().runs("cli").sort_values("created_at")
    assert list(runs["config.lr"]) == [0.001, 0.01]
    assert list(runs["config.epochs"]) == [2, 2]
    assert list(runs["config.opt.name"]) == ["adam", "adam"]
    assert list(runs["summary.loss"]) == [0.002, 0.02]
    assert list(runs["state"]) == ["finished", "finished"]


def test_command_line_state_flags(sqlite_store, tmp_path, capsys):
    from tracking.__main__ import main

    sweep_id = tracking.sweep({"method": "grid", "parameters": {"a": {"values": [1]}}})
    for flag, expected in (
        ("--pause", "paused"),
        ("--resume", "running"),
        ("--stop", "stopped"),
        ("--cancel", "cancelled"),
    ):
        assert main(["sweep", flag, sweep_id]) == 0
        assert f"Sweep {sweep_id} is {expected}" in capsys.readouterr().out
    assert main(["sweep", "--pause", sweep_id]) == 1
    assert f"cannot pause sweep {sweep_id}: it is cancelled" in capsys.readouterr().err
    invalid = tmp_path / "bad.yaml"
    invalid.write_text("method: grid\nparameters: {lr: {min: 0.0, max: 1.0}}\n")
    assert main(["sweep", str(invalid)]) == 1
    assert "parameter 'lr': grid search cannot enumerate distribution uniform" in (
        capsys.readouterr().err
    )


HYPERBAND_PROGRAM = """
import signal, time
import tracking
level = None
run = tracking.init()
level = tracking.config.level
if level == 6:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
for _ in range(4 if level < 5 else 300):
    run.log({"loss": level})
    if level >= 5:
        time.sleep(0.05)
"""


def test_hyperband_stops_subprocess_trials(sqlite_store, tmp_path):
    """Check SIGTERM ends a stopped trial, and SIGKILL one that ignores it."""
    program = tmp_path / "curve.py"
    program.write_text(HYPERBAND_PROGRAM)
    sweep_id = tracking.sweep(
        {
            "method": "grid",
            "program": str(program),
            "metric": {"name": "loss"},
            "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 2},
            "parameters": {"level": {"values": [1, 2, 5, 6]}},
        },
        project="hbsub",
    )
    results = tracking.agent(sweep_id, term_timeout=0.5)
    assert [r.state for r in results] == ["finished", "finished", "stopped", "stopped"]

    runs = tracking.open_store().runs("hbsub").sort_values("created_at")
    assert list(runs["state"]) == ["finished", "finished", "stopped", "stopped"]
    assert all(step < 299 for step in runs["last_step"].iloc[2:])
    trials = _trials(sweep_id)
    assert [t.exit_code for t in trials[2:]] == [143, -9]
    assert {t.stop_requested for t in trials[2:]} == {"hyperband"}


def test_cancel_kills_subprocess_trial(sqlite_store, tmp_path):
    program = tmp_path / "slow.py"
    program.write_text(
        "import time, tracking\nrun = tracking.init()\n"
        "for _ in range(600):\n    run.log({'x': 1})\n    time.sleep(0.05)\n"
    )
    sweep_id = tracking.sweep(
        {
            "method": "grid",
            "program": str(program),
            "parameters": {"a": {"values": [1, 2]}},
        },
        project="cancel",
    )
    agent = subprocess.Popen(
        [sys.executable, "-m", "tracking", "agent", sweep_id],
        env=_environment(),
        stderr=subprocess.PIPE,
    )
    store = tracking.open_store()
    while not any(t.has_run for t in _trials(sweep_id)):
        assert agent.poll() is None
        time.sleep(0.1)

    tracking.sweeps.cancel(sweep_id)
    _, stderr = agent.communicate(timeout=60)
    assert agent.returncode == 0, stderr.decode()
    trials = _trials(sweep_id)
    assert len(trials) == 1
    assert trials[0].state == "killed"
    assert trials[0].exit_code == -9
    assert store.run("cancel", trials[0].run_id)["state"] == "killed"


@pytest.mark.parametrize("store_location", ["postgresql"], indirect=True)
def test_dask_cluster_runs_trials_on_postgresql(store_location):
    """Check trials on a LocalCluster of worker processes, coordinated by PostgreSQL."""
    import joblib
    import sweep_trials
    from dask.distributed import Client, LocalCluster

    sweep_id = tracking.sweep(
        {"method": "grid", "parameters": {"a": {"values": [1, 2, 3, 4, 5, 6]}}},
        project="dask",
    )
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        worker_pids = set(client.run(os.getpid).values())
        with joblib.parallel_config(backend="dask"):
            results = tracking.agent(
                sweep_id, function=sweep_trials.log_params_slowly, n_jobs=2
            )
    assert sorted(r.state for r in results) == ["finished"] * 6
    runs = tracking.open_store().runs("dask")
    assert sorted(runs["config.a"]) == [1, 2, 3, 4, 5, 6]
    assert set(runs["summary.pid"]) <= worker_pids
    assert len(worker_pids) == 2
