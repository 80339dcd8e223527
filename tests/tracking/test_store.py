"""The store: locations, schema checks, crashed runs and the read API."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time

import pandas as pd
import pytest
from sqlalchemy import update

import tracking
from tracking import StoreError, schema
from tracking.store import RunStore, resolve_location


def test_default_location_is_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RUNLENS_STORE", raising=False)
    url, artifacts = resolve_location()
    assert url == f"sqlite:///{tmp_path / 'runlens' / 'runlens.db'}"
    assert artifacts == tmp_path / "runlens" / "artifacts"


def test_sqlite_url_keeps_artifacts_beside_database(tmp_path, monkeypatch):
    monkeypatch.delenv("RUNLENS_ARTIFACTS", raising=False)
    url, artifacts = resolve_location(f"sqlite:///{tmp_path}/team.db")
    assert url.endswith("team.db")
    assert artifacts == tmp_path / "artifacts"


def test_sqlite_runs_in_wal_mode(sqlite_store):
    store = RunStore(sqlite_store)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_file_as_folder_rejected(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(StoreError, match="is a file, not a folder"):
        RunStore(path)


def test_foreign_sqlite_database_not_replaced(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    connection = sqlite3.connect(folder / "runlens.db")
    connection.execute("CREATE TABLE invoices (id INTEGER)")
    connection.execute("INSERT INTO invoices VALUES (42)")
    connection.commit()
    connection.close()

    with pytest.raises(StoreError, match="another program.*invoices"):
        RunStore(folder)

    connection = sqlite3.connect(folder / "runlens.db")
    assert connection.execute("SELECT id FROM invoices").fetchall() == [(42,)]
    tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
    connection.close()
    assert tables == [("invoices",)]


def test_garbage_file_reported(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    (folder / "runlens.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open store"):
        RunStore(folder)
    assert (folder / "runlens.db").read_bytes().startswith(b"this is not")


def test_newer_schema_refused(store_location):
    store = RunStore(store_location)
    with store.write() as conn, conn.begin():
        conn.execute(update(schema.schema_version).values(version=99))
    with pytest.raises(StoreError, match="schema version 99.*reads version 1"):
        RunStore(store_location)


def test_crashed_run_detected(store_location):
    run = tracking.init(project="crash")
    run.log({"a": 1})
    run._writer.flush()
    store = run.store
    assert store.runs("crash")["state"].tolist() == ["running"]

    stale = time.time() - store.crash_after - 1
    with store.write() as conn, conn.begin():
        conn.execute(
            update(schema.runs)
            .where(schema.runs.c.pk == run._pk)
            .values(heartbeat_at=stale)
        )
    assert store.runs("crash")["state"].tolist() == ["crashed"]
    assert store.run("crash", run.id)["state"] == "crashed"
    run.finish()
    assert store.run("crash", run.id)["state"] == "finished"


def _killed_writer(location: str, ready) -> None:
    import os

    os.environ["RUNLENS_STORE"] = location
    import tracking as wandb

    run = wandb.init(project="crash", id="killed")
    run.log({"a": 1})
    run._writer.flush()
    ready.set()
    time.sleep(60)


def test_killed_process_reads_as_crashed(sqlite_store):
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(target=_killed_writer, args=(sqlite_store, ready))
    process.start()
    assert ready.wait(60)
    process.kill()
    process.join()

    store = RunStore(sqlite_store, crash_after=0.5)
    time.sleep(0.6)
    record = store.run("crash", "killed")
    assert record["state"] == "crashed"
    assert store.history("crash", ["killed"])["value"].tolist() == [1.0]


def test_runs_frame_has_config_and_summary_columns(store_location):
    with tracking.init(project="table", config={"lr": 0.1, "opt": {"m": 0.9}}) as run:
        run.log({"loss": 0.5})
    frame = tracking.open_store().runs("table")
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["config.lr"] == 0.1
    assert row["config.opt.m"] == 0.9
    assert row["summary.loss"] == 0.5
    assert row["state"] == "finished"
    assert row["duration"] >= 0
    assert isinstance(row["created_at"], pd.Timestamp)


def test_projects_counts_runs(store_location):
    for project in ("a", "a", "b"):
        tracking.init(project=project, reinit="finish_previous").finish()
    frame = tracking.open_store().projects()
    assert frame.set_index("project")["runs"].to_dict() == {"a": 2, "b": 1}


def test_empty_store_reads(store_location):
    store = tracking.open_store()
    assert store.projects().empty
    assert store.runs("none").empty
    assert store.history("none", ["x"]).empty
    assert store.artifacts("none").empty


def test_history_filters_keys(store_location):
    with tracking.init(project="keys") as run:
        for step in range(3):
            run.log({"a": step, "b": -step})
    store = tracking.open_store()
    frame = store.history("keys", [run.id], keys=["b"])
    assert frame["key"].unique().tolist() == ["b"]
    assert frame["value"].tolist() == [0.0, -1.0, -2.0]
    assert store.history_keys("keys", [run.id]) == ["a", "b"]


def _log_many(location: str, index: int) -> None:
    import os

    os.environ["RUNLENS_STORE"] = location
    import tracking as wandb

    with wandb.init(project="many", id=f"writer-{index}") as run:
        for step in range(2000):
            run.log({"x": step, "y": index})


def test_concurrent_writers_lose_nothing(store_location):
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_log_many, args=(store_location, index))
        for index in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0

    store = RunStore(store_location)
    frame = store.runs("many")
    assert sorted(frame["state"]) == ["finished"] * 4
    history = store.history("many", frame["run_id"])
    assert len(history) == 4 * 2000 * 2
    counts = history.groupby("run_id").size()
    assert counts.tolist() == [4000] * 4
