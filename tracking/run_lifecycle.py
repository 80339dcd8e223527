"""Deleting runs: soft delete with restore, and purge, which removes everything.

A deleted run keeps all its rows and files and only stops appearing in
:meth:`tracking.RunStore.runs`; :func:`restore_runs` brings it back. A purge
removes the run row with its history, downsampled history, media and saved
files, and the artifact versions it created. A blob file of an artifact or a
media file is removed only when no remaining row refers to it, because files
are stored once by content and shared between runs.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from tracking import schema
from tracking.errors import StoreError
from tracking.store import _IN_CHUNK, RunStore
from tracking.values import loads

logger = logging.getLogger(__name__)

LATEST_ALIAS = "latest"


@dataclass
class PurgeResult:
    """Counts of the rows a purge removed, and the files it deleted from disk."""

    runs: int = 0
    history_rows: int = 0
    artifact_versions: int = 0
    files_removed: list[Path] = field(default_factory=list)


def delete_runs(store: RunStore, project: str, run_ids: Iterable[str]) -> int:
    """Mark runs deleted; they can be restored until purged.

    Returns
    -------
    int
        The number of runs marked; runs already deleted keep their time.

    Raises
    ------
    StoreError
        When a run id is not in the project.
    """
    pks = _run_pks(store, project, run_ids)
    now = time.time()
    marked = 0
    with store.write() as conn, conn.begin():
        for chunk in _chunks(list(pks.values())):
            result = conn.execute(
                update(schema.runs)
                .where(schema.runs.c.pk.in_(chunk))
                .where(schema.runs.c.deleted_at.is_(None))
                .values(deleted_at=now)
            )
            marked += result.rowcount
    logger.info("deleted %d run(s) of project %s", marked, project)
    return marked


def restore_runs(store: RunStore, project: str, run_ids: Iterable[str]) -> int:
    """Undo :func:`delete_runs`; returns the number of runs restored."""
    pks = _run_pks(store, project, run_ids)
    restored = 0
    with store.write() as conn, conn.begin():
        for chunk in _chunks(list(pks.values())):
            result = conn.execute(
                update(schema.runs)
                .where(schema.runs.c.pk.in_(chunk))
                .where(schema.runs.c.deleted_at.is_not(None))
                .values(deleted_at=None)
            )
            restored += result.rowcount
    logger.info("restored %d run(s) of project %s", restored, project)
    return restored


def purge_runs(store: RunStore, project: str, run_ids: Iterable[str]) -> PurgeResult:
    """Remove runs for good, with their history, media, files and artifacts.

    Artifact versions that a purged run created are removed with it. Blob and
    media files are removed from disk after the transaction commits, and only
    when no remaining artifact version or media row refers to them.

    Raises
    ------
    StoreError
        When a run id is not in the project, when a run is still running (its
        writer would fail), or when a run created an artifact version that a
        run outside the purge logged or used. Nothing is removed then.
    """
    pks = _run_pks(store, project, run_ids)
    result = PurgeResult()
    if not pks:
        return result
    pk_list = sorted(pks.values())
    with store.write() as conn, conn.begin():
        _check_not_running(store, conn, pks)
        version_rows = _created_versions(conn, pk_list)
        _check_versions_unshared(conn, version_rows, pks)
        media_pointers = _media_pointers(conn, pk_list)

        version_pks = [row.pk for row in version_rows]
        _delete_versions(conn, version_rows)
        result.history_rows = _delete_where(conn, schema.history, "run_pk", pk_list)
        _delete_where(conn, schema.history_rollup, "run_pk", pk_list)
        _delete_where(conn, schema.media, "run_pk", pk_list)
        _delete_where(conn, schema.artifact_links, "run_pk", pk_list)
        _delete_other_run_rows(conn, pk_list)
        result.runs = _delete_where(conn, schema.runs, "pk", pk_list)
        result.artifact_versions = len(version_pks)

        orphan_blobs = _unreferenced_blobs(store, conn, version_rows)
        orphan_media = _unreferenced_media(conn, media_pointers)

    # Files go only after the rows are gone for good: a failed transaction
    # leaves every file in place.
    for path in orphan_blobs + _checked_media_files(store, orphan_media):
        if path.exists():
            path.unlink()
            result.files_removed.append(path)
    for pk in pk_list:
        folder = store.artifact_root / "runs" / str(int(pk))
        if folder.exists():
            shutil.rmtree(folder)
            result.files_removed.append(folder)
    logger.info(
        "purged %d run(s) of project %s: %d history rows, %d artifact versions, "
        "%d files",
        result.runs,
        project,
        result.history_rows,
        result.artifact_versions,
        len(result.files_removed),
    )
    return result


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _run_pks(store: RunStore, project: str, run_ids: Iterable[str]) -> dict[str, int]:
    requested = list(dict.fromkeys(run_ids))
    found: dict[str, int] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(requested):
            rows = conn.execute(
                select(schema.runs.c.run_id, schema.runs.c.pk)
                .select_from(schema.runs.join(schema.projects))
                .where(schema.projects.c.name == project)
                .where(schema.runs.c.run_id.in_(chunk))
            ).all()
            found.update({row.run_id: row.pk for row in rows})
    missing = [run_id for run_id in requested if run_id not in found]
    if missing:
        raise StoreError(
            f"run(s) {', '.join(map(repr, missing[:5]))} not found in project "
            f"{project!r}; reload the runs table and select existing runs"
        )
    return found


def _check_not_running(store: RunStore, conn: Connection, pks: dict[str, int]) -> None:
    stale_before = time.time() - store.crash_after
    running = []
    for chunk in _chunks(list(pks.values())):
        rows = conn.execute(
            select(schema.runs.c.run_id)
            .where(schema.runs.c.pk.in_(chunk))
            .where(schema.runs.c.state == "running")
            .where(schema.runs.c.heartbeat_at >= stale_before)
        ).all()
        running += [row.run_id for row in rows]
    if running:
        raise StoreError(
            f"run(s) {', '.join(map(repr, sorted(running)[:5]))} are still running; "
            "finish or stop them before purging (a deleted run can be purged "
            "once it has ended)"
        )


def _created_versions(conn: Connection, pks: list[int]) -> list[Any]:
    versions = schema.artifacts
    rows: list[Any] = []
    for chunk in _chunks(pks):
        rows += conn.execute(
            select(
                versions.c.pk,
                versions.c.run_pk,
                versions.c.name,
                versions.c.version,
                versions.c.collection_pk,
                versions.c.manifest,
            ).where(versions.c.run_pk.in_(chunk))
        ).all()
    return rows


def _check_versions_unshared(
    conn: Connection, version_rows: list[Any], pks: dict[str, int]
) -> None:
    purged = set(pks.values())
    links = schema.artifact_links
    for row in version_rows:
        users = conn.execute(
            select(schema.runs.c.run_id)
            .select_from(links.join(schema.runs, links.c.run_pk == schema.runs.c.pk))
            .where(links.c.artifact_pk == row.pk)
            .where(links.c.run_pk.not_in(purged))
        ).all()
        if users:
            names = ", ".join(sorted(repr(user.run_id) for user in users)[:5])
            raise StoreError(
                f"artifact '{row.name}:v{row.version}' was created by a run being "
                f"purged and is also logged or used by run(s) {names}; purge "
                "those runs too, or keep the run that created it"
            )


def _media_pointers(conn: Connection, pks: list[int]) -> dict[str, dict[str, Any]]:
    """Return the media pointers of runs, by their relative file path."""
    pointers: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(pks):
        for (text,) in conn.execute(
            select(schema.media.c.pointer).where(schema.media.c.run_pk.in_(chunk))
        ):
            pointer = loads(text) or {}
            if isinstance(pointer.get("path"), str):
                pointers[pointer["path"]] = pointer
    return pointers


def _delete_versions(conn: Connection, version_rows: list[Any]) -> None:
    if not version_rows:
        return
    version_pks = [row.pk for row in version_rows]
    aliases = schema.artifact_aliases
    for chunk in _chunks(version_pks):
        conn.execute(delete(aliases).where(aliases.c.artifact_pk.in_(chunk)))
        conn.execute(
            delete(schema.artifact_links).where(
                schema.artifact_links.c.artifact_pk.in_(chunk)
            )
        )
        conn.execute(delete(schema.artifacts).where(schema.artifacts.c.pk.in_(chunk)))

    for collection_pk in sorted({row.collection_pk for row in version_rows}):
        _repair_collection(conn, collection_pk)


def _repair_collection(conn: Connection, collection_pk: int) -> None:
    """Drop an empty collection, or move ``latest`` to its newest version."""
    versions, aliases = schema.artifacts, schema.artifact_aliases
    newest = conn.execute(
        select(versions.c.pk)
        .where(versions.c.collection_pk == collection_pk)
        .order_by(versions.c.version.desc())
        .limit(1)
    ).scalar()
    if newest is None:
        conn.execute(
            delete(schema.artifact_collections).where(
                schema.artifact_collections.c.pk == collection_pk
            )
        )
        return
    has_latest = conn.execute(
        select(func.count())
        .select_from(aliases)
        .where(aliases.c.collection_pk == collection_pk)
        .where(aliases.c.alias_key == LATEST_ALIAS)
    ).scalar_one()
    if not has_latest:
        conn.execute(
            aliases.insert().values(
                collection_pk=collection_pk,
                artifact_pk=newest,
                alias=LATEST_ALIAS,
                alias_key=LATEST_ALIAS,
            )
        )


def _delete_where(conn: Connection, table: Any, column: str, values: list[int]) -> int:
    removed = 0
    for chunk in _chunks(values):
        result = conn.execute(delete(table).where(table.c[column].in_(chunk)))
        removed += max(result.rowcount, 0)
    return removed


_HANDLED_TABLES = {
    "runlens_history",
    "runlens_history_rollup",
    "runlens_media",
    "runlens_artifact_links",
    "runlens_artifacts",
    "runlens_runs",
}


def _delete_other_run_rows(conn: Connection, pks: list[int]) -> None:
    """Delete rows of any other table whose foreign key names a purged run."""
    for table in schema.metadata.sorted_tables:
        if table.name in _HANDLED_TABLES:
            continue
        for foreign_key in table.foreign_keys:
            if foreign_key.column.table is schema.runs:
                _delete_where(conn, table, foreign_key.parent.name, pks)


def _unreferenced_blobs(
    store: RunStore, conn: Connection, version_rows: list[Any]
) -> list[Path]:
    from tracking.artifacts import blob_path

    candidates: dict[str, Path] = {}
    for row in version_rows:
        manifest = loads(row.manifest) or {}
        for entry in (manifest.get("files") or {}).values():
            try:
                path = blob_path(
                    store.artifact_root, entry["digest"], entry.get("suffix", "")
                )
            except (KeyError, StoreError):
                logger.warning(
                    "artifact version %s has a malformed file entry %r; its file "
                    "is left in place",
                    row.pk,
                    entry,
                )
                continue
            candidates[entry["digest"]] = path

    orphans = []
    for digest, path in candidates.items():
        still_used = conn.execute(
            select(func.count())
            .select_from(schema.artifacts)
            .where(schema.artifacts.c.manifest.contains(digest))
        ).scalar_one()
        if not still_used:
            orphans.append(path)
    return orphans


def _checked_media_files(store: RunStore, pointers: list[dict[str, Any]]) -> list[Path]:
    """Return the files of media pointers, skipping paths the store did not write."""
    from tracking.media import media_path

    files = []
    for pointer in pointers:
        try:
            files.append(media_path(store.artifact_root, pointer))
        except StoreError as exc:
            logger.warning("media file left in place: %s", exc)
    return files


def _unreferenced_media(
    conn: Connection, pointers: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    orphans = []
    for path in sorted(pointers):
        still_used = conn.execute(
            select(func.count())
            .select_from(schema.media)
            .where(schema.media.c.pointer.contains(path))
        ).scalar_one()
        if not still_used:
            orphans.append(pointers[path])
    return orphans
