"""Command-line arguments: invalid numbers are argparse errors naming the value."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import tracking
from tests.conftest import ROOT
from tracking.__main__ import main
from tracking.sweeps import store as sweep_store
from tracking.sweeps.agents import PAUSE_POLL_SECONDS


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["agent", "abc", "--count", "0"],
            "argument --count: must be a positive number of trials, got 0; "
            "leave --count out",
        ),
        (["agent", "abc", "--count", "-2"], "argument --count: must be a positive"),
        (
            ["agent", "abc", "--count", "two"],
            "argument --count: expected a whole number, got 'two'",
        ),
        (
            ["agent", "abc", "--n-jobs", "0"],
            "argument --n-jobs: must be a positive number of trials at once, or -1 "
            "for one per core, got 0",
        ),
        (["agent", "abc", "--n-jobs", "-3"], "argument --n-jobs: must be a positive"),
        (
            ["agent", "abc", "--term-timeout", "-1"],
            "argument --term-timeout: must be a finite number of seconds, 0 or "
            "more, got -1",
        ),
        (["agent", "abc", "--term-timeout", "nan"], "argument --term-timeout: must"),
        (
            ["sweep", "s.yaml", "--seed", "-5"],
            "argument --seed: must be a whole number from 0 to 9223372036854775807, "
            "got -5",
        ),
        (
            ["sweep", "--pause", "abc", "-R", "run1"],
            "--prior-run applies when creating a sweep from a config file",
        ),
    ],
)
def test_invalid_argument_is_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error


def test_valid_numbers_accepted(sqlite_store, capsys):
    """Check that --n-jobs -1 and --term-timeout 0 pass parsing."""
    assert main(["agent", "nosweep", "--n-jobs", "-1", "--term-timeout", "0"]) == 1
    assert "sweep 'nosweep' not found" in capsys.readouterr().err


def test_agent_on_paused_sweep_says_so_once(sqlite_store, tmp_path):
    """Check ``python -m tracking agent`` on a paused sweep prints why it waits."""
    sweep_id = tracking.sweep(
        {
            "method": "random",
            "program": "train.py",
            "parameters": {"x": {"min": 0.0, "max": 1.0}},
        }
    )
    tracking.sweeps.pause(sweep_id)
    output = tmp_path / "agent.log"
    message = (
        f"sweep {sweep_id} is paused; waiting for it to be resumed "
        f"(python -m tracking sweep --resume {sweep_id})"
    )

    with output.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "tracking", "--store", sqlite_store]
            + ["agent", sweep_id, "--count", "1"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while message not in output.read_text(encoding="utf-8"):
            assert process.poll() is None, output.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "no paused message in time"
            time.sleep(0.1)
        # The agent polls the sweep every PAUSE_POLL_SECONDS; let it poll again.
        time.sleep(2.5 * PAUSE_POLL_SECONDS)
    finally:
        process.terminate()
        process.wait(timeout=60)

    assert output.read_text(encoding="utf-8").count(message) == 1
    assert (
        sweep_store.list_trials(
            tracking.open_store(),
            sweep_store.get_sweep(tracking.open_store(), sweep_id),
        )
        == []
    )
