"""Sweep agents: claim trials from the store and run them until the sweep ends.

With a ``function`` each trial calls it in-process, like W&B's Python agent;
``init()`` inside it takes the trial. Without one, each trial runs the
sweep's ``command`` (or ``program``) as a subprocess, like W&B's CLI agent.
``n_jobs`` runs trials at once through joblib, in separate processes. Inside
``joblib.parallel_config(backend="dask")`` they run on a Dask cluster. Every
worker claims its own trials from the shared store.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tracking.store import HEARTBEAT_SECONDS, RunStore, open_store
from tracking.sweeps import store as sweep_store
from tracking.sweeps.command_trial import run_command_trial
from tracking.sweeps.controller import Claim, TrialResult, agent_name, claim_trial
from tracking.sweeps.errors import AgentError
from tracking.sweeps.trial import (
    STORE_ENV,
    TrialContext,
    set_pending,
)

logger = logging.getLogger(__name__)

# A paused sweep is checked this often until it resumes or ends.
PAUSE_POLL_SECONDS = 2.0
# An in-process trial checks for a cancelled sweep this often.
CANCEL_CHECK_SECONDS = 5.0
# W&B's KILL_DELAY: seconds between SIGTERM and SIGKILL for a stopped trial.
TERM_TIMEOUT_SECONDS = 30.0
# W&B's MAX_INITIAL_FAILURES: this many failed trials in a row stop the agent.
MAX_CONSECUTIVE_FAILURES = 5


@dataclass(frozen=True)
class _Job:
    """Everything a worker process needs to claim and run one trial."""

    location: str
    sweep_id: str
    function: Callable[[], Any] | None
    agent: str
    agent_pid: int
    environment: dict[str, str]
    term_timeout: float


def run_agent(
    sweep_id: str,
    function: Callable[[], Any] | None = None,
    count: int | None = None,
    n_jobs: int = 1,
    *,
    location: str | os.PathLike | None = None,
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES,
    term_timeout: float = TERM_TIMEOUT_SECONDS,
) -> list[TrialResult]:
    """Run trials of a sweep until it ends or ``count`` trials ran.

    See :func:`tracking.agent` for the parameters.
    """
    if count is not None and count < 1:
        raise ValueError(f"count must be a positive number of trials, got {count}")
    if n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive number or -1, got {n_jobs}")
    store = open_store(location)
    sweep = sweep_store.get_sweep(store, sweep_id)
    if function is None and sweep.config.program is None and not sweep.config.command:
        raise AgentError(
            f"sweep {sweep.sweep_id} has no program or command to run; pass "
            "function= to run a Python function, or create the sweep with "
            "program: train.py"
        )
    job = _Job(
        location=store.url,
        sweep_id=sweep.sweep_id,
        function=function,
        agent=agent_name(),
        agent_pid=os.getpid(),
        environment={
            key: os.environ[key]
            for key in ("RUNLENS_ARTIFACTS", "KERAS_BACKEND")
            if key in os.environ
        },
        term_timeout=term_timeout,
    )
    logger.info(
        "agent %s runs sweep %s (%s) from %s",
        job.agent,
        sweep.sweep_id,
        sweep.config.method,
        store.display_url,
    )

    failures = _FailureCounter(max_consecutive_failures)
    results: list[TrialResult] = []
    outcomes = (
        _sequential(job, count)
        if _in_process(n_jobs)
        else _parallel(job, count, n_jobs)
    )
    for outcome in outcomes:
        results.append(outcome)
        logger.info(
            "trial %d (run %s) of sweep %s: %s",
            outcome.number,
            outcome.run_id,
            sweep.sweep_id,
            outcome.state,
        )
        failures.record(outcome)
    logger.info("agent %s is done: %d trials", job.agent, len(results))
    return results


def _in_process(n_jobs: int) -> bool:
    """Tell whether trials run here: n_jobs 1 under joblib's default backend."""
    if n_jobs != 1:
        return False
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return type(backend).__name__ in ("LokyBackend", "SequentialBackend")


def _sequential(job: _Job, count: int | None) -> Iterator[TrialResult]:
    done = 0
    while count is None or done < count:
        outcome = run_one_trial(job)
        if isinstance(outcome, str):
            return
        done += 1
        yield outcome


def _parallel(job: _Job, count: int | None, n_jobs: int) -> Iterator[TrialResult]:
    from joblib import Parallel, delayed
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    ended = threading.Event()
    issued = 0
    # Run ids of this agent's trials already accounted for: reported by this
    # call, or left from an earlier call in this process.
    reported = {trial.run_id for trial in _own_trials(job)}
    done = 0

    def jobs() -> Iterator[Any]:
        nonlocal issued
        while not ended.is_set() and (count is None or issued < count):
            issued += 1
            yield delayed(run_one_trial)(job)

    while not ended.is_set() and (count is None or issued < count):
        try:
            parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            for outcome in parallel(jobs()):
                if isinstance(outcome, str):
                    ended.set()
                    continue
                reported.add(outcome.run_id)
                done += 1
                yield outcome
            return
        except TerminatedWorkerError as exc:
            # A killed worker breaks loky's pool, which then ends every worker.
            logger.error(
                "a worker process of agent %s died; its trials end as crashed "
                "and new workers take the remaining ones: %s",
                job.agent,
                exc,
            )
            for outcome in _unreported_trials(job, reported, exc):
                reported.add(outcome.run_id)
                done += 1
                yield outcome
            # Jobs handed to the broken pool that claimed no trial run again.
            issued = done


def _own_trials(job: _Job) -> list[sweep_store.TrialRecord]:
    store = open_store(job.location)
    sweep = sweep_store.get_sweep(store, job.sweep_id)
    return [
        trial
        for trial in sweep_store.list_trials(store, sweep)
        if trial.agent == job.agent
    ]


def _unreported_trials(
    job: _Job, reported: set[str], exc: Exception
) -> list[TrialResult]:
    """Return the trials a broken pool claimed but never reported.

    Those that had not ended died with their workers: they and their runs
    are marked crashed. Those that ended before the pool broke keep the
    state their worker recorded.
    """
    store = open_store(job.location)
    sweep = sweep_store.get_sweep(store, job.sweep_id)
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    error = (
        f"a worker process of the agent died ({reason}), and joblib ends every "
        "worker of the pool then, so this trial's process ended with it. For a "
        f"grid, python -m tracking sweep --requeue {sweep.sweep_id} issues its "
        "combination again"
    )
    results = []
    for trial in _own_trials(job):
        if trial.run_id in reported:
            continue
        if trial.state not in ("pending", "running"):
            results.append(
                TrialResult(trial.number, trial.run_id, trial.state, trial.error)
            )
            continue
        if trial.has_run:
            sweep_store.set_run_state(store, sweep.project_pk, trial.run_id, "crashed")
        sweep_store.update_trial(
            store, trial.pk, state="crashed", finished_at=time.time(), error=error
        )
        results.append(TrialResult(trial.number, trial.run_id, "crashed", error))
    return results


class _FailureCounter:
    """Stops the agent when trials keep failing, with the first traceback."""

    def __init__(self, limit: int):
        self.limit = limit
        self.streak: list[TrialResult] = []

    def record(self, outcome: TrialResult) -> None:
        if outcome.state not in ("failed", "crashed"):
            self.streak = []
            return
        self.streak.append(outcome)
        if len(self.streak) < self.limit:
            return
        first = self.streak[0]
        raise AgentError(
            f"{len(self.streak)} trials failed in a row, so the agent stopped. "
            f"The first, trial {first.number} (run {first.run_id}), failed with:\n"
            f"{first.error or '(no error output)'}"
        )


def start_agent_process(
    sweep_id: str,
    *,
    count: int | None = None,
    location: str | None = None,
    cwd: str | os.PathLike | None = None,
    log_path: str | os.PathLike | None = None,
) -> subprocess.Popen:
    """Start ``python -m tracking agent`` in the background and return it.

    The agent runs the sweep's program from ``cwd``; its output goes to
    ``log_path`` (discarded without one). Send it SIGTERM to stop it; it
    stops its running trial first.
    """
    argv = [sys.executable, "-m", "tracking"]
    if location is not None:
        argv += ["--store", str(location)]
    argv += ["agent", sweep_id]
    if count is not None:
        argv += ["--count", str(count)]
    output = open(log_path, "ab") if log_path is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=output, stderr=output
        )
    finally:
        if log_path is not None:
            output.close()


# One trial, in whichever process runs it


def run_one_trial(job: _Job) -> TrialResult | str:
    """Claim and run one trial; return its result, or the sweep state if none."""
    if os.getpid() != job.agent_pid:
        os.environ.update(job.environment)
        os.environ[STORE_ENV] = job.location
    store = open_store(job.location)
    waiting = False
    while True:
        claim = claim_trial(store, job.sweep_id, job.agent)
        if claim != sweep_store.PAUSED:
            break
        if not waiting:
            # Logged once a wait, so a terminal agent does not look hung.
            logger.warning(
                "sweep %s is paused; waiting for it to be resumed "
                "(python -m tracking sweep --resume %s)",
                job.sweep_id,
                job.sweep_id,
            )
            waiting = True
        time.sleep(PAUSE_POLL_SECONDS)
    if isinstance(claim, str):
        return claim
    logger.info(
        "trial %d of sweep %s: run %s with %s",
        claim.number,
        claim.sweep_id,
        claim.run_id,
        claim.params,
    )
    if job.function is not None:
        return _run_function(store, claim, job.function)
    return run_command_trial(store, claim, job.term_timeout)


def _run_function(
    store: RunStore, claim: Claim, function: Callable[[], Any]
) -> TrialResult:
    context = TrialContext(
        sweep_id=claim.sweep_id,
        project=claim.project,
        run_id=claim.run_id,
        config=claim.config,
        store_location=store.url,
    )
    sweep_store.update_trial(store, claim.trial_pk, state="running")
    beat = _Heartbeat(store, claim.trial_pk, context)
    set_pending(context)
    error = None
    try:
        function()
    except Exception:  # noqa: BLE001 - a failed trial is recorded, the agent goes on
        error = traceback.format_exc()
        logger.error("trial %d (run %s) failed:\n%s", claim.number, claim.run_id, error)
    finally:
        set_pending(None)
        beat.stop()

    run = context.run
    if run is None:
        logger.warning(
            "trial %d of sweep %s never called tracking.init(), so it stored no run",
            claim.number,
            claim.sweep_id,
        )
        state = "failed" if error else "finished"
    else:
        run.finish(exit_code=1 if error else 0)
        state = run.store.run(run.project, run.id)["state"] if run.store else "finished"
        if beat.cancelled and state != "finished":
            state = "killed"
            project_pk = sweep_store.get_sweep(store, claim.sweep_id).project_pk
            sweep_store.set_run_state(store, project_pk, run.id, state)
    sweep_store.update_trial(
        store,
        claim.trial_pk,
        state=state,
        finished_at=time.time(),
        exit_code=1 if error else 0,
        error=error,
    )
    return TrialResult(claim.number, claim.run_id, state, error)


class _Heartbeat:
    """Beats an in-process trial's heartbeat and passes a cancel to its run.

    A function cannot be killed without killing the agent, so a cancelled
    sweep sets ``run.should_stop``, and the run ends as killed.
    """

    def __init__(self, store: RunStore, trial_pk: int, context: TrialContext):
        self.store = store
        self.trial_pk = trial_pk
        self.context = context
        self.cancelled = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"runlens-trial-{trial_pk}", daemon=True
        )
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(min(HEARTBEAT_SECONDS, CANCEL_CHECK_SECONDS)):
            try:
                stop_requested, sweep_state = sweep_store.trial_status(
                    self.store, self.trial_pk
                )
                sweep_store.update_trial(self.store, self.trial_pk)
            except Exception:  # noqa: BLE001 - retried at the next beat
                logger.exception("heartbeat of trial %s failed", self.trial_pk)
                continue
            cancelled = (
                stop_requested == "cancel" or sweep_state == sweep_store.CANCELLED
            )
            if cancelled and not self.cancelled:
                self.cancelled = True
                run = self.context.run
                if run is not None and not run.finished:
                    run._request_stop("cancel")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
