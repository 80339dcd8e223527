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
from tracking import resume as _resume  # noqa: E402
from tracking.api import Api  # noqa: E402
from tracking.artifact import Artifact  # noqa: E402
from tracking.config import Config, parse_config_source  # noqa: E402
from tracking.errors import (  # noqa: E402
    ConfigError,
    Error,
    StoreError,
    TrackingError,
    UsageError,
)
from tracking.media import Histogram, Image, Table  # noqa: E402
from tracking.media_files import Audio, Html, Video  # noqa: E402
from tracking.metrics import Metric  # noqa: E402
from tracking.restore_files import restore  # noqa: E402
from tracking.run import Run, Summary  # noqa: E402
from tracking.session import Settings, login  # noqa: E402
from tracking.store import RunStore, configured_location, open_store  # noqa: E402
from tracking.sweeps import agent, sweep  # noqa: E402
from tracking.sweeps import trial as _sweep_trial  # noqa: E402
from tracking.watch_models import unwatch, watch  # noqa: E402

__all__ = [
    "Api",
    "Artifact",
    "Audio",
    "Config",
    "ConfigError",
    "Error",
    "Histogram",
    "Html",
    "Image",
    "Metric",
    "Run",
    "RunStore",
    "Settings",
    "StoreError",
    "Summary",
    "Table",
    "TrackingError",
    "UsageError",
    "Video",
    "agent",
    "alert",
    "config",
    "define_metric",
    "finish",
    "init",
    "log",
    "log_artifact",
    "log_model",
    "login",
    "open_store",
    "restore",
    "run",
    "save",
    "summary",
    "sweep",
    "unwatch",
    "use_artifact",
    "use_model",
    "util",
    "watch",
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
    entity: str | None = None,
    **kwargs: Any,
) -> Run:
    """Start a run and make it the current one.

    Parameters follow ``wandb.init``. ``mode`` is ``"online"`` or
    ``"offline"`` (both write the local store) or ``"disabled"`` (nothing is
    stored, the config still works). ``dir`` puts the default store in
    ``dir/runlens`` unless ``RUNLENS_STORE`` is set. Inside a sweep agent the
    first ``init()`` of a trial takes the trial's run id and the sweep's
    project and store, and locks the swept parameters into the config.

    ``resume`` (or ``WANDB_RESUME``) is ``"allow"``, ``"must"``, ``"never"``
    or ``"auto"``. A resumed run reloads its config, summary and metric
    definitions and continues at its last step + 1. See
    :mod:`tracking.resume` for what each mode does with a missing or existing
    ``id``.

    ``entity`` only names the run in ``run.path``; it defaults to
    ``WANDB_ENTITY``, else ``"local"``. ``settings`` takes a
    :class:`tracking.Settings`, whose values are all ignored.

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

    resume_mode = _resume.resolve_mode(resume)
    trial = _sweep_trial.take_trial()
    if trial is not None:
        id, project = _sweep_run_identity(trial, id, project)
    given_id = id or os.environ.get("WANDB_RUN_ID")
    if given_id is None and resume_mode == "auto":
        given_id = _resume.read_resume_id(dir)
    if given_id is None and resume_mode == "must":
        raise UsageError(
            "resume='must' needs the id of the run to resume; pass init(id=...) "
            "or set WANDB_RUN_ID"
        )
    run_id = _check_run_id(given_id or util.generate_id())
    project = project or os.environ.get("WANDB_PROJECT") or "uncategorized"
    store = None
    if mode != "disabled":
        location = None
        if dir is not None and configured_location() is None:
            location = Path(dir) / "runlens"
        if trial is not None:
            location = trial.store_location
        store = open_store(location)
    stored_run = None
    if store is not None and resume_mode is not None:
        found = _resume.find_run(store, project, run_id)
        if _resume.check_resume(resume_mode, run_id, project, found):
            stored_run = found

    config = parse_config_source(config)
    locked = None
    if trial is not None:
        locked = _sweep_trial.merge_sweep_config(config, trial.config)

    new_run = Run(
        store=store,
        project=project,
        run_id=run_id,
        name=name,
        config=config,
        tags=None if tags is None else list(tags),
        notes=notes,
        group=group,
        job_type=job_type,
        mode=mode,
        sweep_id=trial.sweep_id if trial is not None else None,
        locked_config=locked,
        resume_from=stored_run,
        entity=entity,
    )
    if resume_mode == "auto" and store is not None:
        new_run._resume_file = _resume.write_resume_file(dir, run_id)
    if trial is not None:
        _sweep_trial.attach(trial, new_run)
    if reinit == "create_new" and previous is not None and not previous.finished:
        _state.track_only(new_run)
    else:
        _state.activate(new_run)
    return new_run


def _sweep_run_identity(
    trial: _sweep_trial.TrialContext, run_id: str | None, project: str | None
) -> tuple[str, str]:
    """Return the run id and project of a sweep trial, warning about others."""
    if run_id is not None and run_id != trial.run_id:
        logger.warning(
            "init(id=%r) ignored: this run is trial %s of sweep %s",
            run_id,
            trial.run_id,
            trial.sweep_id,
        )
    if project is not None and project != trial.project:
        logger.warning(
            "init(project=%r) ignored: runs of sweep %s go to its project %r",
            project,
            trial.sweep_id,
            trial.project,
        )
    return trial.run_id, trial.project


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


def _require_run(what: str) -> Run:
    current = _state.current()
    if current is None:
        raise UsageError(f"You must call tracking.init() before tracking.{what}()")
    return current


def define_metric(name: str, *args: Any, **kwargs: Any) -> Metric:
    """Define a metric of the current run; see :meth:`Run.define_metric`."""
    return _require_run("define_metric").define_metric(name, *args, **kwargs)


def save(
    glob_str: str | os.PathLike | None = None,
    base_path: str | os.PathLike | None = None,
    policy: str = "live",
) -> list[str]:
    """Keep files with the current run; see :meth:`Run.save`."""
    return _require_run("save").save(glob_str, base_path=base_path, policy=policy)


def log_artifact(
    artifact_or_path: Artifact | str | os.PathLike,
    name: str | None = None,
    type: str | None = None,
    aliases: Sequence[str] | None = None,
) -> Artifact:
    """Log an artifact from the current run; see :meth:`Run.log_artifact`."""
    return _require_run("log_artifact").log_artifact(
        artifact_or_path, name=name, type=type, aliases=aliases
    )


def use_artifact(
    artifact_or_name: Artifact | str, type: str | None = None, **kwargs: Any
) -> Artifact:
    """Use an artifact in the current run; see :meth:`Run.use_artifact`."""
    return _require_run("use_artifact").use_artifact(
        artifact_or_name, type=type, **kwargs
    )


def log_model(
    path: str | os.PathLike | Any,
    name: str | None = None,
    aliases: Sequence[str] | None = None,
) -> None:
    """Log a model from the current run; see :meth:`Run.log_model`."""
    _require_run("log_model").log_model(path, name=name, aliases=aliases)


def use_model(name: str) -> str:
    """Use a model artifact in the current run; see :meth:`Run.use_model`."""
    return _require_run("use_model").use_model(name)


def alert(
    title: str, text: str, level: str | None = None, wait_duration: Any = None
) -> None:
    """Record an alert on the current run; see :meth:`Run.alert`."""
    _require_run("alert").alert(title, text, level=level, wait_duration=wait_duration)


# Submodules that import heavy libraries load on first access, so that
# ``wandb.sklearn.plot_classifier`` and ``wandb.keras.WandbCallback`` work
# after ``import tracking as wandb`` without slowing down ``import tracking``.
_LAZY_SUBMODULES = ("integration", "keras", "sklearn")


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"tracking.{name}")
    raise AttributeError(f"module 'tracking' has no attribute {name!r}")
