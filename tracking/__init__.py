"""Runlens tracking: the Weights & Biases API, stored locally.

``import tracking as wandb`` runs W&B scripts unchanged. Runs go to a SQLite
file in ``./runlens/`` unless ``RUNLENS_STORE`` names another folder or a
SQLAlchemy URL (PostgreSQL for a team).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Keras 3 defaults to TensorFlow; without it installed, use PyTorch.
if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("tensorflow") is None:
    os.environ["KERAS_BACKEND"] = "torch"

from tracking import _state, util  # noqa: E402
from tracking.config import Config, parse_config_source  # noqa: E402
from tracking.errors import (  # noqa: E402
    ConfigError,
    Error,
    StoreError,
    TrackingError,
    UsageError,
)
from tracking.run import Run, Summary  # noqa: E402
from tracking.store import RunStore, open_store  # noqa: E402

__all__ = [
    "Config",
    "ConfigError",
    "Error",
    "Run",
    "RunStore",
    "StoreError",
    "Summary",
    "TrackingError",
    "UsageError",
    "config",
    "finish",
    "init",
    "log",
    "open_store",
    "run",
    "summary",
    "util",
]

logger = logging.getLogger(__name__)

run: Run | None = None
config: Any = _state.Preinit("config")
summary: Any = _state.Preinit("summary")

MODES = ("online", "offline", "disabled")
REINIT_CHOICES = ("default", "return_previous", "finish_previous", "create_new")
_INVALID_ID = re.compile(r"[/\\#?%:\s]")

# W&B arguments that have no meaning for a local store; accepted and ignored.
_IGNORED_INIT_ARGS = frozenset(
    {
        "entity",
        "save_code",
        "sync_tensorboard",
        "tensorboard",
        "monitor_gym",
        "settings",
        "force",
        "anonymous",
        "magic",
        "config_exclude_keys",
        "config_include_keys",
        "allow_val_change",
    }
)


def init(
    project: str | None = None,
    name: str | None = None,
    config: Mapping[str, Any] | str | Any | None = None,
    tags: Sequence[str] | None = None,
    notes: str | None = None,
    group: str | None = None,
    job_type: str | None = None,
    id: str | None = None,
    dir: str | os.PathLike | None = None,
    mode: str | None = None,
    reinit: bool | str | None = None,
    resume: bool | str | None = None,
    **kwargs: Any,
) -> Run:
    """Start a run and make it the current one.

    Parameters follow ``wandb.init``. ``mode`` is ``"online"`` or
    ``"offline"`` (both write the local store) or ``"disabled"`` (nothing is
    stored, the config still works). ``dir`` puts the default store in
    ``dir/runlens`` unless ``RUNLENS_STORE`` is set.

    Returns
    -------
    Run
        Use it as a context manager to finish it with exit code 1 when the
        block raises.
    """
    unknown = set(kwargs) - _IGNORED_INIT_ARGS
    if unknown:
        raise TypeError(f"init() got unexpected keyword arguments: {sorted(unknown)}")

    mode = _resolve_mode(mode)
    reinit = _resolve_reinit(reinit)
    previous = _state.current()
    if previous is not None and not previous.finished:
        if reinit == "return_previous":
            logger.warning(
                "init() called while run %s is active; returning it. Pass "
                "reinit='finish_previous' to start a new run instead.",
                previous.id,
            )
            return previous
        if reinit == "finish_previous":
            previous.finish()

    if resume not in (None, False, "never"):
        # TODO: continue an existing run at its last step + 1.
        raise UsageError(
            f"resume={resume!r} is not supported yet; start a new run with "
            "a new id, or leave resume unset"
        )

    run_id = _check_run_id(id or os.environ.get("WANDB_RUN_ID") or util.generate_id())
    project = project or os.environ.get("WANDB_PROJECT") or "uncategorized"
    store = None
    if mode != "disabled":
        location = None
        if dir is not None and not os.environ.get("RUNLENS_STORE"):
            location = Path(dir) / "runlens"
        store = open_store(location)

    new_run = Run(
        store=store,
        project=project,
        run_id=run_id,
        name=name,
        config=parse_config_source(config),
        tags=list(tags or ()),
        notes=notes,
        group=group,
        job_type=job_type,
        mode=mode,
    )
    if reinit == "create_new" and previous is not None and not previous.finished:
        _state.track_only(new_run)
    else:
        _state.activate(new_run)
    return new_run


def _resolve_mode(mode: str | None) -> str:
    mode = mode or os.environ.get("WANDB_MODE") or "online"
    if mode == "dryrun":
        mode = "offline"
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    return mode


def _resolve_reinit(reinit: bool | str | None) -> str:
    if reinit is None or reinit is False or reinit == "default":
        return "return_previous"
    if reinit is True:
        return "finish_previous"
    if reinit not in REINIT_CHOICES:
        raise ValueError(
            f"reinit must be one of {', '.join(REINIT_CHOICES)} or a bool; "
            f"got {reinit!r}"
        )
    return reinit


def _check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not run_id or len(run_id) > 64:
        raise ValueError(
            f"run id must be a string of 1 to 64 characters, got {run_id!r}"
        )
    if _INVALID_ID.search(run_id):
        raise ValueError(
            f"run id {run_id!r} contains one of / \\ # ? % : or whitespace; "
            "use letters, digits, '-' and '_'"
        )
    return run_id


def log(
    data: Mapping[str, Any], step: int | None = None, commit: bool | None = None
) -> None:
    """Log to the current run; see :meth:`Run.log`."""
    current = _state.current()
    if current is None:
        if _state.last_finished is not None:
            raise UsageError(
                f"run {_state.last_finished.id!r} is finished; call "
                "tracking.init() to start a new run before tracking.log()"
            )
        raise UsageError("You must call tracking.init() before tracking.log()")
    current.log(data, step=step, commit=commit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, if there is one."""
    current = _state.current()
    if current is not None:
        current.finish(exit_code=exit_code, quiet=quiet)
