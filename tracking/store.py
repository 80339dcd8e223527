"""The run store: SQLAlchemy over SQLite by default, PostgreSQL for teams.

Writes are short transactions. On SQLite the database runs in WAL mode with
a busy timeout, and every write transaction starts with ``BEGIN IMMEDIATE`` so
that two writers queue on the lock instead of failing half-way.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from tracking import migrate, schema
from tracking.errors import StoreError
from tracking.values import dumps, loads

logger = logging.getLogger(__name__)

STORE_ENV = "RUNLENS_STORE"
ARTIFACTS_ENV = "RUNLENS_ARTIFACTS"
DEFAULT_FOLDER = "runlens"
DATABASE_FILE = "runlens.db"

# A running run whose heartbeat is older than this reads as crashed. The
# writer beats every HEARTBEAT_SECONDS, so a live run is never close to it.
CRASH_AFTER_SECONDS = 120.0
HEARTBEAT_SECONDS = 10.0

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10

# SQLite allows 32,766 bound parameters a statement; PostgreSQL 65,535.
_IN_CHUNK = 900


@dataclass(frozen=True)
class SummaryChanges:
    """Summary keys one process set (with their values) or removed."""

    values: dict[str, Any]
    removed: frozenset[str] = frozenset()


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


# Marks an argument of update_run_meta that was left out.
UNSET: Any = _Unset()
MAX_TAG_LENGTH = 64


def run_meta_values(
    *,
    name: Any = UNSET,
    tags: Any = UNSET,
    notes: Any = UNSET,
    group: Any = UNSET,
    job_type: Any = UNSET,
) -> dict[str, Any]:
    """Check run metadata edits and return them as runs-table column values."""
    values: dict[str, Any] = {}
    if name is not UNSET:
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 256:
            raise ValueError(f"run name must be 1 to 256 characters, got {name!r}")
        values["name"] = name.strip()
    if tags is not UNSET:
        if isinstance(tags, str) or not all(isinstance(tag, str) for tag in tags):
            raise ValueError(f"tags must be a list of strings, got {tags!r}")
        cleaned = list(dict.fromkeys(tag.strip() for tag in tags))
        for tag in cleaned:
            if not 1 <= len(tag) <= MAX_TAG_LENGTH:
                raise ValueError(
                    f"tag {tag!r} must be 1 to {MAX_TAG_LENGTH} characters long"
                )
        values["tags"] = dumps(cleaned)
    if notes is not UNSET:
        if notes is not None and not isinstance(notes, str):
            raise ValueError(f"notes must be a string or None, got {notes!r}")
        values["notes"] = notes
    if group is not UNSET:
        if group is not None and (not isinstance(group, str) or len(group) > 256):
            raise ValueError(
                f"group must be None or a string of at most 256 characters, "
                f"got {group!r}"
            )
        values["group_name"] = group
    if job_type is not UNSET:
        if job_type is not None and (
            not isinstance(job_type, str) or len(job_type) > 256
        ):
            raise ValueError(
                f"job_type must be None or a string of at most 256 characters, "
                f"got {job_type!r}"
            )
        values["job_type"] = job_type
    return values


def _package_version() -> str:
    try:
        return version("runlens")
    except PackageNotFoundError:
        return "unknown"


def configured_location() -> str | None:
    """Return ``RUNLENS_STORE`` stripped of blanks, or None if unset or blank."""
    return os.environ.get(STORE_ENV, "").strip() or None


def resolve_location(location: str | os.PathLike | None = None) -> tuple[str, Path]:
    """Return the SQLAlchemy URL and the artifacts folder for a store location.

    ``location`` is a folder path or a SQLAlchemy URL. Without it the
    ``RUNLENS_STORE`` environment variable is read, then ``./runlens`` is used.
    """
    if location is None or not os.fspath(location).strip():
        location = configured_location() or DEFAULT_FOLDER
    text = os.fspath(location).strip()

    if "://" in text:
        _check_sqlite_url(text)
        return text, _artifacts_for_url(text)

    folder = _full_path(text)
    if folder.exists() and not folder.is_dir():
        raise StoreError(
            f"store location {str(folder)!r} is a file, not a folder. Give a "
            f"folder (Runlens keeps {DATABASE_FILE} and artifacts/ in it) or a "
            "SQLAlchemy URL such as sqlite:///path/to/file.db"
        )
    return f"sqlite:///{folder / DATABASE_FILE}", folder / "artifacts"


def _full_path(text: str) -> Path:
    """Return a store path with ``~`` expanded, made absolute.

    Raises
    ------
    StoreError
        When ``~`` or ``~user`` cannot be expanded (no such user, or no home).
    """
    try:
        return Path(text).expanduser().resolve()
    except RuntimeError as exc:
        raise StoreError(
            f"store location {text!r}: cannot expand {text.split('/')[0]!r} to a "
            f"home folder ({exc}). Write the full path instead, e.g. "
            f"{STORE_ENV}=/home/NAME/runlens"
        ) from exc


def _check_sqlite_url(url: str) -> None:
    """Reject an in-memory SQLite URL: its database exists in one process only."""
    if not url.startswith("sqlite"):
        return
    database = url.split("://", 1)[1]
    if database in ("", "/") or ":memory:" in database or "mode=memory" in database:
        raise StoreError(
            f"store {url!r} is an in-memory SQLite database: runs logged to it "
            "vanish when the process ends and the app cannot read them. Give a "
            "file, e.g. sqlite:////path/to/runs.db, or a folder"
        )


def _artifacts_for_url(url: str) -> Path:
    configured = os.environ.get(ARTIFACTS_ENV)
    if configured:
        return _full_path(configured)
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        database = _full_path(url[len("sqlite:///") :])
        return database.parent / "artifacts"
    # NOTE: agents on several machines need this folder on a shared file
    # system; set RUNLENS_ARTIFACTS to it.
    return (Path(DEFAULT_FOLDER) / "artifacts").resolve()


def _prepare_sqlite_file(url: str, database: Path) -> None:
    """Create the database file's folder; reject a folder given as the file.

    Raises
    ------
    StoreError
        Naming the path and the fix, for a folder or an uncreatable parent.
    """
    if database.is_dir():
        raise StoreError(
            f"store {url!r} names the folder {str(database)!r}, not a database "
            f"file. Give the folder itself as {STORE_ENV} (Runlens keeps "
            f"{DATABASE_FILE} in it) or a file path such as "
            f"sqlite:///{database / DATABASE_FILE}"
        )
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the store folder {str(database.parent)!r} for "
            f"{url!r}: {exc.strerror}. Choose a writable location in {STORE_ENV}"
        ) from exc


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite would
        # otherwise defer it and upgrade locks mid-transaction).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(
            f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}"
        )
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get("write", False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


class RunStore:
    """Read and write access to one Runlens store.

    Parameters
    ----------
    location : str or path, optional
        A folder or a SQLAlchemy URL; see :func:`resolve_location`.
    crash_after : float
        Seconds without a heartbeat after which a running run reads as crashed.
    """

    def __init__(
        self,
        location: str | os.PathLike | None = None,
        *,
        crash_after: float = CRASH_AFTER_SECONDS,
    ):
        self.url, self.artifact_root = resolve_location(location)
        self.crash_after = crash_after
        self.engine = self._create_engine()
        self._create_schema()

    def __repr__(self) -> str:
        return f"RunStore({self.display_url!r})"

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for showing to users."""
        return self.engine.url.render_as_string(hide_password=True)

    def _create_engine(self) -> Engine:
        if self.url.startswith("sqlite"):
            # resolve_location has rejected in-memory databases.
            _prepare_sqlite_file(self.url, Path(self.url.split(":///", 1)[-1]))
            engine = create_engine(
                self.url,
                connect_args={
                    "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                    "check_same_thread": False,
                },
            )
            _configure_sqlite(engine)
            return engine
        connect_args = {}
        if self.url.startswith("postgresql"):
            # Fail in seconds instead of waiting on a server that drops packets.
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        try:
            return create_engine(
                self.url,
                pool_size=5,
                max_overflow=5,
                pool_pre_ping=True,
                connect_args=connect_args,
            )
        except Exception as exc:  # noqa: BLE001 - any driver or URL error
            raise StoreError(
                f"cannot open store {self.url!r}: {exc}. Check the URL in "
                f"{STORE_ENV} and that its database driver is installed."
            ) from exc

    def write(self):
        """Open a write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        return self.engine.connect().execution_options(write=True)

    def _create_schema(self) -> None:
        try:
            with self.write() as conn, conn.begin():
                if self.dialect == "postgresql":
                    # Serialise first starts of many processes on one database.
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(72410601)")
                self._check_existing(conn)
                # Alembic creates or upgrades the tables inside this transaction,
                # so the lock above covers it.
                migrate.upgrade(conn, self.display_url)
                found = conn.execute(select(schema.schema_version.c.version)).first()
                if found is None:
                    conn.execute(
                        schema.schema_version.insert().values(
                            version=schema.SCHEMA_VERSION,
                            written_by=_package_version(),
                        )
                    )
        except StoreError:
            raise
        except (OperationalError, DBAPIError) as exc:
            raise StoreError(self._open_failure(exc)) from exc

    def _open_failure(self, exc: DBAPIError) -> str:
        """Describe why the store could not be opened, with what to do."""
        url = self.engine.url
        reason = " ".join(str(exc.orig).split())
        if self.dialect == "postgresql":
            where = f"{url.host or 'localhost'}:{url.port or 5432}"
            return (
                f"cannot connect to the PostgreSQL store {self.display_url!r} at "
                f"{where}: {reason}. Start the server, or fix the host, port, "
                f"user and database in {STORE_ENV}."
            )
        return (
            f"cannot open store {self.display_url!r}: {reason}. Check that the "
            f"file and its folder are writable, or choose another {STORE_ENV}."
        )

    def _check_existing(self, conn: Connection) -> None:
        tables = set(inspect(conn).get_table_names())
        if schema.schema_version.name in tables:
            found = conn.execute(select(schema.schema_version.c.version)).first()
            if found is not None and found.version > schema.SCHEMA_VERSION:
                raise StoreError(
                    f"store {self.display_url!r} has schema version {found.version}, "
                    f"written by a newer Runlens; this Runlens reads version "
                    f"{schema.SCHEMA_VERSION}. Upgrade Runlens to open it."
                )
            return
        if self.dialect == "sqlite" and tables:
            raise StoreError(
                f"{self.display_url!r} is a SQLite database of another program "
                f"(tables: {', '.join(sorted(tables)[:5])}). Runlens will not "
                "write into it; choose an empty folder for the store."
            )

    # Writing runs

    def ensure_project(self, conn: Connection, name: str) -> int:
        query = select(schema.projects.c.pk).where(schema.projects.c.name == name)
        found = conn.execute(query).first()
        if found is not None:
            return found.pk
        if self.dialect == "postgresql":
            # Processes starting together may all create the project; the
            # losers wait for the winner's row instead of failing.
            from sqlalchemy.dialects.postgresql import insert

            conn.execute(
                insert(schema.projects)
                .values(name=name, created_at=time.time())
                .on_conflict_do_nothing(index_elements=["name"])
            )
            return conn.execute(query).scalar_one()
        result = conn.execute(
            schema.projects.insert().values(name=name, created_at=time.time())
        )
        return result.inserted_primary_key[0]

    def create_run(
        self,
        *,
        project: str,
        run_id: str,
        name: str | None,
        config: dict[str, Any],
        tags: Sequence[str],
        notes: str | None,
        group: str | None,
        job_type: str | None,
        sweep_id: str | None = None,
    ) -> int:
        """Insert a new running run and return its primary key."""
        now = time.time()
        try:
            with self.write() as conn, conn.begin():
                project_pk = self.ensure_project(conn, project)
                if name is None:
                    count = conn.execute(
                        select(func.count())
                        .select_from(schema.runs)
                        .where(schema.runs.c.project_pk == project_pk)
                    ).scalar_one()
                    name = _default_run_name(run_id, count + 1)
                result = conn.execute(
                    schema.runs.insert().values(
                        project_pk=project_pk,
                        run_id=run_id,
                        name=name,
                        state="running",
                        created_at=now,
                        heartbeat_at=now,
                        config=dumps(config),
                        summary="{}",
                        tags=dumps(list(tags)),
                        notes=notes,
                        group_name=group,
                        job_type=job_type,
                        sweep_id=sweep_id,
                    )
                )
                return result.inserted_primary_key[0]
        except IntegrityError as exc:
            raise StoreError(
                f"a run with id {run_id!r} already exists in project {project!r}; "
                "choose another id or leave id unset"
            ) from exc

    def save_batch(
        self,
        run_pk: int,
        points: list[tuple[int, str, int, float | None, float]],
        *,
        summary: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        last_step: int | None = None,
        summary_changes: SummaryChanges | None = None,
    ) -> None:
        """Store history points and the run's latest state in one transaction.

        ``points`` are ``(run_pk, key, step, value, timestamp)`` tuples.
        ``summary`` replaces the stored summary, while ``summary_changes``
        merges into it per key (see :meth:`_merged_summary`).
        """
        values: dict[str, Any] = {"heartbeat_at": time.time()}
        if summary is not None:
            values["summary"] = dumps(summary)
        if config is not None:
            values["config"] = dumps(config)
        if last_step is not None:
            values["last_step"] = last_step

        with self.write() as conn, conn.begin():
            if points:
                self._insert_history(conn, points)
            if summary_changes is not None:
                values["summary"] = self._merged_summary(conn, run_pk, summary_changes)
            conn.execute(
                update(schema.runs).where(schema.runs.c.pk == run_pk).values(**values)
            )

    def _merged_summary(
        self, conn: Connection, run_pk: int, changes: SummaryChanges
    ) -> str:
        """Return the stored summary with ``changes`` applied, as JSON text.

        The run's row stays locked until the transaction ends (FOR UPDATE on
        PostgreSQL, the BEGIN IMMEDIATE write lock on SQLite), so processes
        that resume one run and set different keys all keep theirs.
        """
        stored = conn.execute(
            select(schema.runs.c.summary)
            .where(schema.runs.c.pk == run_pk)
            .with_for_update()
        ).scalar_one()
        merged = loads(stored)
        merged.update(changes.values)
        for key in changes.removed:
            merged.pop(key, None)
        return dumps(merged)

    def _insert_history(
        self, conn: Connection, points: list[tuple[int, str, int, float | None, float]]
    ) -> None:
        if self.dialect == "sqlite":
            # The DB-API executemany skips SQLAlchemy's per-row work, which
            # matters at hundreds of thousands of points a second.
            conn.exec_driver_sql(
                "INSERT INTO runlens_history (run_pk, key, step, value, timestamp) "
                "VALUES (?, ?, ?, ?, ?)",
                points,
            )
            return
        columns = ("run_pk", "key", "step", "value", "timestamp")
        rows = [dict(zip(columns, row, strict=True)) for row in points]
        conn.execute(schema.history.insert(), rows)

    def finish_run(
        self,
        run_pk: int,
        *,
        exit_code: int,
        config: dict[str, Any],
        summary: dict[str, Any] | None = None,
        state: str | None = None,
        summary_changes: SummaryChanges | None = None,
    ) -> None:
        """Mark a run ended: ``state``, else finished or failed by ``exit_code``.

        ``summary`` replaces the stored summary and ``summary_changes`` merges
        into it per key, as in :meth:`save_batch`.
        """
        now = time.time()
        if state is None:
            state = "finished" if exit_code == 0 else "failed"
        values: dict[str, Any] = {
            "state": state,
            "exit_code": exit_code,
            "finished_at": now,
            "heartbeat_at": now,
            "config": dumps(config),
        }
        if summary is not None:
            values["summary"] = dumps(summary)
        with self.write() as conn, conn.begin():
            if summary_changes is not None:
                values["summary"] = self._merged_summary(conn, run_pk, summary_changes)
            conn.execute(
                update(schema.runs).where(schema.runs.c.pk == run_pk).values(**values)
            )

    def reopen_run(self, run_pk: int) -> None:
        """Mark an ended or crashed run running again, for a resumed run.

        The last stored bucket of each of the run's downsampled lines is
        deleted, because the resumed run may log more steps into it.
        """
        now = time.time()
        rollup = schema.history_rollup
        last_buckets = (
            select(rollup.c.key, rollup.c.level, func.max(rollup.c.bucket))
            .where(rollup.c.run_pk == run_pk)
            .group_by(rollup.c.key, rollup.c.level)
        )
        with self.write() as conn, conn.begin():
            conn.execute(
                update(schema.runs)
                .where(schema.runs.c.pk == run_pk)
                .values(
                    state="running", heartbeat_at=now, finished_at=None, exit_code=None
                )
            )
            conn.execute(
                delete(rollup)
                .where(rollup.c.run_pk == run_pk)
                .where(
                    tuple_(rollup.c.key, rollup.c.level, rollup.c.bucket).in_(
                        last_buckets
                    )
                )
            )

    def update_run_meta(
        self,
        project: str,
        run_id: str,
        *,
        name: Any = UNSET,
        tags: Any = UNSET,
        notes: Any = UNSET,
        group: Any = UNSET,
        job_type: Any = UNSET,
    ) -> None:
        """Change a run's name, tags, notes, group or job type; others stay.

        ``notes=None`` and ``group=None`` clear them. Raises ``ValueError``
        naming the argument for invalid values and ``StoreError`` for an
        unknown run.
        """
        values = run_meta_values(
            name=name, tags=tags, notes=notes, group=group, job_type=job_type
        )
        if not values:
            return
        with self.write() as conn, conn.begin():
            row = self._run_row(conn, project, run_id)
            conn.execute(
                update(schema.runs)
                .where(schema.runs.c.pk == row["pk"])
                .values(**values)
            )

    def set_run_metrics(self, run_pk: int, metrics: dict[str, Any]) -> None:
        """Store a run's ``define_metric`` definitions, by name or glob."""
        with self.write() as conn, conn.begin():
            conn.execute(
                update(schema.runs)
                .where(schema.runs.c.pk == run_pk)
                .values(metrics=dumps(metrics))
            )

    def add_media(
        self, run_pk: int, points: list[tuple[str, int, dict[str, Any], float]]
    ) -> None:
        """Store media pointers as ``(key, step, pointer, timestamp)`` tuples."""
        rows = [
            {
                "run_pk": run_pk,
                "key": key,
                "step": step,
                "type": pointer["_type"],
                "pointer": dumps(pointer),
                "timestamp": timestamp,
            }
            for key, step, pointer, timestamp in points
        ]
        with self.write() as conn, conn.begin():
            conn.execute(schema.media.insert(), rows)

    def add_artifact(
        self,
        run_pk: int,
        *,
        name: str,
        type: str,
        format: str,
        digest: str,
        size: int,
        manifest: dict[str, Any],
        description: str | None = None,
        aliases: Sequence[str] = (),
    ) -> int:
        """Record an artifact version logged by a run; return its primary key.

        Content whose digest matches a version of ``name`` in the project
        reuses that version; see :mod:`tracking.artifact_store`.
        """
        from tracking import artifact_store

        version = artifact_store.log_version(
            self,
            run_pk,
            name=name,
            type=type,
            format=format,
            digest=digest,
            size=size,
            manifest=manifest,
            description=description,
            aliases=aliases,
        )
        return version.pk

    # Reading

    def projects(self) -> pd.DataFrame:
        """Return the projects with their run counts and latest activity.

        Deleted runs are not counted.
        """
        query = (
            select(
                schema.projects.c.name.label("project"),
                func.count(schema.runs.c.pk).label("runs"),
                func.max(schema.runs.c.heartbeat_at).label("last_activity"),
            )
            .select_from(
                schema.projects.outerjoin(
                    schema.runs,
                    (schema.runs.c.project_pk == schema.projects.c.pk)
                    & schema.runs.c.deleted_at.is_(None),
                )
            )
            .group_by(schema.projects.c.name)
            .order_by(schema.projects.c.name)
        )
        with self.engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).mappings().all())
        if frame.empty:
            return pd.DataFrame({"project": [], "runs": [], "last_activity": []})
        frame["last_activity"] = _to_datetime(frame["last_activity"])
        return frame

    def runs(
        self, project: str | None = None, *, deleted: bool | None = False
    ) -> pd.DataFrame:
        """Return runs as a DataFrame with ``config.*`` and ``summary.*`` columns.

        ``state`` reads ``crashed`` for a running run whose heartbeat is older
        than ``crash_after`` seconds. ``deleted=False`` returns live runs,
        ``True`` the deleted ones that can still be restored, ``None`` both.
        """
        query = select(
            schema.runs, schema.projects.c.name.label("project")
        ).select_from(schema.runs.join(schema.projects))
        if project is not None:
            query = query.where(schema.projects.c.name == project)
        if deleted is not None:
            deleted_at = schema.runs.c.deleted_at
            query = query.where(
                deleted_at.is_not(None) if deleted else deleted_at.is_(None)
            )
        query = query.order_by(schema.runs.c.created_at)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return self._runs_frame(rows)

    def _runs_frame(self, rows: Sequence[Any]) -> pd.DataFrame:
        now = time.time()
        records = []
        for row in rows:
            state = row["state"]
            if state == "running" and now - row["heartbeat_at"] > self.crash_after:
                state = "crashed"
            end = row["finished_at"] if row["finished_at"] else row["heartbeat_at"]
            record = {
                "run_id": row["run_id"],
                "name": row["name"],
                "project": row["project"],
                "state": state,
                "created_at": row["created_at"],
                "duration": end - row["created_at"],
                "heartbeat_at": row["heartbeat_at"],
                "finished_at": row["finished_at"],
                "exit_code": row["exit_code"],
                "last_step": row["last_step"],
                "tags": loads(row["tags"]) or [],
                "notes": row["notes"],
                "group": row["group_name"],
                "job_type": row["job_type"],
                "sweep_id": row["sweep_id"],
                "deleted_at": row["deleted_at"],
            }
            record.update(_flatten(loads(row["config"]), "config."))
            record.update(_flatten(loads(row["summary"]), "summary."))
            records.append(record)

        frame = pd.DataFrame.from_records(records, columns=_RUN_COLUMNS)
        if records:
            frame = pd.DataFrame.from_records(records)
        for column in ("created_at", "heartbeat_at", "finished_at", "deleted_at"):
            frame[column] = _to_datetime(frame[column])
        return frame

    def run(self, project: str, run_id: str) -> dict[str, Any]:
        """Return one run's record, with ``config`` and ``summary`` as dicts."""
        with self.engine.connect() as conn:
            row = self._run_row(conn, project, run_id)
        state = row["state"]
        if state == "running" and time.time() - row["heartbeat_at"] > self.crash_after:
            state = "crashed"
        return {
            "pk": row["pk"],
            "run_id": row["run_id"],
            "name": row["name"],
            "project": project,
            "state": state,
            "created_at": row["created_at"],
            "heartbeat_at": row["heartbeat_at"],
            "finished_at": row["finished_at"],
            "exit_code": row["exit_code"],
            "last_step": row["last_step"],
            "config": loads(row["config"]),
            "summary": loads(row["summary"]),
            "tags": loads(row["tags"]) or [],
            "notes": row["notes"],
            "group": row["group_name"],
            "job_type": row["job_type"],
            "sweep_id": row["sweep_id"],
            "metrics": loads(row["metrics"]),
        }

    def _run_row(self, conn: Connection, project: str, run_id: str) -> Any:
        row = (
            conn.execute(
                select(schema.runs)
                .select_from(schema.runs.join(schema.projects))
                .where(schema.projects.c.name == project)
                .where(schema.runs.c.run_id == run_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise StoreError(f"run {run_id!r} not found in project {project!r}")
        return row

    def history(
        self,
        project: str,
        run_ids: Iterable[str],
        keys: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Return metric histories in long form.

        Columns: ``run_id``, ``key``, ``step``, ``value``, ``timestamp`` and
        ``runtime`` (seconds since the run started). NaN values come back as NaN.
        """
        run_ids = list(run_ids)
        keys = None if keys is None else list(keys)
        with self.engine.connect() as conn:
            run_rows = []
            for start in range(0, len(run_ids), _IN_CHUNK):
                run_rows += conn.execute(
                    select(
                        schema.runs.c.pk, schema.runs.c.run_id, schema.runs.c.created_at
                    )
                    .select_from(schema.runs.join(schema.projects))
                    .where(schema.projects.c.name == project)
                    .where(schema.runs.c.run_id.in_(run_ids[start : start + _IN_CHUNK]))
                ).all()
            by_pk = {row.pk: (row.run_id, row.created_at) for row in run_rows}
            frames = []
            pks = list(by_pk)
            for start in range(0, len(pks), _IN_CHUNK):
                query = select(
                    schema.history.c.run_pk,
                    schema.history.c.key,
                    schema.history.c.step,
                    schema.history.c.value,
                    schema.history.c.timestamp,
                ).where(schema.history.c.run_pk.in_(pks[start : start + _IN_CHUNK]))
                if keys is not None:
                    query = query.where(schema.history.c.key.in_(keys))
                query = query.order_by(schema.history.c.run_pk, schema.history.c.step)
                frames.append(pd.DataFrame(conn.execute(query).all()))

        columns = ["run_id", "key", "step", "value", "timestamp", "runtime"]
        frames = [frame for frame in frames if not frame.empty]
        if not frames:
            return pd.DataFrame({name: [] for name in columns})
        frame = pd.concat(frames, ignore_index=True)
        frame["value"] = frame["value"].astype("float64")
        frame["run_id"] = frame["run_pk"].map(lambda pk: by_pk[pk][0])
        started = frame["run_pk"].map(lambda pk: by_pk[pk][1])
        frame["runtime"] = frame["timestamp"] - started
        return frame[columns]

    def history_keys(self, project: str, run_ids: Iterable[str]) -> list[str]:
        """Return the metric names logged by any of the runs, sorted."""
        run_ids = list(run_ids)
        if not run_ids:
            return []
        keys: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(run_ids), _IN_CHUNK):
                query = (
                    select(schema.history.c.key)
                    .distinct()
                    .select_from(schema.history.join(schema.runs).join(schema.projects))
                    .where(schema.projects.c.name == project)
                    .where(schema.runs.c.run_id.in_(run_ids[start : start + _IN_CHUNK]))
                )
                keys.update(conn.execute(query).scalars().all())
        return sorted(keys)

    def artifacts(
        self, project: str, run_id: str | None = None, role: str = "output"
    ) -> pd.DataFrame:
        """Return the artifact versions that a project's runs logged, or one run's.

        One row per run and version: a version logged unchanged by two runs
        appears for each. ``role="input"`` lists the versions runs used instead.
        ``created_at`` is when the run logged (or used) the version.
        """
        from tracking.artifact_store import sort_aliases

        links, versions = schema.artifact_links, schema.artifacts
        query = (
            select(
                versions.c.pk.label("artifact_pk"),
                schema.runs.c.run_id,
                schema.runs.c.name.label("run_name"),
                versions.c.name,
                versions.c.type,
                versions.c.version,
                versions.c.format,
                versions.c.digest,
                versions.c.size,
                versions.c.manifest,
                links.c.created_at,
            )
            .select_from(
                links.join(versions, links.c.artifact_pk == versions.c.pk)
                .join(schema.runs, links.c.run_pk == schema.runs.c.pk)
                .join(schema.projects)
            )
            .where(schema.projects.c.name == project)
            .where(links.c.role == role)
            .order_by(links.c.created_at, links.c.pk)
        )
        if run_id is not None:
            query = query.where(schema.runs.c.run_id == run_id)
        with self.engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).mappings().all())
            aliases = self._aliases(conn, frame["artifact_pk"] if len(frame) else [])
        if frame.empty:
            return pd.DataFrame(columns=_ARTIFACT_COLUMNS)
        frame["manifest"] = frame["manifest"].map(loads)
        frame["created_at"] = _to_datetime(frame["created_at"])
        frame["aliases"] = frame["artifact_pk"].map(
            lambda pk: sort_aliases(aliases.get(pk, []))
        )
        return frame[_ARTIFACT_COLUMNS]

    def _aliases(self, conn: Connection, pks: Iterable[int]) -> dict[int, list[str]]:
        table = schema.artifact_aliases
        pks = sorted(set(int(pk) for pk in pks))
        found: dict[int, list[str]] = {}
        for start in range(0, len(pks), _IN_CHUNK):
            rows = conn.execute(
                select(table.c.artifact_pk, table.c.alias)
                .where(table.c.artifact_pk.in_(pks[start : start + _IN_CHUNK]))
                .order_by(table.c.pk)
            ).all()
            for artifact_pk, alias in rows:
                found.setdefault(artifact_pk, []).append(alias)
        return found

    def media(
        self, project: str, run_id: str, keys: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """Return a run's logged histograms, images and tables, by key and step.

        Columns: ``key``, ``step``, ``type`` and ``pointer`` (the dict that
        :func:`tracking.media.load_media` reads) and ``timestamp``.
        """
        media = schema.media
        with self.engine.connect() as conn:
            run_pk = self._run_row(conn, project, run_id)["pk"]
            query = (
                select(
                    media.c.key,
                    media.c.step,
                    media.c.type,
                    media.c.pointer,
                    media.c.timestamp,
                )
                .where(media.c.run_pk == run_pk)
                .order_by(media.c.step, media.c.key)
            )
            if keys is not None:
                query = query.where(media.c.key.in_(list(keys)[:_IN_CHUNK]))
            frame = pd.DataFrame(conn.execute(query).mappings().all())
        columns = ["key", "step", "type", "pointer", "timestamp"]
        if frame.empty:
            return pd.DataFrame(columns=columns)
        frame["pointer"] = frame["pointer"].map(loads)
        return frame[columns]


_ARTIFACT_COLUMNS = [
    "artifact_pk",
    "run_id",
    "run_name",
    "name",
    "type",
    "version",
    "aliases",
    "format",
    "digest",
    "size",
    "manifest",
    "created_at",
]

_RUN_COLUMNS = [
    "run_id",
    "name",
    "project",
    "state",
    "created_at",
    "duration",
    "heartbeat_at",
    "finished_at",
    "exit_code",
    "last_step",
    "tags",
    "notes",
    "group",
    "job_type",
    "sweep_id",
    "deleted_at",
]

_ADJECTIVES = (
    "amber",
    "brisk",
    "calm",
    "daring",
    "eager",
    "fuzzy",
    "gentle",
    "hazy",
    "icy",
    "jolly",
    "keen",
    "lucid",
    "mellow",
    "noble",
    "olive",
    "proud",
    "quiet",
    "rapid",
    "silent",
    "tidy",
    "vivid",
    "warm",
    "young",
    "zesty",
)
_NOUNS = (
    "aurora",
    "brook",
    "cloud",
    "dune",
    "ember",
    "fjord",
    "grove",
    "harbor",
    "island",
    "lagoon",
    "meadow",
    "nebula",
    "orchard",
    "prairie",
    "quartz",
    "river",
    "summit",
    "tide",
    "valley",
    "willow",
)


def _default_run_name(run_id: str, number: int) -> str:
    seed = sum(ord(char) for char in run_id)
    return (
        f"{_ADJECTIVES[seed % len(_ADJECTIVES)]}-{_NOUNS[seed % len(_NOUNS)]}-{number}"
    )


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix.rstrip("."): value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict) and item:
            flat.update(_flatten(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def _to_datetime(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column, unit="s", utc=True)


_stores: dict[str, RunStore] = {}
_stores_lock = threading.Lock()


def open_store(location: str | os.PathLike | None = None) -> RunStore:
    """Return the process's shared :class:`RunStore` for ``location``."""
    url, _ = resolve_location(location)
    with _stores_lock:
        store = _stores.get(url)
        if store is None:
            store = RunStore(location)
            _stores[url] = store
        return store
