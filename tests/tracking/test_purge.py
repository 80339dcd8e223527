"""Deleting, restoring and purging runs, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, update

import tracking
from tracking import StoreError, artifact_store, schema
from tracking.artifacts import blob_path, content_digest, store_copy
from tracking.media import Histogram, write_media
from tracking.run_lifecycle import delete_runs, purge_runs, restore_runs

PROJECT = "purge"


class _Run:
    """The ids of a run written straight through the store."""

    def __init__(self, run_id: str, pk: int):
        self.id = run_id
        self._pk = pk


def _finished_run(run_id: str, steps: int = 5) -> _Run:
    store = tracking.open_store()
    pk = store.create_run(
        project=PROJECT,
        run_id=run_id,
        name=run_id,
        config={},
        tags=[],
        notes=None,
        group=None,
        job_type=None,
    )
    now = time.time()
    points = [(pk, "loss", step, 1.0 / (step + 1), now + step) for step in range(steps)]
    store.save_batch(pk, points, last_step=steps - 1)
    store.finish_run(pk, exit_code=0, summary={"loss": 1.0 / steps}, config={})
    return _Run(run_id, pk)


def _log_file_artifact(store, run_pk: int, tmp_path, name: str, content: str) -> int:
    source = tmp_path / f"{name}-{content}.txt"
    source.write_text(content)
    entry = store_copy(store.artifact_root, source)
    files = {"data.txt": entry}
    return store.add_artifact(
        run_pk,
        name=name,
        type="dataset",
        format="file",
        digest=content_digest(files),
        size=entry["size"],
        manifest={"files": files},
    )


def _count(store, table, **where) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with store.engine.connect() as conn:
        return conn.execute(query).scalar_one()


def test_delete_hides_and_restore_returns(store_location):
    kept, removed = _finished_run("kept"), _finished_run("removed")
    store = tracking.open_store()

    assert delete_runs(store, PROJECT, [removed.id]) == 1
    assert store.runs(PROJECT)["run_id"].tolist() == [kept.id]
    deleted = store.runs(PROJECT, deleted=True)
    assert deleted["run_id"].tolist() == [removed.id]
    assert deleted["deleted_at"].notna().all()
    assert sorted(store.runs(PROJECT, deleted=None)["run_id"]) == ["kept", "removed"]
    assert store.projects().set_index("project")["runs"][PROJECT] == 1
    # Deleting keeps every row: history is still there to restore.
    assert len(store.history(PROJECT, [removed.id])) == 5

    assert delete_runs(store, PROJECT, [removed.id]) == 0
    assert restore_runs(store, PROJECT, [removed.id]) == 1
    assert sorted(store.runs(PROJECT)["run_id"]) == ["kept", "removed"]
    assert store.runs(PROJECT, deleted=True).empty


def test_unknown_run_rejected(store_location):
    _finished_run("only")
    store = tracking.open_store()
    with pytest.raises(StoreError, match="'ghost'.*not found in project 'purge'"):
        delete_runs(store, PROJECT, ["only", "ghost"])
    assert store.runs(PROJECT)["deleted_at"].isna().all()


def test_purge_removes_rows_and_unshared_files(store_location, tmp_path):
    kept, purged = _finished_run("kept"), _finished_run("purged")
    store = tracking.open_store()
    kept_pk, purged_pk = kept._pk, purged._pk

    # Both runs store a file with the same content, under different artifact
    # names, so the blob is shared; the purged run also has a file of its own.
    _log_file_artifact(store, kept_pk, tmp_path, "kept-data", "shared")
    _log_file_artifact(store, purged_pk, tmp_path, "purged-data", "shared")
    _log_file_artifact(store, purged_pk, tmp_path, "purged-only", "private")
    shared_blob = _blob_of(store, "kept-data")
    private_blob = _blob_of(store, "purged-only")

    pointer = write_media(store.artifact_root, Histogram([1.0, 2.0, 2.0]))
    store.add_media(purged_pk, [("hist", 1, pointer, time.time())])
    media_file = store.artifact_root / pointer["path"]
    run_files = store.artifact_root / "runs" / str(purged_pk) / "files"
    run_files.mkdir(parents=True)
    (run_files / "notes.txt").write_text("saved with the run")
    with store.write() as conn, conn.begin():
        conn.execute(
            schema.history_rollup.insert().values(
                run_pk=purged_pk,
                key="loss",
                level=1,
                bucket=0,
                count=2,
                first_step=0,
                first_value=1.0,
                first_timestamp=0.0,
                last_step=1,
                last_value=0.5,
                last_timestamp=1.0,
            )
        )

    delete_runs(store, PROJECT, [purged.id])
    result = purge_runs(store, PROJECT, [purged.id])

    assert result.runs == 1
    assert result.history_rows == 5
    assert result.artifact_versions == 2
    assert store.runs(PROJECT, deleted=None)["run_id"].tolist() == [kept.id]
    assert _count(store, schema.history, run_pk=purged_pk) == 0
    assert _count(store, schema.history_rollup, run_pk=purged_pk) == 0
    assert _count(store, schema.media, run_pk=purged_pk) == 0
    assert _count(store, schema.artifacts, run_pk=purged_pk) == 0
    assert _count(store, schema.artifact_links, run_pk=purged_pk) == 0
    assert _count(store, schema.history, run_pk=kept_pk) == 5
    assert _count(store, schema.artifacts, run_pk=kept_pk) == 1
    collections = _collection_names(store)
    assert collections == ["kept-data"]

    assert shared_blob.exists()
    assert not private_blob.exists()
    assert not media_file.exists()
    assert not run_files.exists()
    assert private_blob in result.files_removed
    assert shared_blob not in result.files_removed


def test_purge_keeps_media_file_another_run_uses(store_location):
    kept, purged = _finished_run("kept"), _finished_run("purged")
    store = tracking.open_store()
    pointer = write_media(store.artifact_root, Histogram([3.0, 4.0]))
    store.add_media(kept._pk, [("hist", 0, pointer, time.time())])
    store.add_media(purged._pk, [("hist", 0, pointer, time.time())])

    purge_runs(store, PROJECT, [purged.id])

    assert (store.artifact_root / pointer["path"]).exists()
    assert len(store.media(PROJECT, kept.id)) == 1


def test_purge_moves_latest_to_remaining_version(store_location, tmp_path):
    first, second = _finished_run("first"), _finished_run("second")
    store = tracking.open_store()
    _log_file_artifact(store, first._pk, tmp_path, "model", "v0 content")
    _log_file_artifact(store, second._pk, tmp_path, "model", "v1 content")
    latest = artifact_store.resolve(store, PROJECT, "model", "latest")
    assert latest.version == 1

    purge_runs(store, PROJECT, [second.id])

    latest = artifact_store.resolve(store, PROJECT, "model", "latest")
    assert latest.version == 0
    assert [v.version for v in artifact_store.list_versions(store, PROJECT)] == [0]


def test_purge_rejects_artifact_used_elsewhere(store_location, tmp_path):
    producer, consumer = _finished_run("producer"), _finished_run("consumer")
    store = tracking.open_store()
    artifact_pk = _log_file_artifact(store, producer._pk, tmp_path, "data", "rows")
    artifact_store.link_input(store, consumer._pk, artifact_pk)
    blob = _blob_of(store, "data")

    with pytest.raises(StoreError, match="'data:v0'.*'consumer'.*purge those runs"):
        purge_runs(store, PROJECT, [producer.id])

    assert _count(store, schema.runs, run_id="producer") == 1
    assert _count(store, schema.history, run_pk=producer._pk) == 5
    assert blob.exists()

    # Purging both together is allowed.
    purge_runs(store, PROJECT, [producer.id, consumer.id])
    assert store.runs(PROJECT, deleted=None).empty
    assert not blob.exists()


def test_purge_rejects_running_run(store_location):
    run = _finished_run("live")
    store = tracking.open_store()
    store.reopen_run(run._pk)
    with pytest.raises(StoreError, match="'live' are still running"):
        purge_runs(store, PROJECT, [run.id])
    store.finish_run(run._pk, exit_code=0, summary={}, config={})
    purge_runs(store, PROJECT, [run.id])
    assert store.runs(PROJECT, deleted=None).empty


def test_purge_allows_crashed_run(store_location):
    run = _finished_run("stale")
    store = tracking.open_store()
    # A killed process leaves its run "running" with an old heartbeat.
    with store.write() as conn, conn.begin():
        conn.execute(
            update(schema.runs)
            .where(schema.runs.c.pk == run._pk)
            .values(state="running", heartbeat_at=time.time() - store.crash_after - 5)
        )
    assert store.run(PROJECT, "stale")["state"] == "crashed"
    assert purge_runs(store, PROJECT, ["stale"]).runs == 1


def _blob_of(store, name: str):
    frame = store.artifacts(PROJECT)
    manifest = frame.set_index("name")["manifest"][name]
    entry = manifest["files"]["data.txt"]
    return blob_path(store.artifact_root, entry["digest"], entry["suffix"])


def _collection_names(store) -> list[str]:
    table = schema.artifact_collections
    with store.engine.connect() as conn:
        return sorted(conn.execute(select(table.c.name)).scalars())
