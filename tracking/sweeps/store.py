"""Sweeps and their trials in the run store, beside the runs they produce.

Every write goes through :meth:`RunStore.write`, so it is one short
transaction (``BEGIN IMMEDIATE`` on SQLite). Once a trial's run exists, the
trial's state is the run's, so a running run with a stale heartbeat reads as
crashed. Before that, it is the state the agent recorded.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from tracking import schema, util
from tracking.store import RunStore
from tracking.sweeps.config import SweepConfig, load_sweep_config
from tracking.sweeps.errors import SweepError
from tracking.values import dumps, loads

logger = logging.getLogger(__name__)

RUNNING = "running"
PAUSED = "paused"
STOPPED = "stopped"
CANCELLED = "cancelled"
FINISHED = "finished"
SWEEP_STATES = (RUNNING, PAUSED, STOPPED, CANCELLED, FINISHED)

# The states a sweep command moves from, and the state it sets.
COMMANDS = {
    "pause": ((RUNNING,), PAUSED),
    "resume": ((PAUSED, STOPPED), RUNNING),
    "stop": ((RUNNING, PAUSED), STOPPED),
    "cancel": ((RUNNING, PAUSED, STOPPED), CANCELLED),
}

TERMINAL_TRIAL_STATES = ("finished", "failed", "stopped", "killed", "crashed")
FAILED_TRIAL_STATES = ("failed", "killed", "crashed")


@dataclass(frozen=True)
class SweepRecord:
    """A stored sweep."""

    pk: int
    sweep_id: str
    project: str
    project_pk: int
    name: str | None
    method: str
    state: str
    config: SweepConfig
    seed: int
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class TrialRecord:
    """A claimed trial, with the state of its run and the metric values it logged.

    ``best``, ``worst`` and ``latest`` are the run's best, worst and last
    values of the sweep's metric (NaN left out), None when it logged none.
    """

    pk: int
    number: int
    run_id: str
    params: dict[str, Any]
    grid_index: int | None
    state: str
    stop_requested: str | None
    agent: str
    created_at: float
    heartbeat_at: float
    finished_at: float | None
    exit_code: int | None
    error: str | None
    has_run: bool
    best: float | None = None
    worst: float | None = None
    latest: float | None = None


def parse_sweep_id(text: str) -> str:
    """Return the sweep id of ``ID``, ``PROJECT/ID`` or ``ENTITY/PROJECT/ID``."""
    return str(text).strip().rsplit("/", 1)[-1]


# Seeds feed NumPy's generators, which take non-negative integers, and a
# BIGINT column.
MAX_SEED = 2**63 - 1


def create_sweep(
    store: RunStore,
    config: SweepConfig,
    project: str,
    seed: int | None = None,
    prior_runs: list[str] | None = None,
) -> str:
    """Store a new running sweep and return its id.

    ``prior_runs`` are ids of runs in ``project`` that become the sweep's
    first trials (see :mod:`tracking.sweeps.prior_runs`). An unknown id
    raises :class:`SweepError` and stores nothing.
    """
    from tracking.sweeps.prior_runs import attach_prior_runs

    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        raise SweepError(
            f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}; "
            "leave it out for a random seed"
        )
    sweep_id = util.generate_id()
    now = time.time()
    if seed is None:
        seed = int.from_bytes(util.generate_id(6).encode(), "big") % 2**31
    with store.write() as conn, conn.begin():
        project_pk = store.ensure_project(conn, project)
        result = conn.execute(
            schema.sweeps.insert().values(
                sweep_id=sweep_id,
                project_pk=project_pk,
                name=config.name,
                method=config.method,
                state=RUNNING,
                config=dumps(config.raw),
                seed=seed,
                created_at=now,
                updated_at=now,
            )
        )
        if prior_runs:
            attach_prior_runs(
                conn,
                sweep_pk=result.inserted_primary_key[0],
                sweep_id=sweep_id,
                project_pk=project_pk,
                project=project,
                config=config,
                run_ids=prior_runs,
            )
    return sweep_id


def get_sweep(
    store: RunStore, sweep_id: str, conn: Connection | None = None
) -> SweepRecord:
    """Return a sweep; raise SweepError if the store has none with that id."""
    sweep_id = parse_sweep_id(sweep_id)
    query = (
        select(schema.sweeps, schema.projects.c.name.label("project"))
        .select_from(schema.sweeps.join(schema.projects))
        .where(schema.sweeps.c.sweep_id == sweep_id)
    )
    if conn is None:
        with store.engine.connect() as own:
            row = own.execute(query).mappings().first()
    else:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise SweepError(
            f"sweep {sweep_id!r} not found in store {store.display_url!r}; check "
            "the id and that RUNLENS_STORE names the store the sweep was created in"
        )
    return _sweep_record(row)


def _sweep_record(row: Any) -> SweepRecord:
    return SweepRecord(
        pk=row["pk"],
        sweep_id=row["sweep_id"],
        project=row["project"],
        project_pk=row["project_pk"],
        name=row["name"],
        method=row["method"],
        state=row["state"],
        config=load_sweep_config(loads(row["config"]), warn=False),
        seed=row["seed"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def list_sweeps(store: RunStore, project: str | None = None) -> list[SweepRecord]:
    """Return the store's sweeps, oldest first."""
    query = (
        select(schema.sweeps, schema.projects.c.name.label("project"))
        .select_from(schema.sweeps.join(schema.projects))
        .order_by(schema.sweeps.c.created_at)
    )
    if project is not None:
        query = query.where(schema.projects.c.name == project)
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [_sweep_record(row) for row in rows]


def set_sweep_state(store: RunStore, sweep_id: str, command: str) -> str:
    """Apply ``pause``, ``resume``, ``stop`` or ``cancel`` and return the new state.

    Cancelling also sets a stop request on every unfinished trial, so agents
    kill them.
    """
    if command not in COMMANDS:
        raise SweepError(
            f"unknown sweep command {command!r}; use one of {', '.join(COMMANDS)}"
        )
    allowed, new_state = COMMANDS[command]
    with store.write() as conn, conn.begin():
        sweep = get_sweep(store, sweep_id, conn)
        if sweep.state not in allowed:
            raise SweepError(
                f"cannot {command} sweep {sweep.sweep_id}: it is {sweep.state}, and "
                f"{command} applies to a sweep that is {' or '.join(allowed)}"
            )
        set_state(conn, sweep.pk, new_state)
        if command == "cancel":
            conn.execute(
                update(schema.sweep_trials)
                .where(schema.sweep_trials.c.sweep_pk == sweep.pk)
                .where(schema.sweep_trials.c.state.in_(("pending", "running")))
                .values(stop_requested="cancel")
            )
    logger.info("sweep %s is %s", sweep.sweep_id, new_state)
    return new_state


def set_state(conn: Connection, sweep_pk: int, state: str) -> None:
    conn.execute(
        update(schema.sweeps)
        .where(schema.sweeps.c.pk == sweep_pk)
        .values(state=state, updated_at=time.time())
    )


def requeue_failed(store: RunStore, sweep_id: str) -> int:
    """Free the grid combinations of failed, killed and crashed trials.

    The trials stay as records; their combinations are issued again, and a
    finished grid sweep runs again. Returns the number of combinations freed.
    """
    sweep = get_sweep(store, sweep_id)
    failed = [
        trial.pk
        for trial in list_trials(store, sweep)
        if trial.state in FAILED_TRIAL_STATES and trial.grid_index is not None
    ]
    if not failed:
        return 0
    with store.write() as conn, conn.begin():
        conn.execute(
            update(schema.sweep_trials)
            .where(schema.sweep_trials.c.pk.in_(failed))
            .values(grid_index=None)
        )
        if sweep.state == FINISHED:
            set_state(conn, sweep.pk, RUNNING)
    logger.info(
        "sweep %s: %d failed combinations queued again", sweep.sweep_id, len(failed)
    )
    return len(failed)


# Trials


def list_trials(
    store: RunStore, sweep: SweepRecord, conn: Connection | None = None
) -> list[TrialRecord]:
    """Return the sweep's trials in claim order, with run states and best metrics."""
    trials, runs = schema.sweep_trials, schema.runs
    query = (
        select(
            trials,
            runs.c.state.label("run_state"),
            runs.c.heartbeat_at.label("run_heartbeat_at"),
            runs.c.summary.label("run_summary"),
            runs.c.pk.label("run_pk"),
        )
        .select_from(
            trials.outerjoin(
                runs,
                (runs.c.run_id == trials.c.run_id)
                & (runs.c.project_pk == sweep.project_pk),
            )
        )
        .where(trials.c.sweep_pk == sweep.pk)
        .order_by(trials.c.number)
    )
    if conn is None:
        with store.engine.connect() as own:
            rows = own.execute(query).mappings().all()
            logged = _logged_metric(own, sweep)
    else:
        rows = conn.execute(query).mappings().all()
        logged = _logged_metric(conn, sweep)

    now = time.time()
    metric = sweep.config.metric
    records = []
    for row in rows:
        best, worst, latest = logged.get(row["run_id"], (None, None, None))
        if metric is not None and row["run_summary"] is not None:
            value = _number(loads(row["run_summary"]).get(metric.name))
            best = _better_of(best, value, metric)
            worst = _worse_of(worst, value, metric)
            if latest is None:
                latest = value
        records.append(
            TrialRecord(
                pk=row["pk"],
                number=row["number"],
                run_id=row["run_id"],
                params=loads(row["params"]),
                grid_index=row["grid_index"],
                state=_effective_state(row, now, store.crash_after),
                stop_requested=row["stop_requested"],
                agent=row["agent"],
                created_at=row["created_at"],
                heartbeat_at=row["heartbeat_at"],
                finished_at=row["finished_at"],
                exit_code=row["exit_code"],
                error=row["error"],
                has_run=row["run_pk"] is not None,
                best=best,
                worst=worst,
                latest=latest,
            )
        )
    return records


def _effective_state(row: Any, now: float, crash_after: float) -> str:
    if row["run_pk"] is not None:
        state = row["run_state"]
        if state == "running" and now - row["run_heartbeat_at"] > crash_after:
            return "crashed"
        return state
    state = row["state"]
    if state in ("pending", "running") and now - row["heartbeat_at"] > crash_after:
        return "crashed"
    return state


def _better_of(best: float | None, value: Any, metric: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return best
    if math.isnan(value):
        return best
    if best is None or metric.better(float(value), best):
        return float(value)
    return best


def _sweep_history(sweep: SweepRecord) -> Any:
    """Join history rows to the runs of the sweep's trials, prior runs included."""
    history, runs, trials = schema.history, schema.runs, schema.sweep_trials
    return history.join(runs, history.c.run_pk == runs.c.pk).join(
        trials,
        (trials.c.run_id == runs.c.run_id)
        & (trials.c.sweep_pk == sweep.pk)
        & (runs.c.project_pk == sweep.project_pk),
    )


def _number(value: Any) -> float | None:
    """Return ``value`` as a float, or None if it is NaN or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if math.isnan(value):
        return None
    return float(value)


def _worse_of(worst: float | None, value: float | None, metric: Any) -> float | None:
    if value is None:
        return worst
    if worst is None or metric.better(worst, value):
        return value
    return worst


def _logged_metric(
    conn: Connection, sweep: SweepRecord
) -> dict[str, tuple[float | None, float | None, float | None]]:
    """Return each sweep run's best, worst and last logged value of the metric.

    NaN values (stored as NULL) are left out.
    """
    metric = sweep.config.metric
    if metric is None:
        return {}
    history, runs = schema.history, schema.runs
    trials = schema.sweep_trials
    sweep_runs = (
        select(runs.c.pk)
        .join(trials, trials.c.run_id == runs.c.run_id)
        .where(trials.c.sweep_pk == sweep.pk)
        .where(runs.c.project_pk == sweep.project_pk)
    )
    logged = (
        select(history)
        .where(history.c.run_pk.in_(sweep_runs.scalar_subquery()))
        .where(history.c.key == metric.name)
        .where(history.c.value.is_not(None))
        .subquery()
    )
    extremes = (
        select(
            logged.c.run_pk,
            func.min(logged.c.value).label("low"),
            func.max(logged.c.value).label("high"),
            func.max(logged.c.step).label("last_step"),
        )
        .group_by(logged.c.run_pk)
        .subquery()
    )
    query = (
        select(runs.c.run_id, extremes.c.low, extremes.c.high, history.c.value)
        .select_from(extremes)
        .join(runs, runs.c.pk == extremes.c.run_pk)
        .join(
            history,
            (history.c.run_pk == extremes.c.run_pk)
            & (history.c.key == metric.name)
            & (history.c.step == extremes.c.last_step)
            & history.c.value.is_not(None),
        )
    )
    found = {}
    for row in conn.execute(query):
        low, high = float(row.low), float(row.high)
        best, worst = (high, low) if metric.maximize else (low, high)
        found[row.run_id] = (best, worst, float(row.value))
    return found


def metric_histories(
    store: RunStore, sweep: SweepRecord, metric: str
) -> dict[str, list[float]]:
    """Return every sweep run's logged values of ``metric`` in step order.

    NaN values are kept (stored as NULL), so each value is one iteration.
    """
    history, runs = schema.history, schema.runs
    query = (
        select(runs.c.run_id, history.c.value)
        .select_from(_sweep_history(sweep))
        .where(history.c.key == metric)
        .order_by(runs.c.pk, history.c.step)
    )
    found: dict[str, list[float]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            value = math.nan if row.value is None else float(row.value)
            found.setdefault(row.run_id, []).append(value)
    return found


def insert_trial(
    conn: Connection,
    sweep: SweepRecord,
    *,
    number: int,
    params: dict[str, Any],
    grid_index: int | None,
    agent: str,
) -> tuple[int, str]:
    """Insert a pending trial and return its primary key and run id."""
    now = time.time()
    run_id = util.generate_id()
    result = conn.execute(
        schema.sweep_trials.insert().values(
            sweep_pk=sweep.pk,
            number=number,
            run_id=run_id,
            params=dumps(params),
            grid_index=grid_index,
            state="pending",
            agent=agent,
            created_at=now,
            heartbeat_at=now,
        )
    )
    return result.inserted_primary_key[0], run_id


def update_trial(store: RunStore, trial_pk: int, **values: Any) -> None:
    """Set columns of a trial, such as its state, exit code and error."""
    values.setdefault("heartbeat_at", time.time())
    with store.write() as conn, conn.begin():
        conn.execute(
            update(schema.sweep_trials)
            .where(schema.sweep_trials.c.pk == trial_pk)
            .values(**values)
        )


def trial_status(store: RunStore, trial_pk: int) -> tuple[str | None, str]:
    """Return a trial's stop request and its sweep's state, in one read."""
    query = (
        select(schema.sweep_trials.c.stop_requested, schema.sweeps.c.state)
        .select_from(schema.sweep_trials.join(schema.sweeps))
        .where(schema.sweep_trials.c.pk == trial_pk)
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    return row.stop_requested, row.state


def request_stop(
    store: RunStore, sweep: SweepRecord, run_ids: Iterable[str], reason: str
) -> None:
    """Ask the agents running these trials to stop them."""
    run_ids = list(run_ids)
    if not run_ids:
        return
    with store.write() as conn, conn.begin():
        conn.execute(
            update(schema.sweep_trials)
            .where(schema.sweep_trials.c.sweep_pk == sweep.pk)
            .where(schema.sweep_trials.c.run_id.in_(run_ids))
            .where(schema.sweep_trials.c.stop_requested.is_(None))
            .values(stop_requested=reason)
        )


def set_run_state(store: RunStore, project_pk: int, run_id: str, state: str) -> None:
    """Set the state of a run that its agent stopped or killed.

    A run that ended as finished keeps that state; one left running, failed
    or stopped takes ``state``.
    """
    runs = schema.runs
    now = time.time()
    with store.write() as conn, conn.begin():
        conn.execute(
            update(runs)
            .where(runs.c.project_pk == project_pk)
            .where(runs.c.run_id == run_id)
            .where(runs.c.state.in_(("running", "failed", "stopped")))
            .values(state=state, finished_at=now)
        )


def trials_frame(store: RunStore, sweep: SweepRecord) -> pd.DataFrame:
    """Return the trials as a table: number, run, state, best metric, parameters.

    ``running_best`` is the best metric among the trials up to each one.
    """
    records = []
    metric = sweep.config.metric
    running_best: float | None = None
    for trial in list_trials(store, sweep):
        if (
            metric is not None
            and trial.best is not None
            and (running_best is None or metric.better(trial.best, running_best))
        ):
            running_best = trial.best
        records.append(
            {
                "number": trial.number,
                "run_id": trial.run_id,
                "state": trial.state,
                "metric": trial.best,
                "running_best": running_best,
                "agent": trial.agent,
                "created_at": trial.created_at,
                **{f"param.{name}": value for name, value in trial.params.items()},
            }
        )
    columns = [
        "number",
        "run_id",
        "state",
        "metric",
        "running_best",
        "agent",
        "created_at",
    ]
    if not records:
        return pd.DataFrame({column: [] for column in columns})
    frame = pd.DataFrame.from_records(records)
    frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
    return frame


def count_trials(conn: Connection, sweep_pk: int) -> int:
    return conn.execute(
        select(func.count())
        .select_from(schema.sweep_trials)
        .where(schema.sweep_trials.c.sweep_pk == sweep_pk)
    ).scalar_one()
