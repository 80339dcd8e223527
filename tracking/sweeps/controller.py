"""The sweep controller: claims the next trial of a sweep inside one transaction.

Any number of agents, in any processes or on any machines sharing the store,
call :func:`claim_trial`. The sweep row is locked first (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` locks the database), so
claims of one sweep happen one at a time and each reads every earlier trial.
A unique ``(sweep, grid_index)`` constraint backs this for grids.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from tracking import schema
from tracking.store import RunStore
from tracking.sweeps import store as sweep_store
from tracking.sweeps.bayes import COMPLETE, FAILED, RUNNING, Observation, suggest_bayes
from tracking.sweeps.config import SweepConfig
from tracking.sweeps.grid import grid_combination, next_grid_index
from tracking.sweeps.random_search import sample_random, trial_rng
from tracking.sweeps.store import TrialRecord

logger = logging.getLogger(__name__)

# Run states bayes counts with the run's best value; "stopped" runs were cut
# short by hyperband and still tell how good their parameters were.
_OBSERVED_STATES = ("finished", "stopped")
_IN_FLIGHT_STATES = ("pending", "running")


@dataclass(frozen=True)
class Claim:
    """A trial claimed by an agent: the run to start and its parameters."""

    sweep_id: str
    project: str
    trial_pk: int
    number: int
    run_id: str
    params: dict[str, Any]
    config: dict[str, Any]


@dataclass(frozen=True)
class TrialResult:
    """The outcome of one trial: its run, final state, and error text if it failed."""

    number: int
    run_id: str
    state: str
    error: str | None = None


def agent_name() -> str:
    """Return ``host:pid``, the name trials record for the agent that ran them."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_trial(
    store: RunStore, sweep_id: str, agent: str | None = None
) -> Claim | str:
    """Claim the sweep's next trial.

    Returns
    -------
    Claim or str
        The claimed trial, or the sweep's state when it issues no trial:
        ``"paused"``, ``"stopped"``, ``"cancelled"`` or ``"finished"`` (a grid
        with every combination issued, ``run_cap`` trials issued, or a run
        that reached ``metric.target``).
    """
    agent = agent or agent_name()
    with store.write() as conn, conn.begin():
        conn.execute(
            select(schema.sweeps.c.pk)
            .where(schema.sweeps.c.sweep_id == sweep_store.parse_sweep_id(sweep_id))
            .with_for_update()
        )
        sweep = sweep_store.get_sweep(store, sweep_id, conn)
        if sweep.state != sweep_store.RUNNING:
            return sweep.state
        trials = sweep_store.list_trials(store, sweep, conn)

        reason = finished_reason(sweep.config, trials)
        suggestion = None
        if reason is None:
            suggestion = suggest_trial(sweep.config, sweep.seed, trials)
            if suggestion is None:
                reason = "every grid combination was issued"
        if reason is not None:
            sweep_store.set_state(conn, sweep.pk, sweep_store.FINISHED)
            logger.info("sweep %s finished: %s", sweep.sweep_id, reason)
            return sweep_store.FINISHED

        params, grid_index = suggestion
        number = max((trial.number for trial in trials), default=0) + 1
        trial_pk, run_id = sweep_store.insert_trial(
            conn,
            sweep,
            number=number,
            params=params,
            grid_index=grid_index,
            agent=agent,
        )
    return Claim(
        sweep_id=sweep.sweep_id,
        project=sweep.project,
        trial_pk=trial_pk,
        number=number,
        run_id=run_id,
        params=params,
        config=sweep.config.to_run_config(params),
    )


def finished_reason(config: SweepConfig, trials: Sequence[TrialRecord]) -> str | None:
    """Return why a sweep with these trials issues no more, or None if it goes on."""
    if config.run_cap is not None and len(trials) >= config.run_cap:
        return f"run_cap of {config.run_cap} trials reached"
    metric = config.metric
    if metric is not None and metric.target is not None:
        for trial in trials:
            if trial.best is None:
                continue
            reached = (
                trial.best >= metric.target
                if metric.maximize
                else trial.best <= metric.target
            )
            if reached:
                return (
                    f"run {trial.run_id} reached the target {metric.name} "
                    f"{metric.target:g}"
                )
    return None


def suggest_trial(
    config: SweepConfig, seed: int, trials: Sequence[TrialRecord]
) -> tuple[dict[str, Any], int | None] | None:
    """Return the next trial's values and grid index, or None at a grid's end.

    The result depends only on the config, the sweep's seed and the trials
    so far, so a preview that calls this gets what an agent would claim.
    """
    number = max((trial.number for trial in trials), default=0) + 1
    if config.method == "grid":
        issued = [t.grid_index for t in trials if t.grid_index is not None]
        index = next_grid_index(config, issued, seed)
        if index is None:
            return None
        return grid_combination(config, index), index
    if config.method == "random":
        return sample_random(config, trial_rng(seed, number)), None
    observations = [_observation(trial) for trial in trials]
    bayes_seed = int(trial_rng(seed, number).integers(2**31))
    return suggest_bayes(config, observations, bayes_seed), None


def _observation(trial: TrialRecord) -> Observation:
    if trial.state in _OBSERVED_STATES and trial.best is not None:
        state = COMPLETE
    elif trial.state in _IN_FLIGHT_STATES:
        state = RUNNING
    else:
        state = FAILED
    return Observation(
        trial.params, state, trial.best, latest=trial.latest, worst=trial.worst
    )
