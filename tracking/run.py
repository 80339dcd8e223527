"""A tracked run: config, history with W&B's step rules, summary and artifacts."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tracking.config import Config
from tracking.errors import UsageError
from tracking.store import RunStore
from tracking.values import flatten_metrics, to_json_value
from tracking.writer import HistoryWriter

logger = logging.getLogger(__name__)


class Summary:
    """A run's summary: each key's last logged value unless set explicitly."""

    def __init__(self, on_change: Any = None):
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_on_change", on_change)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._items[key] = to_json_value(value, key)
        self._notify()

    def __delitem__(self, key: str) -> None:
        del self._items[key]
        self._notify()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._items[name]
        except KeyError:
            raise AttributeError(f"summary has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Summary({self._items!r})"

    def keys(self) -> list[str]:
        return list(self._items)

    def items(self) -> list[tuple[str, Any]]:
        return list(self._items.items())

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def update(self, data: Mapping[str, Any]) -> None:
        for key, value in data.items():
            self._items[key] = to_json_value(value, key)
        self._notify()

    def as_dict(self) -> dict[str, Any]:
        return dict(self._items)

    def _record_row(self, row: dict[str, Any]) -> None:
        self._items.update(row)

    def _notify(self) -> None:
        if self._on_change is not None:
            self._on_change()


class Run:
    """One tracked run. Create it with :func:`tracking.init`, not directly."""

    def __init__(
        self,
        *,
        store: RunStore | None,
        project: str,
        run_id: str,
        name: str | None,
        config: dict[str, Any],
        tags: Sequence[str],
        notes: str | None,
        group: str | None,
        job_type: str | None,
        mode: str,
        sweep_id: str | None = None,
    ):
        self.id = run_id
        self.project = project
        self.mode = mode
        self.tags = tuple(tags)
        self.notes = notes
        self.group = group
        self.job_type = job_type
        self.sweep_id = sweep_id
        self.start_time = time.time()
        self.should_stop = False

        self._store = store
        self._writer: HistoryWriter | None = None
        self._finished = False
        self._step = 0
        self._pending: dict[str, Any] = {}
        self.config = Config(on_change=lambda _: self._mark_changed())
        self.summary = Summary(on_change=self._mark_changed)
        self.config.update(config)

        if store is None:
            self.name = name or run_id
            self._pk = None
            return
        self._pk = store.create_run(
            project=project,
            run_id=run_id,
            name=name,
            config=self.config.as_dict(),
            tags=self.tags,
            notes=notes,
            group=group,
            job_type=job_type,
            sweep_id=sweep_id,
        )
        self.name = store.run(project, run_id)["name"]
        self._writer = HistoryWriter(store, self._pk, self._snapshot)

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

    def _snapshot(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return self.summary.as_dict(), self.config.as_dict()

    def _mark_changed(self) -> None:
        if self._writer is not None:
            self._writer.mark_changed()

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
        row = flatten_metrics(data)

        if step is None:
            self._pending.update(row)
            if commit is False:
                return
            self._commit_pending()
            return

        if type(step) is not int:
            if isinstance(step, float) and step.is_integer():
                step = int(step)
            elif hasattr(step, "__index__"):
                step = step.__index__()
            else:
                raise TypeError(f"step must be an integer, got {step!r}")
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
        if commit:
            self._commit_pending()

    def _commit_pending(self) -> None:
        row = self._pending
        if row:
            self._pending = {}
            self.summary._record_row(row)
            if self._writer is not None:
                self._writer.append(self._step, time.time(), row)
        self._step += 1

    # Artifacts

    def log_model(
        self,
        model: Any,
        name: str = "model",
        *,
        preprocessor: Any = None,
        format: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Store a fitted model as an artifact of this run.

        scikit-learn estimators are saved with skops (``format="joblib"``
        keeps a joblib pickle instead), Keras models as ``.keras``. A fitted
        scikit-learn ``preprocessor`` that turns raw frames into the Keras
        model's input is stored beside it.
        """
        from tracking import artifacts

        if not self._require_store("log_model"):
            return
        artifacts.log_model(
            self._store,
            self._pk,
            model,
            name,
            preprocessor=preprocessor,
            format=format,
            metadata=metadata,
        )

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

        A non-zero ``exit_code`` marks the run failed. Calling it twice is
        harmless.
        """
        if self._finished:
            return
        if self._pending:
            self._commit_pending()
        self._finished = True
        code = 0 if exit_code is None else int(exit_code)

        from tracking import _state

        _state.forget(self)
        if self._store is None or self._writer is None:
            return
        self._writer.close()
        self._store.finish_run(
            self._pk,
            exit_code=code,
            summary=self.summary.as_dict(),
            config=self.config.as_dict(),
        )
        if not quiet:
            logger.info(
                "run %s (%s) %s",
                self.id,
                self.name,
                "finished" if code == 0 else "failed",
            )

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> bool:
        self.finish(exit_code=0 if exc_type is None else 1)
        return False
