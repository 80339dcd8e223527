"""Sweeps: W&B's hyperparameter search, run from the local store.

``sweep_id = tracking.sweep(config)`` stores a sweep and
``tracking.agent(sweep_id, function=train, count=N)`` runs its trials, with
``tracking.init()`` and ``tracking.config`` inside ``train`` as in W&B. Agents
in other processes or on other machines that share the store coordinate
through it. Submodules load on first use, so ``import tracking`` stays quick.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tracking.errors import UsageError
from tracking.sweeps.errors import AgentError, SweepConfigError, SweepError

if TYPE_CHECKING:
    from tracking.sweeps.config import SweepConfig
    from tracking.sweeps.controller import TrialResult

__all__ = [
    "AgentError",
    "SweepConfigError",
    "SweepError",
    "agent",
    "cancel",
    "load_sweep_config",
    "pause",
    "preview",
    "requeue_failed",
    "resume",
    "stop",
    "sweep",
]

logger = logging.getLogger(__name__)

PREVIEW_SIZE = 3


def load_sweep_config(source: Any) -> SweepConfig:
    """Read and check a sweep config from a dict or YAML file; see ``config``."""
    from tracking.sweeps.config import load_sweep_config as load

    return load(source)


def preview(
    config: Mapping[str, Any] | str | os.PathLike | SweepConfig,
    n: int = PREVIEW_SIZE,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Return the run configs of the first ``n`` trials, after checking the config.

    A sweep created with the same ``seed`` and no prior runs issues these
    first, except that bayes trials after the first depend on results (see
    :mod:`tracking.sweeps.previews`).
    """
    from tracking.sweeps.config import SweepConfig
    from tracking.sweeps.previews import preview_trials

    if not isinstance(config, SweepConfig):
        config = load_sweep_config(config)
    return [trial.config for trial in preview_trials(config, seed, n=n)]


def sweep(
    sweep: Mapping[str, Any] | str | os.PathLike | Callable[[], Mapping[str, Any]],
    entity: str | None = None,
    project: str | None = None,
    prior_runs: list[str] | None = None,
    *,
    location: str | os.PathLike | None = None,
    seed: int | None = None,
) -> str:
    """Create a sweep and return its id, as ``wandb.sweep`` does.

    Parameters
    ----------
    sweep : dict, path or callable
        A config in W&B's sweep schema, a YAML file of one, or a callable that
        returns one. It is checked now; every problem raises at once.
    entity : str, optional
        Accepted for W&B compatibility and ignored.
    project : str, optional
        The project of the sweep's runs; defaults to the config's ``project``,
        then ``WANDB_PROJECT``, then ``"uncategorized"``.
    prior_runs : list of str, optional
        Ids of existing runs of ``project`` to attach as the sweep's first
        trials. They count toward its trials, best run and ``run_cap``. Bayes
        searches from their results, and a grid skips the combinations their
        configs match.
    location : str or path, optional
        The store; ``RUNLENS_STORE`` or ``./runlens`` by default.
    seed : int, optional
        Seeds random draws, bayes and randomized grids; random if left out.

    Returns
    -------
    str
        The sweep id for :func:`agent` and ``python -m tracking agent``.

    Raises
    ------
    SweepConfigError
        If the config is invalid.
    SweepError
        If a prior run id is not a run of ``project``, or ``seed`` is not a
        whole number from 0 to 2**63 - 1. No sweep is stored then.
    """
    from tracking.store import open_store
    from tracking.sweeps import store as sweep_store
    from tracking.sweeps.previews import preview_caption, preview_trials
    from tracking.sweeps.prior_runs import prior_run_ids

    run_ids = prior_run_ids(prior_runs)
    config = load_sweep_config(sweep)
    project = (
        project or config.project or os.environ.get("WANDB_PROJECT") or "uncategorized"
    )
    store = open_store(location)
    sweep_id = sweep_store.create_sweep(
        store, config, project, seed=seed, prior_runs=run_ids
    )

    record = sweep_store.get_sweep(store, sweep_id)
    trials = sweep_store.list_trials(store, record)
    upcoming = "".join(
        f"\n  trial {trial.number}: {trial.config}"
        for trial in preview_trials(config, record.seed, trials, n=PREVIEW_SIZE)
    )
    logger.info(
        "created %s sweep %s in project %r of %s%s. %s:%s",
        config.method,
        sweep_id,
        project,
        store.display_url,
        f" with {len(run_ids)} prior runs" if run_ids else "",
        preview_caption(config),
        upcoming or " none, the sweep is complete",
    )
    return sweep_id


def agent(
    sweep_id: str,
    function: Callable[[], Any] | None = None,
    entity: str | None = None,
    project: str | None = None,
    count: int | None = None,
    n_jobs: int = 1,
    *,
    location: str | os.PathLike | None = None,
    max_consecutive_failures: int = 5,
    term_timeout: float = 30.0,
) -> list[TrialResult]:
    """Run trials of a sweep, as ``wandb.agent`` does.

    Parameters
    ----------
    sweep_id : str
        ``ID``, ``PROJECT/ID`` or ``ENTITY/PROJECT/ID``.
    function : callable, optional
        Called with no arguments for each trial; it calls ``tracking.init()``.
        Without it each trial runs the sweep's ``command`` or ``program`` as a
        subprocess, with W&B's macros.
    entity, project : str, optional
        Accepted for W&B compatibility and ignored: the sweep stores its project.
    count : int, optional
        The number of trials this agent runs; by default until the sweep ends.
    n_jobs : int
        Trials run at once, each in its own process through joblib (-1: one
        per core). Inside ``joblib.parallel_config(backend="dask")`` they run
        on the Dask cluster, and the store must then be one that every
        worker reaches, such as PostgreSQL. When a worker process dies
        (killed, out of memory), joblib ends every worker: their trials end
        as crashed and new workers run the rest of ``count``.
    location : str or path, optional
        The store; ``RUNLENS_STORE`` or ``./runlens`` by default.
    max_consecutive_failures : int
        Trials failing in a row that stop the agent with :class:`AgentError`.
    term_timeout : float
        Seconds between SIGTERM and SIGKILL for a subprocess trial that the
        sweep stops.

    Returns
    -------
    list of TrialResult
        The trials this agent ran, in the order they ended.
    """
    from tracking import _state
    from tracking.sweeps.agents import run_agent

    active = _state.current()
    if function is not None and active is not None and not active.finished:
        # Each trial's init() would return this run instead of starting its own.
        raise UsageError(
            f"agent() was called while run {active.id!r} is active in this "
            "process. Call run.finish() (or wandb.finish()) before agent(), "
            "so that each trial starts a run of its own."
        )
    return run_agent(
        sweep_id,
        function=function,
        count=count,
        n_jobs=n_jobs,
        location=location,
        max_consecutive_failures=max_consecutive_failures,
        term_timeout=term_timeout,
    )


def _command(sweep_id: str, command: str, location: str | os.PathLike | None) -> str:
    from tracking.store import open_store
    from tracking.sweeps import store as sweep_store

    return sweep_store.set_sweep_state(open_store(location), sweep_id, command)


def pause(sweep_id: str, location: str | os.PathLike | None = None) -> str:
    """Pause a sweep: agents start no trials until it resumes. Returns the state."""
    return _command(sweep_id, "pause", location)


def resume(sweep_id: str, location: str | os.PathLike | None = None) -> str:
    """Resume a paused or stopped sweep. Returns the new state."""
    return _command(sweep_id, "resume", location)


def stop(sweep_id: str, location: str | os.PathLike | None = None) -> str:
    """Stop a sweep: no new trials, running ones finish. Returns the new state."""
    return _command(sweep_id, "stop", location)


def cancel(sweep_id: str, location: str | os.PathLike | None = None) -> str:
    """Cancel a sweep: no new trials, and agents kill running ones."""
    return _command(sweep_id, "cancel", location)


def requeue_failed(sweep_id: str, location: str | os.PathLike | None = None) -> int:
    """Issue the grid combinations of failed and crashed trials again."""
    from tracking.store import open_store
    from tracking.sweeps import store as sweep_store

    return sweep_store.requeue_failed(open_store(location), sweep_id)
