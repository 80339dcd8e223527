"""The sweep trial that ``tracking.init()`` takes when it runs inside an agent.

An agent hands a trial to the code it runs in one of two ways. In-process, it
sets the pending trial before calling the train function. For a subprocess,
it sets W&B's environment variables (``WANDB_SWEEP_ID``,
``WANDB_RUN_ID`` and ``WANDB_SWEEP_PARAM_PATH``, a JSON file of
``{key: {"value": v}}``) and ``RUNLENS_STORE``. The first ``init()`` of the
trial takes it: the run gets the trial's id and the sweep's project, and the
swept values are locked into its config.

This module imports only the standard library at the top, because ``init()``
looks here on every call.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

SWEEP_ID_ENV = "WANDB_SWEEP_ID"
RUN_ID_ENV = "WANDB_RUN_ID"
PARAM_PATH_ENV = "WANDB_SWEEP_PARAM_PATH"
STORE_ENV = "RUNLENS_STORE"


@dataclass
class TrialContext:
    """A claimed trial waiting for its run, and the run once started."""

    sweep_id: str
    project: str
    run_id: str
    config: dict[str, Any]
    store_location: str
    in_subprocess: bool = False
    run: Any = None
    monitor: Any = field(default=None, repr=False)


_lock = threading.Lock()
_pending: TrialContext | None = None
_taken_from_environment: str | None = None


def set_pending(context: TrialContext | None) -> None:
    """Make ``context`` the trial that the next ``init()`` in this process takes."""
    global _pending
    with _lock:
        _pending = context


def take_trial() -> TrialContext | None:
    """Return the trial for the ``init()`` being called, once, or None."""
    global _pending, _taken_from_environment
    with _lock:
        if _pending is not None:
            context, _pending = _pending, None
            return context
        sweep_id = os.environ.get(SWEEP_ID_ENV)
        run_id = os.environ.get(RUN_ID_ENV)
        path = os.environ.get(PARAM_PATH_ENV)
        if not (sweep_id and run_id and path) or _taken_from_environment == run_id:
            return None
        _taken_from_environment = run_id
    return _context_from_environment(sweep_id, run_id, path)


def _context_from_environment(sweep_id: str, run_id: str, path: str) -> TrialContext:
    from tracking.store import open_store
    from tracking.sweeps.store import get_sweep

    with open(path, encoding="utf-8") as handle:
        wrapped = json.load(handle)
    config = {key: item["value"] for key, item in wrapped.items()}
    location = os.environ.get(STORE_ENV)
    sweep = get_sweep(open_store(location), sweep_id)
    return TrialContext(
        sweep_id=sweep.sweep_id,
        project=sweep.project,
        run_id=run_id,
        config=config,
        store_location=open_store(location).url,
        in_subprocess=True,
    )


def merge_sweep_config(
    user_config: Mapping[str, Any], swept: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the swept top-level keys, deep-merged over the user's config.

    Nested dicts keep the keys that only the user's config has, as W&B's
    ``merge_locked`` does. Neither argument is changed.
    """
    return {
        key: _deep_merge(user_config.get(key), value) for key, value in swept.items()
    }


def _deep_merge(base: Any, override: Any) -> Any:
    if not (isinstance(base, Mapping) and isinstance(override, Mapping)):
        return copy.deepcopy(override)
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        merged[key] = _deep_merge(base.get(key), value)
    return merged


def attach(context: TrialContext, run: Any) -> None:
    """Connect a started run to its trial: hyperband checks and SIGTERM handling."""
    context.run = run
    if run.store is None:
        return
    from tracking.sweeps.monitor import HyperbandMonitor

    monitor = HyperbandMonitor.for_run(run, context.sweep_id)
    if monitor is not None:
        context.monitor = monitor
        run._writer.on_batch = monitor.on_batch
    if context.in_subprocess:
        _finish_on_sigterm(run)


def _finish_on_sigterm(run: Any) -> None:
    """Make SIGTERM from the agent end the run instead of leaving it running."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def _on_sigterm(signum: int, _frame: Any) -> None:
        logger.warning("run %s received SIGTERM from its agent; finishing it", run.id)
        run.finish(exit_code=128 + signum)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _on_sigterm)
