"""Subprocess trials: a sweep's command run with W&B's macros and environment.

The agent writes the trial's parameters where ``WANDB_SWEEP_PARAM_PATH``
points, starts the command in its own process group, and polls the store.
A stop request (hyperband) sends SIGTERM, then SIGKILL after
``term_timeout`` seconds. A cancelled sweep sends SIGKILL at once, as W&B
does.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from tracking.store import HEARTBEAT_SECONDS, RunStore
from tracking.sweeps import store as sweep_store
from tracking.sweeps.controller import Claim, TrialResult
from tracking.sweeps.macros import expand_command
from tracking.sweeps.trial import PARAM_PATH_ENV, RUN_ID_ENV, STORE_ENV, SWEEP_ID_ENV

logger = logging.getLogger(__name__)

# A subprocess trial's stop request and sweep state are read this often.
POLL_SECONDS = 1.0
# Lines of a subprocess trial's stderr kept for its error record.
STDERR_TAIL_LINES = 40


def _trial_folder(store: RunStore, sweep_id: str) -> Path:
    folder = store.artifact_root.parent / "sweeps" / sweep_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_command_trial(
    store: RunStore, claim: Claim, term_timeout: float
) -> TrialResult:
    sweep = sweep_store.get_sweep(store, claim.sweep_id)
    folder = _trial_folder(store, claim.sweep_id)
    param_path = folder / f"config-{claim.run_id}.yaml"
    json_path = folder / f"config-{claim.run_id}.json"
    # JSON is YAML, so the file also reads as W&B's config-<run>.yaml.
    wrapped = {key: {"value": value} for key, value in claim.config.items()}
    param_path.write_text(json.dumps(wrapped, indent=1), encoding="utf-8")
    json_path.write_text(json.dumps(claim.config, indent=1), encoding="utf-8")

    argv = expand_command(
        sweep.config.command,
        program=sweep.config.program,
        config=claim.config,
        json_file=str(json_path),
    )
    environment = dict(os.environ)
    environment.update(
        {
            SWEEP_ID_ENV: claim.sweep_id,
            RUN_ID_ENV: claim.run_id,
            PARAM_PATH_ENV: str(param_path),
            STORE_ENV: store.url,
            "WANDB_PROJECT": claim.project,
        }
    )
    logger.info("trial %d runs: %s", claim.number, " ".join(argv))
    try:
        process = subprocess.Popen(
            argv,
            env=environment,
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        error = f"cannot start {argv!r}: {exc}"
        sweep_store.update_trial(
            store, claim.trial_pk, state="failed", finished_at=time.time(), error=error
        )
        return TrialResult(claim.number, claim.run_id, "failed", error)

    sweep_store.update_trial(store, claim.trial_pk, state="running")
    tail = _StderrTail(process)
    try:
        stop_reason = _supervise(store, claim, process, term_timeout)
    except KeyboardInterrupt:
        _end_interrupted(store, sweep, claim, process, term_timeout)
        raise
    tail.join()
    return _record_exit(
        store, sweep, claim, process.returncode, stop_reason, tail.text()
    )


def _supervise(
    store: RunStore, claim: Claim, process: subprocess.Popen, term_timeout: float
) -> str | None:
    """Wait for a subprocess trial, stopping it when asked; return the stop reason."""
    stop_reason = None
    terminated_at = None
    last_beat = time.monotonic()
    while True:
        try:
            process.wait(timeout=POLL_SECONDS)
            return stop_reason
        except subprocess.TimeoutExpired:
            pass
        try:
            requested, sweep_state = sweep_store.trial_status(store, claim.trial_pk)
            if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                sweep_store.update_trial(store, claim.trial_pk)
                last_beat = time.monotonic()
        except Exception:  # noqa: BLE001 - the store may be busy; ask again
            logger.exception("reading the state of trial %d failed", claim.number)
            continue

        if requested == "cancel" or sweep_state == sweep_store.CANCELLED:
            # W&B's cancel kills running trials without letting them clean up.
            _signal_group(process, signal.SIGKILL)
            stop_reason = "cancel"
        elif requested is not None and terminated_at is None:
            _signal_group(process, signal.SIGTERM)
            terminated_at = time.monotonic()
            stop_reason = requested
        elif (
            terminated_at is not None
            and time.monotonic() - terminated_at > term_timeout
        ):
            logger.warning(
                "trial %d did not end %.0f s after SIGTERM; sending SIGKILL",
                claim.number,
                term_timeout,
            )
            _signal_group(process, signal.SIGKILL)


def _end_interrupted(
    store: RunStore,
    sweep: sweep_store.SweepRecord,
    claim: Claim,
    process: subprocess.Popen,
    term_timeout: float,
) -> None:
    """End a trial whose agent was interrupted: SIGTERM, then SIGKILL."""
    logger.warning("agent interrupted; stopping trial %d", claim.number)
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=term_timeout)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()
    sweep_store.set_run_state(store, sweep.project_pk, claim.run_id, "killed")
    sweep_store.update_trial(
        store,
        claim.trial_pk,
        state="killed",
        finished_at=time.time(),
        exit_code=process.returncode,
    )


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def _record_exit(
    store: RunStore,
    sweep: sweep_store.SweepRecord,
    claim: Claim,
    returncode: int,
    stop_reason: str | None,
    stderr: str,
) -> TrialResult:
    if stop_reason == "cancel":
        state = "killed"
    elif stop_reason is not None:
        state = "stopped"
    elif returncode == 0:
        state = "finished"
    elif returncode < 0:
        # Killed by a signal the agent did not send: the run never finished.
        state = "crashed"
    else:
        state = "failed"
    if stop_reason is not None or state in ("failed", "crashed"):
        # The process is gone, so nothing else will end a run it left running.
        sweep_store.set_run_state(store, sweep.project_pk, claim.run_id, state)
    error = None
    if state in ("failed", "crashed"):
        error = f"exit code {returncode}\n{stderr}".rstrip()
    sweep_store.update_trial(
        store,
        claim.trial_pk,
        state=state,
        finished_at=time.time(),
        exit_code=returncode,
        error=error,
    )
    return TrialResult(claim.number, claim.run_id, state, error)


class _StderrTail:
    """Copies a trial's stderr to the agent's and keeps the last lines."""

    def __init__(self, process: subprocess.Popen):
        self.lines: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._process = process
        self._thread = threading.Thread(target=self._copy, daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        for raw in self._process.stderr:
            line = raw.decode("utf-8", errors="replace")
            self.lines.append(line)
            sys.stderr.write(line)
        self._process.stderr.close()

    def join(self) -> None:
        self._thread.join()

    def text(self) -> str:
        return "".join(self.lines)
