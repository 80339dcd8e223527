"""Two processes resuming one run keep each other's summary keys."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import tracking
from tests.conftest import ROOT
from tracking.store import SummaryChanges

PROJECT = "merge"

# Each process resumes the run, waits until both have resumed (so each has
# the summary as it was before either wrote), sets its own key, waits until
# both have stored it, and finishes.
WORKER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path

    import tracking

    name, folder = sys.argv[1], Path(sys.argv[2])

    def wait_for(marker):
        deadline = time.time() + 60
        while not (folder / marker).exists():
            if time.time() > deadline:
                sys.exit(f"timed out waiting for {marker}")
            time.sleep(0.05)

    run = tracking.init(project="merge", id="shared", resume="must")
    (folder / f"resumed-{name}").touch()
    wait_for("resumed-a")
    wait_for("resumed-b")

    run.summary[f"key_{name}"] = name
    run.log({f"metric_{name}": 1.0})
    run._writer.flush()
    (folder / f"stored-{name}").touch()
    wait_for("stored-a")
    wait_for("stored-b")
    run.finish()
    """
)


def test_two_processes_keep_their_keys(store_location, tmp_path):
    run = tracking.init(project=PROJECT, id="shared")
    run.summary["base"] = 0
    run.summary["shared"] = "first"
    run.finish()

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    # The workers import tracking from this checkout, not an installed copy.
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), name, str(tmp_path)],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("a", "b")
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output

    summary = tracking.open_store().run(PROJECT, "shared")["summary"]
    assert summary == {
        "base": 0,
        "shared": "first",
        "key_a": "a",
        "key_b": "b",
        "metric_a": 1.0,
        "metric_b": 1.0,
    }


def test_merge_sets_and_removes_keys(store_location):
    store = tracking.open_store()
    run = tracking.init(project=PROJECT, id="merged")
    run.summary.update({"keep": 1, "drop": 2, "change": 3})
    run.finish()

    changes = SummaryChanges({"change": 30, "new": 4}, frozenset({"drop", "absent"}))
    store.save_batch(run._pk, [], summary_changes=changes)
    assert store.run(PROJECT, "merged")["summary"] == {
        "keep": 1,
        "change": 30,
        "new": 4,
    }


def test_resumed_run_writes_only_its_keys(store_location):
    store = tracking.open_store()
    run = tracking.init(project=PROJECT, id="resumed")
    run.summary["old"] = "kept"
    run.log({"loss": 0.5})
    run.finish()

    resumed = tracking.init(project=PROJECT, id="resumed", resume="must")
    # Another process changes a key that this one only read.
    store.save_batch(
        run._pk, [], summary_changes=SummaryChanges({"old": "changed elsewhere"})
    )
    resumed.log({"loss": 0.25})
    del resumed.summary["loss"]
    resumed.summary["mine"] = True
    resumed.finish()
    assert store.run(PROJECT, "resumed")["summary"] == {
        "old": "changed elsewhere",
        "mine": True,
    }


def test_nested_value_changed_in_place_is_stored(store_location):
    run = tracking.init(project=PROJECT, id="nested")
    run.summary["best"] = {"epoch": 3}
    run.summary["best"]["loss"] = 0.125
    run.summary["seen"] = [1]
    run.summary["seen"].append(2)
    run.finish()
    stored = tracking.open_store().run(PROJECT, "nested")["summary"]
    assert stored == {"best": {"epoch": 3, "loss": 0.125}, "seen": [1, 2]}
