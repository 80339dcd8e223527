"""Prior runs: existing runs of the project attached to a new sweep as trials.

As with W&B's ``prior_runs``, each attached run counts toward the sweep's
trials, its best run and ``run_cap``, and bayes searches from it as an
observation, because all of them read the sweep's trial rows. A prior run's
trial keeps the run id and takes the swept parameters from the run's config.
A grid treats the combination that a prior run's config matches as issued.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from tracking import schema
from tracking.sweeps.config import SweepConfig
from tracking.sweeps.errors import SweepError
from tracking.sweeps.grid import grid_index_of
from tracking.values import dumps, loads

logger = logging.getLogger(__name__)

# The agent name that marks a prior run's trial in the trials table.
PRIOR_RUN_AGENT = "prior run"
# Far below PostgreSQL's 65,535 query parameters, so one IN (...) reads them.
MAX_PRIOR_RUNS = 10_000
# Problems listed in one error message; the rest are counted.
_SHOWN_PROBLEMS = 10
_RUN_STATES = ("finished", "failed", "stopped", "killed", "crashed")


def prior_run_ids(prior_runs: Iterable[str] | None) -> list[str]:
    """Return the run ids of ``prior_runs`` in order, without repeats.

    Raises
    ------
    SweepError
        If ``prior_runs`` is a single string or contains anything other than
        non-empty strings.
    """
    if prior_runs is None:
        return []
    if isinstance(prior_runs, str):
        raise SweepError(
            f"prior_runs must be a list of run ids, got the string {prior_runs!r}; "
            f"write prior_runs=[{prior_runs!r}]"
        )
    ids: dict[str, None] = {}
    for run_id in prior_runs:
        if not isinstance(run_id, str) or not run_id.strip():
            raise SweepError(
                f"prior_runs must hold run ids as non-empty strings, got {run_id!r}"
            )
        ids[run_id.strip()] = None
    if len(ids) > MAX_PRIOR_RUNS:
        raise SweepError(
            f"prior_runs contains {len(ids):,} run ids; a sweep takes at most "
            f"{MAX_PRIOR_RUNS:,}. Attach the runs that matter most, such as "
            "the best ones"
        )
    return list(ids)


def attach_prior_runs(
    conn: Connection,
    *,
    sweep_pk: int,
    sweep_id: str,
    project_pk: int,
    project: str,
    config: SweepConfig,
    run_ids: list[str],
) -> None:
    """Insert a finished trial for each run, numbered from 1 in the given order.

    Runs that belong to no sweep are marked as runs of this one. Runs of
    another sweep keep that sweep id and still count here, through their
    trial. Raises :class:`SweepError`, naming every unknown id, before
    anything is inserted.
    """
    runs = schema.runs
    rows = conn.execute(
        select(runs)
        .where(runs.c.project_pk == project_pk)
        .where(runs.c.run_id.in_(run_ids))
    ).mappings()
    by_id = {row["run_id"]: row for row in rows}
    _check_found(conn, project, run_ids, by_id)

    issued: set[int] = set()
    for number, run_id in enumerate(run_ids, start=1):
        row = by_id[run_id]
        params = config.flat_values(loads(row["config"]))
        grid_index = None
        if config.method == "grid":
            grid_index = grid_index_of(config, params)
            if grid_index in issued:
                # Two prior runs of one combination: it is issued once.
                grid_index = None
        if grid_index is not None:
            issued.add(grid_index)
        state = row["state"] if row["state"] in _RUN_STATES else "running"
        conn.execute(
            schema.sweep_trials.insert().values(
                sweep_pk=sweep_pk,
                number=number,
                run_id=run_id,
                params=dumps(params),
                grid_index=grid_index,
                state=state,
                agent=PRIOR_RUN_AGENT,
                created_at=row["created_at"],
                heartbeat_at=row["heartbeat_at"],
                finished_at=row["finished_at"],
            )
        )
    conn.execute(
        update(runs)
        .where(runs.c.project_pk == project_pk)
        .where(runs.c.run_id.in_(run_ids))
        .where(runs.c.sweep_id.is_(None))
        .values(sweep_id=sweep_id)
    )
    logger.info(
        "sweep %s starts from %d prior runs: %s",
        sweep_id,
        len(run_ids),
        ", ".join(run_ids),
    )


def _check_found(
    conn: Connection, project: str, run_ids: list[str], by_id: dict[str, Any]
) -> None:
    problems = []
    for run_id in run_ids:
        row = by_id.get(run_id)
        if row is not None and row["deleted_at"] is not None:
            problems.append(
                f"run {run_id!r} of project {project!r} is deleted; restore it "
                "on the Runs page or leave it out"
            )
    missing = [run_id for run_id in run_ids if run_id not in by_id]
    elsewhere = _projects_of(conn, missing)
    for run_id in missing:
        if run_id in elsewhere:
            problems.append(
                f"run {run_id!r} is in project {', '.join(elsewhere[run_id])}, "
                f"not in the sweep's project {project!r}; a sweep takes prior "
                "runs of its own project, so create it with that project"
            )
        else:
            problems.append(
                f"run {run_id!r} not found in any project of the store; check "
                f"the id (the Runs page lists the runs of project {project!r})"
            )
    if problems:
        shown = "; ".join(problems[:_SHOWN_PROBLEMS])
        if len(problems) > _SHOWN_PROBLEMS:
            shown += f"; and {len(problems) - _SHOWN_PROBLEMS:,} more"
        raise SweepError("cannot attach prior runs: " + shown)


def _projects_of(conn: Connection, run_ids: list[str]) -> dict[str, list[str]]:
    """Return the projects that have a run of each id, quoted, by run id."""
    if not run_ids:
        return {}
    query = (
        select(schema.runs.c.run_id, schema.projects.c.name)
        .select_from(schema.runs.join(schema.projects))
        .where(schema.runs.c.run_id.in_(run_ids))
        .order_by(schema.projects.c.name)
    )
    found: dict[str, list[str]] = {}
    for row in conn.execute(query):
        found.setdefault(row.run_id, []).append(repr(row.name))
    return found
