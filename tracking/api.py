"""``tracking.Api()``: read runs, histories, sweeps and artifacts, as ``wandb.Api``.

::

    api = tracking.Api()
    runs = api.runs("my-project", filters={"state": "finished"})
    frame = runs.to_dataframe()          # one row per run, config.* and summary.*
    history = runs[0].history(keys=["loss"])   # wide: one row per step
    for row in runs[0].scan_history():   # every row, read in pages
        ...
    model = api.artifact("my-project/model:latest")

Paths are ``project``, ``entity/project`` (the entity is ignored: the store
is local) and, for one run, ``project/run_id``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from tracking import artifact_store, schema
from tracking.api_filters import has_field, matches, sort_records
from tracking.api_history import history_page, wide_history
from tracking.artifact import Artifact
from tracking.errors import StoreError, UsageError
from tracking.files import list_files, run_files_dir
from tracking.store import RunStore, open_store
from tracking.values import loads

logger = logging.getLogger(__name__)


def _project_path(path: str | None, default: str | None) -> str:
    if path is None:
        if default is None:
            raise UsageError(
                "give a project: Api().runs('my-project'), or "
                "Api(overrides={'project': 'my-project'})"
            )
        return default
    parts = [part for part in str(path).split("/") if part]
    if not 1 <= len(parts) <= 2:
        raise ValueError(f"project path {path!r} must be 'project' or 'entity/project'")
    return parts[-1]


class Api:
    """Read access to a store, shaped like ``wandb.Api``.

    Parameters
    ----------
    overrides : dict, optional
        ``{"project": name}`` sets the default project.
    location : str or path, optional
        The store; ``RUNLENS_STORE`` or ``./runlens`` by default.
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        api_key: str | None = None,
        *,
        location: str | os.PathLike | None = None,
    ):
        self.store = open_store(location)
        overrides = dict(overrides or {})
        self.default_project = overrides.get("project") or os.environ.get(
            "WANDB_PROJECT"
        )

    def __repr__(self) -> str:
        return f"<Api {self.store.display_url}>"

    # Runs

    def runs(
        self,
        path: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order: str = "+created_at",
        per_page: int = 50,
        include_sweeps: bool = True,
    ) -> Runs:
        """Return a project's runs that match ``filters``, sorted by ``order``.

        Deleted runs (in the app's bin) are left out, as they are by
        :meth:`Api.run`.

        Parameters
        ----------
        path : str
            ``project`` or ``entity/project``.
        filters : dict, optional
            MongoDB-style conditions; see :mod:`tracking.api_filters`.
        order : str
            ``"+field"`` or ``"-field"`` with a filter field name, e.g.
            ``"-summary_metrics.val_acc"``.
        per_page, include_sweeps
            Accepted for W&B compatibility; every run is read at once.
        """
        project = _project_path(path, self.default_project)
        records = [
            record for record in self._run_records(project) if matches(record, filters)
        ]
        return Runs(self, project, sort_records(records, order))

    def run(self, path: str) -> ApiRun:
        """Return one run from ``project/run_id`` or ``entity/project/run_id``."""
        parts = [part for part in str(path).split("/") if part]
        if len(parts) == 1 and self.default_project is not None:
            parts = [self.default_project, parts[0]]
        if not 2 <= len(parts) <= 3:
            raise ValueError(
                f"run path {path!r} must be 'project/run_id' or 'entity/project/run_id'"
            )
        project, run_id = parts[-2], parts[-1]
        records = self._run_records(project, run_id)
        if not records:
            raise StoreError(f"run {run_id!r} not found in project {project!r}")
        return ApiRun(self, records[0])

    def _run_records(self, project: str, run_id: str | None = None) -> list[dict]:
        runs = schema.runs
        query = (
            select(runs)
            .select_from(runs.join(schema.projects))
            .where(schema.projects.c.name == project)
            .where(runs.c.deleted_at.is_(None))
            .order_by(runs.c.created_at)
        )
        if run_id is not None:
            query = query.where(runs.c.run_id == run_id)
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        now = datetime.now(UTC).timestamp()
        return [_run_record(row, project, now, self.store.crash_after) for row in rows]

    # Sweeps

    def sweep(self, path: str) -> ApiSweep:
        """Return a sweep from ``sweep_id``, ``project/sweep_id`` or longer paths."""
        from tracking.sweeps import store as sweep_store

        return ApiSweep(self, sweep_store.get_sweep(self.store, path))

    def sweeps(self, path: str | None = None) -> list[ApiSweep]:
        """Return a project's sweeps, oldest first."""
        from tracking.sweeps import store as sweep_store

        project = _project_path(path, self.default_project)
        return [
            ApiSweep(self, record)
            for record in sweep_store.list_sweeps(self.store, project)
        ]

    # Artifacts

    def artifact(self, name: str, type: str | None = None) -> Artifact:
        """Return a logged artifact from ``[entity/]project/name:version_or_alias``.

        Raises
        ------
        StoreError
            If the project has no such artifact, version or alias.
        ValueError
            If ``type`` is given and differs from the artifact's type.
        """
        project, artifact_name, selector = artifact_store.parse_reference(name)
        project = project or self.default_project
        if project is None:
            raise UsageError(
                f"artifact {name!r} needs a project: 'project/{name}', or "
                "Api(overrides={'project': ...})"
            )
        version = artifact_store.resolve(self.store, project, artifact_name, selector)
        if type is not None and type != version.type:
            raise ValueError(
                f"artifact {name!r} has type {version.type!r}, not {type!r}"
            )
        return Artifact._from_version(self.store, version)

    def artifacts(self, type_name: str, name: str) -> list[Artifact]:
        """Return every version of an artifact, oldest first.

        ``name`` is ``name`` or ``[entity/]project/name``.
        """
        project, artifact_name, _ = artifact_store.parse_reference(name)
        project = _project_path(project, self.default_project)
        return [
            Artifact._from_version(self.store, version)
            for version in artifact_store.list_versions(
                self.store, project, artifact_name, type_name
            )
        ]


def _run_record(row: Any, project: str, now: float, crash_after: float) -> dict:
    state = row["state"]
    if state == "running" and now - row["heartbeat_at"] > crash_after:
        state = "crashed"
    created = datetime.fromtimestamp(row["created_at"], UTC)
    return {
        "pk": row["pk"],
        "project": project,
        "run_id": row["run_id"],
        "name": row["name"],
        "state": state,
        "config": loads(row["config"]),
        "summary": loads(row["summary"]),
        "tags": loads(row["tags"]) or [],
        "notes": row["notes"],
        "group": row["group_name"],
        "job_type": row["job_type"],
        "sweep_id": row["sweep_id"],
        "metrics": loads(row["metrics"]),
        "created_at": row["created_at"],
        "created_at_iso": created.strftime("%Y-%m-%dT%H:%M:%S"),
        "heartbeat_at": row["heartbeat_at"],
        "finished_at": row["finished_at"],
        "last_step": row["last_step"],
    }


class Runs(Sequence):
    """The runs that ``Api.runs`` matched: a list of :class:`ApiRun`."""

    def __init__(self, api: Api, project: str, records: list[dict[str, Any]]):
        self._api = api
        self.project = project
        self._runs = [ApiRun(api, record) for record in records]

    def __getitem__(self, index: Any) -> Any:
        return self._runs[index]

    def __len__(self) -> int:
        return len(self._runs)

    def __repr__(self) -> str:
        return f"<Runs {self.project} ({len(self)} runs)>"

    def to_dataframe(self) -> pd.DataFrame:
        """Return the runs as the store's runs table: ``config.*`` and ``summary.*``."""
        frame = self._api.store.runs(self.project)
        ids = [run.id for run in self._runs]
        frame = frame.set_index("run_id", drop=False).loc[ids]
        return frame.reset_index(drop=True)


class ApiRun:
    """A stored run, read back: its config, summary, history, files and artifacts.

    ``name`` is the display name and ``id`` the run id, as in W&B. Change
    ``name``, ``tags``, ``notes``, ``group`` or ``job_type`` and call
    :meth:`update` to store them.
    """

    def __init__(self, api: Api, record: dict[str, Any]):
        self._api = api
        self._record = record
        self.id = record["run_id"]
        self.project = record["project"]
        self.name = record["name"]
        self.state = record["state"]
        self.config = {
            key: value for key, value in record["config"].items() if key[:1] != "_"
        }
        self.summary = dict(record["summary"])
        self.tags = list(record["tags"])
        self.notes = record["notes"]
        self.group = record["group"]
        self.job_type = record["job_type"]
        self.sweep_id = record["sweep_id"]
        self.created_at = record["created_at_iso"]
        self.last_step = record["last_step"]
        # define_metric settings by metric name or glob, e.g. "step_metric".
        self.metrics = record["metrics"]

    def __repr__(self) -> str:
        return f"<ApiRun {self.project}/{self.id} ({self.state})>"

    @property
    def path(self) -> list[str]:
        return [self.project, self.id]

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def store(self) -> RunStore:
        return self._api.store

    def update(self) -> None:
        """Store the current name, tags, notes, group and job_type."""
        self.store.update_run_meta(
            self.project,
            self.id,
            name=self.name,
            tags=list(self.tags),
            notes=self.notes,
            group=self.group,
            job_type=self.job_type,
        )

    # History

    def history(
        self,
        samples: int = 500,
        keys: Sequence[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> pd.DataFrame | list[dict[str, Any]]:
        """Return up to ``samples`` history rows as a wide DataFrame.

        One row per step with ``_step``, every metric, and ``_runtime`` and
        ``_timestamp``; media keys hold their pointer dicts. With ``keys``
        only those columns (and ``_step`` and ``x_axis``) are returned, and
        only rows where every key was logged. Longer histories are thinned
        to ``samples`` evenly spaced rows, keeping the first and last.
        """
        frame = wide_history(self.store, self._record, keys)
        if samples is not None and len(frame) > samples:
            positions = np.unique(
                np.linspace(0, len(frame) - 1, max(int(samples), 1)).round().astype(int)
            )
            frame = frame.iloc[positions].reset_index(drop=True)
        if keys is not None:
            columns = list(dict.fromkeys(["_step", x_axis, *keys]))
            frame = frame[[column for column in columns if column in frame.columns]]
        if not pandas:
            return frame.to_dict("records")
        return frame

    def scan_history(
        self,
        keys: Sequence[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield every history row, oldest first, reading ``page_size`` steps at a time.

        Each row has ``_step``, ``_runtime``, ``_timestamp`` and the keys
        logged at that step. With ``keys`` a row holds only those keys and
        rows missing any of them are skipped, as in W&B. ``min_step`` is
        inclusive and ``max_step`` exclusive.
        """
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        requested = None if keys is None else list(keys)
        cursor = 0 if min_step is None else int(min_step)
        while True:
            page = history_page(self.store, self._record, cursor, page_size, max_step)
            if not page:
                return
            for step in sorted(page):
                row = page[step]
                if requested is None:
                    yield row
                elif all(key in row for key in requested):
                    yield {key: row[key] for key in requested}
            cursor = max(page) + 1

    # Files, media and artifacts

    def files(self) -> list[str]:
        """Return the files kept with ``run.save``, as paths inside the run folder."""
        return list_files(self.files_dir())

    def files_dir(self) -> os.PathLike:
        """Return the folder of the run's saved files."""
        return run_files_dir(self.store.artifact_root, self._record["pk"])

    def media(self, keys: Sequence[str] | None = None) -> pd.DataFrame:
        """Return the run's histograms, images and tables by key and step."""
        return self.store.media(self.project, self.id, keys)

    def logged_artifacts(self) -> list[Artifact]:
        """Return the artifact versions this run logged."""
        versions = artifact_store.run_versions(self.store, self._record["pk"], "output")
        return [Artifact._from_version(self.store, version) for version in versions]

    def used_artifacts(self) -> list[Artifact]:
        """Return the artifact versions this run used."""
        versions = artifact_store.run_versions(self.store, self._record["pk"], "input")
        return [Artifact._from_version(self.store, version) for version in versions]


class ApiSweep:
    """A stored sweep: its config, state and the runs of its trials."""

    def __init__(self, api: Api, record: Any):
        self._api = api
        self._record = record
        self.id = record.sweep_id
        self.name = record.name or record.sweep_id
        self.project = record.project
        self.method = record.method
        self.state = record.state
        self.config = dict(record.config.raw)

    def __repr__(self) -> str:
        return f"<ApiSweep {self.project}/{self.id} ({self.state})>"

    @property
    def runs(self) -> list[ApiRun]:
        """Return the runs that the sweep's trials started, in trial order."""
        from tracking.sweeps import store as sweep_store

        trials = sweep_store.list_trials(self._api.store, self._record)
        by_id = {
            record["run_id"]: record for record in self._api._run_records(self.project)
        }
        return [
            ApiRun(self._api, by_id[trial.run_id])
            for trial in trials
            if trial.run_id in by_id
        ]

    def trials(self) -> pd.DataFrame:
        """Return the trials table: number, run, state, best metric and parameters."""
        from tracking.sweeps import store as sweep_store

        return sweep_store.trials_frame(self._api.store, self._record)

    def best_run(self, order: str | None = None) -> ApiRun | None:
        """Return the finished run with the best value of the sweep's metric.

        ``order`` (``"+name"`` or ``"-name"``) overrides the sweep's metric.
        """
        metric = self._record.config.metric
        if order is None:
            if metric is None:
                return None
            order = (
                "-" if metric.goal == "maximize" else "+"
            ) + f"summary.{metric.name}"
        finished = [run._record for run in self.runs if run.state == "finished"]
        field = order.lstrip("+-")
        ranked = sort_records(
            [record for record in finished if has_field(record, field)], order
        )
        return ApiRun(self._api, ranked[0]) if ranked else None
