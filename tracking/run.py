"""A tracked run: config, history with W&B's step rules, summary and artifacts."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np

from tracking.config import Config, normalize_key
from tracking.errors import UsageError
from tracking.files import SavedGlob, copy_saved
from tracking.history_rollup import LiveRollup, store_rollup
from tracking.metrics import Metric, MetricDefinitions, check_metric
from tracking.run_outputs import RunOutputs
from tracking.store import RunStore, SummaryChanges, run_meta_values
from tracking.summary import Summary
from tracking.values import flatten_metrics, to_json_value
from tracking.writer import HistoryWriter

__all__ = ["Run", "Summary"]

logger = logging.getLogger(__name__)

# The largest step the history table holds (a signed 64-bit integer).
MAX_STEP = 2**63 - 1

# The entity of runs started without one; the store has no users or teams.
LOCAL_ENTITY = "local"
DEFAULT_APP_URL = "http://localhost:8501"
ALERT_LEVELS = ("INFO", "WARN", "ERROR")


class Run(RunOutputs):
    """One tracked run. Create it with :func:`tracking.init`, not directly."""

    def __init__(
        self,
        *,
        store: RunStore | None,
        project: str,
        run_id: str,
        name: str | None,
        config: dict[str, Any],
        tags: Sequence[str] | None,
        notes: str | None,
        group: str | None,
        job_type: str | None,
        mode: str,
        sweep_id: str | None = None,
        locked_config: dict[str, Any] | None = None,
        resume_from: Mapping[str, Any] | None = None,
        entity: str | None = None,
    ):
        self.id = run_id
        self.project = project
        self.entity = entity or os.environ.get("WANDB_ENTITY") or LOCAL_ENTITY
        self.mode = mode
        self._tags = tuple(tags or ())
        self._notes = notes
        self._group = group
        self.job_type = job_type
        self.sweep_id = sweep_id
        self.start_time = time.time()
        # Set when the sweep stops the run early; the run then ends as "stopped".
        self.should_stop = False
        self._stop_reason: str | None = None
        # A resumed run continues at the stored last step + 1.
        self.resumed = False
        self.starting_step = 0

        self._store = store
        self._writer: HistoryWriter | None = None
        self._finished = False
        self._step = 0
        self._pending: dict[str, Any] = {}
        # Keys of the pending row that hold a histogram, image or table.
        self._pending_media: set[str] = set()
        self._media_found: set[str] = set()
        self._saved: list[SavedGlob] = []
        # The "auto" resume file to delete when the run finishes cleanly.
        self._resume_file: Path | None = None
        # The files folder of a run in disabled mode, made on first use.
        self._scratch_dir: str | None = None
        self._metrics = MetricDefinitions()
        self.config = Config(on_change=lambda _: self._mark_changed())
        self.summary = Summary(on_change=self._mark_changed, metrics=self._metrics)
        if resume_from is not None:
            self._restore_config(resume_from["config"], config)
        else:
            self.config.update(config)
        if locked_config:
            self.config.lock(locked_config, locked_by="sweep")

        if store is None:
            self._name = name or run_id
            self._pk = None
            return
        if resume_from is not None:
            self._reopen(store, resume_from, name, tags, notes, group, job_type)
        else:
            self._pk = store.create_run(
                project=project,
                run_id=run_id,
                name=name,
                config=self.config.as_dict(),
                tags=self._tags,
                notes=notes,
                group=group,
                job_type=job_type,
                sweep_id=sweep_id,
            )
            self._name = store.run(project, run_id)["name"]
        rollup = LiveRollup(self._pk, skipped=self.summary._known)
        self._writer = HistoryWriter(store, self._pk, self._snapshot, rollup)

    def _restore_config(self, stored: dict[str, Any], given: dict[str, Any]) -> None:
        """Load a resumed run's config; values given to init() replace stored ones."""
        self.config.update(stored, allow_val_change=True)
        changed = sorted(
            normalize_key(key)
            for key, value in given.items()
            if normalize_key(key) in stored
            and stored[normalize_key(key)] != to_json_value(value, key)
        )
        if changed:
            logger.warning(
                "resumed run %s: init() config changes the stored values of %s",
                self.id,
                ", ".join(changed),
            )
        self.config.update(given, allow_val_change=True)

    def _reopen(
        self,
        store: RunStore,
        record: Mapping[str, Any],
        name: str | None,
        tags: Sequence[str] | None,
        notes: str | None,
        group: str | None,
        job_type: str | None,
    ) -> None:
        """Continue a stored run: its step, summary and metric definitions.

        Metadata given to init() replaces the stored values (tags too, as in
        W&B: add to them with ``run.tags += (...)``).
        """
        from tracking.resume import history_aggregates

        self._pk = record["pk"]
        store.reopen_run(self._pk)
        given = {
            "name": name,
            "tags": None if tags is None else list(tags),
            "notes": notes,
            "group": group,
            "job_type": job_type,
        }
        changes = {key: value for key, value in given.items() if value is not None}
        if changes:
            store.update_run_meta(self.project, self.id, **changes)
        stored = store.run(self.project, self.id)
        self._name = stored["name"]
        self._tags = tuple(stored["tags"])
        self._notes = stored["notes"]
        self._group = stored["group"]
        self.job_type = stored["job_type"]

        for metric in MetricDefinitions.from_json(stored["metrics"]):
            self._metrics.define(metric, overwrite=True)
        self.summary._restore(stored["summary"], history_aggregates(store, self._pk))
        last = stored["last_step"]
        self._step = 0 if last is None else last + 1
        self.starting_step = self._step
        self.resumed = True
        logger.info("resumed run %s at step %d", self.id, self._step)

    def __repr__(self) -> str:
        return f"<Run {self.project}/{self.id} ({self.name})>"

    @property
    def store(self) -> RunStore | None:
        return self._store

    @property
    def step(self) -> int:
        """The step the next un-stepped ``log`` call writes to."""
        return self._step

    @property
    def finished(self) -> bool:
        return self._finished

    def _snapshot(self) -> tuple[SummaryChanges, dict[str, Any]]:
        return self.summary._changes(), self.config.as_dict()

    def _mark_changed(self) -> None:
        if self._finished and self._store is not None:
            # The value is already set in memory, but it would never be stored.
            raise UsageError(
                f"run {self.id!r} is finished, so this config or summary change "
                "is not stored; resume the run with tracking.init(id=..., "
                "resume='allow') to change it"
            )
        if self._writer is not None:
            self._writer.mark_changed()

    def _request_stop(self, reason: str) -> None:
        """Ask the training loop to stop; the run will end as ``stopped``."""
        self._stop_reason = reason
        self.should_stop = True

    # Metadata that code (and the app) can change

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._update_meta(name=value)
        self._name = value.strip()

    @property
    def tags(self) -> tuple[str, ...]:
        """The run's tags; assign a tuple to change them (``run.tags += ("x",)``)."""
        return self._tags

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        tags = value if isinstance(value, str) else list(value)
        self._update_meta(tags=tags)
        self._tags = tuple(dict.fromkeys(tag.strip() for tag in tags))

    @property
    def notes(self) -> str | None:
        return self._notes

    @notes.setter
    def notes(self, value: str | None) -> None:
        self._update_meta(notes=value)
        self._notes = value

    @property
    def group(self) -> str | None:
        return self._group

    @group.setter
    def group(self, value: str | None) -> None:
        self._update_meta(group=value)
        self._group = value

    @property
    def dir(self) -> str:
        """The folder of this run's files, where ``run.save`` copies them.

        In disabled mode it is a temporary folder that nothing keeps.
        """
        if self._store is None:
            if self._scratch_dir is None:
                self._scratch_dir = tempfile.mkdtemp(prefix=f"runlens-{self.id}-")
            return self._scratch_dir
        folder = self._files_dir()
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)

    @property
    def path(self) -> str:
        """``entity/project/run_id``, as ``Api().run`` takes it."""
        return f"{self.entity}/{self.project}/{self.id}"

    @property
    def url(self) -> str:
        """A link to this run on the Runs page of the local app.

        The app's address is ``RUNLENS_APP_URL``, ``http://localhost:8501``
        by default.

        NOTE: the Runs page selects the project from ``project`` but does not
        read ``run`` yet, so the run must still be picked in "Run details".
        """
        base = os.environ.get("RUNLENS_APP_URL") or DEFAULT_APP_URL
        query = urlencode({"project": self.project, "run": self.id})
        return f"{base.rstrip('/')}/Runs?{query}"

    def project_name(self) -> str:
        """Return the project's name."""
        return self.project

    def _update_meta(self, **changes: Any) -> None:
        run_meta_values(**changes)
        if self._store is not None:
            self._store.update_run_meta(self.project, self.id, **changes)

    def define_metric(
        self,
        name: str,
        step_metric: str | Metric | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
        **kwargs: Any,
    ) -> Metric:
        """Set how a metric, or every metric with a prefix, is summarised and drawn.

        Parameters
        ----------
        name : str
            A metric name, or a prefix followed by ``*`` (``"val/*"``).
        step_metric : str, optional
            The metric that is this metric's x axis in charts.
        step_sync : bool, optional
            Copy the step metric's last value into rows that log this metric
            without it. True by default when ``step_metric`` is given.
        hidden : bool, optional
            Leave the metric out of automatic charts.
        summary : str, optional
            A comma-separated subset of ``min,max,mean,last,first,none``. The
            summary value becomes a dict of these (``{"min": 0.1}``), read by
            sweeps as ``"name.min"``; ``none`` leaves the metric out.
        goal : str, optional
            ``"minimize"`` or ``"maximize"``.
        overwrite : bool, optional
            Replace an earlier definition of ``name`` instead of merging.

        Returns
        -------
        Metric
            The definition now in force for ``name``.
        """
        for key in kwargs:
            logger.warning("define_metric() ignores the unknown argument %r", key)
        if self._finished:
            raise UsageError(
                f"run {self.id!r} is finished; define_metric needs an open run"
            )
        metric = check_metric(
            name, step_metric, step_sync, hidden, summary, goal, overwrite
        )
        metric = self._metrics.define(metric, overwrite=overwrite)
        backfill = self.summary._redefined(metric.name)
        if backfill:
            self.summary._set_aggregates(self._logged_aggregates(backfill))
        if self._store is not None:
            self._store.set_run_metrics(self._pk, self._metrics.to_json())
        self._mark_changed()
        return metric

    def _logged_aggregates(self, keys: list[str]) -> dict[str, tuple]:
        """Return ``(first, last, min, max, sum, count)`` of keys logged so far."""
        from tracking.resume import history_aggregates

        if self._writer is not None:
            self._writer.flush()
            return history_aggregates(self._store, self._pk, keys)
        # NOTE: without a store (disabled mode) only the last value is known.
        result = {}
        for key in keys:
            last = self.summary._latest(key)
            if type(last) in (int, float):
                result[key] = (last, last, last, last, last, 1)
        return result

    # Logging

    def log(
        self,
        data: Mapping[str, Any],
        step: int | None = None,
        commit: bool | None = None,
    ) -> None:
        """Log a row of metrics with W&B's step and commit rules.

        Parameters
        ----------
        data : mapping
            Metric names to numbers or booleans; nested dicts become dotted names.
        step : int, optional
            The step to log at. A step below the current one is dropped with a
            warning; a larger step first stores the pending row.
        commit : bool, optional
            ``False`` merges into the pending row without storing it. Defaults
            to True without ``step`` and to False with it.
        """
        if self._finished:
            raise UsageError(
                f"run {self.id!r} is finished; call tracking.init() to start "
                "a new run before logging"
            )
        if not isinstance(data, Mapping):
            raise TypeError(f"log() takes a dict of metrics, got {type(data).__name__}")
        found = self._media_found
        row = flatten_metrics(data, media=found)
        row_media = None
        if found:
            row_media = set(found)
            found.clear()

        if step is None:
            self._pending.update(row)
            if row_media:
                self._pending_media.update(row_media)
            if commit is False:
                return
            self._commit_pending()
            return

        if type(step) is not int:
            if isinstance(step, bool | np.bool_):
                raise TypeError(f"step must be an integer, got the boolean {step!r}")
            if isinstance(step, float) and step.is_integer():
                step = int(step)
            elif hasattr(step, "__index__"):
                step = step.__index__()
            else:
                raise TypeError(f"step must be an integer, got {step!r}")
        if not 0 <= step <= MAX_STEP:
            raise ValueError(
                f"step {step} is out of range; steps run from 0 to {MAX_STEP}"
            )
        if step < self._step:
            logger.warning(
                "Tried to log to step %d that is less than the current step %d. "
                "Steps must increase; this data is ignored.",
                step,
                self._step,
            )
            return
        if step > self._step:
            if self._pending:
                self._commit_pending()
            self._step = step
        self._pending.update(row)
        if row_media:
            self._pending_media.update(row_media)
        if commit:
            self._commit_pending()

    def _commit_pending(self) -> None:
        row = self._pending
        if row:
            self._pending = {}
            if self._metrics.sync_steps:
                self._sync_step_metrics(row)
            timestamp = time.time()
            numbers = row
            if self._pending_media:
                numbers = self._store_media(row, timestamp)
            self.summary._record_row(row)
            if self._writer is not None:
                self._writer.append(self._step, timestamp, numbers)
        self._step += 1

    def _store_media(self, row: dict[str, Any], timestamp: float) -> dict[str, Any]:
        """Write the row's media files, put their pointers in ``row`` and store them.

        Returns the row without media, for the history table.
        """
        from tracking.media import Media, write_media
        from tracking.media_files import RunFileMedia

        keys = [key for key in self._pending_media if isinstance(row.get(key), Media)]
        self._pending_media = set()
        numbers = dict(row)
        points = []
        for key in keys:
            del numbers[key]
            if self._store is None:
                del row[key]
                continue
            if isinstance(row[key], RunFileMedia):
                # Kept in the run's files folder, not the store's media table.
                row[key] = row[key]._write(self._files_dir())
                continue
            pointer = write_media(self._store.artifact_root, row[key])
            row[key] = pointer
            points.append((key, self._step, pointer, timestamp))
        if points:
            self._store.add_media(self._pk, points)
        return numbers

    def _sync_step_metrics(self, row: dict[str, Any]) -> None:
        """Add each defined step metric's last value to rows that lack it."""
        for key in list(row):
            metric = self._metrics.lookup(key)
            if metric is None or metric.step_metric is None:
                continue
            step_key = metric.step_metric
            if metric.step_sync is False or step_key in row:
                continue
            last = self.summary._latest(step_key)
            if last is not None:
                row[step_key] = last

    # Artifacts

    def log_model(
        self,
        path: str | os.PathLike | Any = None,
        name: str | None = None,
        aliases: Sequence[str] | None = None,
        *,
        model: Any = None,
        preprocessor: Any = None,
        format: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Store a model, or a model file or folder, as a "model" artifact.

        ``path`` is a path or a model object; ``model=`` also takes the object.
        Given a path (a ``str`` or ``os.PathLike``), this is W&B's
        ``log_model(path, name=None, aliases=None)``: the file or folder is
        stored as artifact ``name``, ``run-<run id>-<file name>`` by default,
        with ``aliases`` besides ``latest``.

        Given a model object, scikit-learn estimators are saved with skops
        (``format="joblib"`` keeps a joblib pickle instead), Keras models as
        ``.keras``, under ``name`` (``"model"`` by default). A fitted
        scikit-learn ``preprocessor`` that turns raw frames into the Keras
        model's input is stored beside it.
        """
        from tracking import artifacts

        if (path is None) == (model is None):
            raise TypeError(
                "log_model() takes one model: a file or folder path, or a model "
                "object, e.g. log_model('model.pt') or log_model(model=estimator)"
            )
        if isinstance(path, str | os.PathLike):
            self.log_artifact(path, name=name, type="model", aliases=aliases)
            return
        model = path if model is None else model
        if aliases is not None:
            raise TypeError(
                "log_model(aliases=...) applies to a model file or folder path; "
                "a model object gets the alias 'latest' only"
            )
        if not self._require_store("log_model"):
            return
        artifacts.log_model(
            self._store,
            self._pk,
            model,
            name or "model",
            preprocessor=preprocessor,
            format=format,
            metadata=metadata,
        )

    def use_model(self, name: str) -> str:
        """Record that this run uses a "model" artifact and return its local path.

        ``name`` is as for :meth:`use_artifact` (``"name:v1"``,
        ``"name:alias"``). The files are downloaded. As W&B does, the path is
        that of the file when the version has a single file, else the folder.

        Raises
        ------
        ValueError
            If the artifact's type is not "model".
        """
        artifact = self.use_artifact(name)
        if "model" not in artifact.type.lower():
            raise ValueError(
                f"use_model() takes a model artifact; {name!r} has type "
                f"{artifact.type!r}, so call use_artifact({name!r}) instead"
            )
        folder = artifact.download()
        entries = os.listdir(folder)
        if len(entries) == 1:
            return os.path.join(folder, entries[0])
        return folder

    def alert(
        self,
        title: str,
        text: str,
        level: str | None = None,
        wait_duration: Any = None,
    ) -> None:
        """Log a warning and append the alert to the summary key ``alerts``.

        There is no server to notify anyone, so each alert is kept as a dict
        ``{"title", "text", "level", "time"}`` (time in Unix seconds) in the
        list ``run.summary["alerts"]``, which the app shows with the summary.
        ``wait_duration`` is accepted and ignored.
        """
        level = (level.value if hasattr(level, "value") else level) or "INFO"
        level = str(level).upper()
        if level not in ALERT_LEVELS:
            raise ValueError(
                f"alert level must be one of {', '.join(ALERT_LEVELS)}, got {level!r}"
            )
        logger.warning("alert [%s] %s: %s (run %s)", level, title, text, self.id)
        alerts = list(self.summary.get("alerts") or [])
        alert = {"title": str(title), "text": str(text), "level": level}
        alerts.append({**alert, "time": time.time()})
        self.summary["alerts"] = alerts

    def log_dataset(
        self,
        frame: Any,
        name: str = "dataset",
        *,
        label: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Store a DataFrame (as Parquet) as an artifact of this run.

        ``label`` names the target column, so analysis can pick it up.
        """
        from tracking import artifacts

        if not self._require_store("log_dataset"):
            return
        artifacts.log_dataset(
            self._store, self._pk, frame, name, label=label, metadata=metadata
        )

    def _require_store(self, what: str) -> bool:
        if self._finished:
            raise UsageError(f"run {self.id!r} is finished; {what} needs an open run")
        if self._store is None:
            logger.info("%s ignored: run %s is in disabled mode", what, self.id)
            return False
        return True

    # Ending

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Store everything pending and mark the run finished (or failed).

        A non-zero ``exit_code`` marks the run failed, and a run that its sweep
        stopped early ends as ``stopped`` whatever the code. Calling it twice
        is harmless.
        """
        if self._finished:
            return
        if self._pending:
            self._commit_pending()
        self._finished = True
        code = 0 if exit_code is None else int(exit_code)

        from tracking import _state

        _state.forget(self)
        if code == 0 and self._resume_file is not None:
            self._resume_file.unlink(missing_ok=True)
        if self._store is None or self._writer is None:
            return
        for saved in self._saved:
            copy_saved(saved, self._files_dir())
        self._writer.close()
        state = "stopped" if self._stop_reason else None
        self._store.finish_run(
            self._pk,
            exit_code=code,
            summary_changes=self.summary._changes(),
            config=self.config.as_dict(),
            state=state,
        )
        self._rollup_history()
        if not quiet:
            logger.info(
                "run %s (%s) %s",
                self.id,
                self.name,
                state or ("finished" if code == 0 else "failed"),
            )

    def _rollup_history(self) -> None:
        """Store the downsampled history that charts of the finished run read."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            store_rollup(self._store, self._writer.rollup, self._pk)
        except SQLAlchemyError:
            # The run is stored; charts compute the buckets on their first read.
            logger.exception(
                "storing the downsampled history of run %s failed", self.id
            )

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> bool:
        self.finish(exit_code=0 if exc_type is None else 1)
        return False
