"""Schema migrations with Alembic, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select, text

import tracking
from tests.conftest import ROOT
from tracking import StoreError, migrate, schema
from tracking.store import RunStore

PROCESSES = 6


def _tables(store: RunStore) -> set[str]:
    with store.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_new_store_is_at_head(store_location):
    store = RunStore(store_location)
    with store.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
        versions = conn.execute(text("SELECT version_num FROM runlens_alembic_version"))
        assert versions.scalars().all() == [migrate.head_revision()]
    tables = _tables(store)
    assert "alembic_version" not in tables
    assert {table.name for table in schema.metadata.sorted_tables} <= tables


def test_migrated_schema_matches_tables(store_location):
    """Every change to tracking/schema.py needs a revision; this finds one missing."""
    store = RunStore(store_location)
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": migrate.include_runlens_tables}
        )
        differences = compare_metadata(context, schema.metadata)
    assert differences == []


def test_other_tools_tables_untouched():
    from tests.conftest import _drop_postgres_database, _postgres_database

    url = _postgres_database()
    try:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            conn.execute(text("INSERT INTO alembic_version VALUES ('othertool01')"))
            conn.execute(text("CREATE TABLE invoices (id INTEGER)"))
            conn.execute(text("INSERT INTO invoices VALUES (42)"))
        engine.dispose()

        store = RunStore(url)
        with store.engine.connect() as conn:
            other = conn.execute(text("SELECT version_num FROM alembic_version"))
            assert other.scalars().all() == ["othertool01"]
            invoices = conn.execute(text("SELECT id FROM invoices"))
            assert invoices.scalars().all() == [42]
            assert migrate.current_revision(conn) == migrate.head_revision()
        store.engine.dispose()
    finally:
        _drop_postgres_database(url)


def _open_store(location: str, barrier) -> None:
    barrier.wait(60)
    RunStore(location).engine.dispose()


def test_many_first_starts_create_schema_once(store_location):
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    processes = [
        context.Process(target=_open_store, args=(store_location, barrier))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [process.exitcode for process in processes] == [0] * PROCESSES

    store = RunStore(store_location)
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(func.count()).select_from(schema.schema_version)
        ).scalar_one()
        versions = conn.execute(text("SELECT version_num FROM runlens_alembic_version"))
        assert versions.scalars().all() == [migrate.head_revision()]
    assert rows == 1


def test_unknown_revision_rejected(store_location):
    store = RunStore(store_location)
    with store.write() as conn, conn.begin():
        conn.execute(text("UPDATE runlens_alembic_version SET version_num = '9999'"))
    with pytest.raises(
        StoreError,
        match=r"schema revision '9999', written by a newer Runlens; this Runlens "
        rf"has revisions up to '{migrate.head_revision()}'",
    ):
        RunStore(store_location)


def _store_without_migrations(store_location: str, *, drop_reports: bool) -> RunStore:
    """Make a store as a build before migrations did: create_all, no version table."""
    url, _ = tracking.store.resolve_location(store_location)
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url[len("sqlite:///") :]), exist_ok=True)
    engine = create_engine(url)
    with engine.begin() as conn:
        schema.metadata.create_all(conn)
        conn.execute(schema.schema_version.insert().values(version=1, written_by="dev"))
        if drop_reports:
            conn.execute(text("DROP TABLE runlens_reports"))
    engine.dispose()
    return url


def test_store_before_migrations_is_stamped(store_location):
    _store_without_migrations(store_location, drop_reports=False)
    store = RunStore(store_location)
    with store.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()


def test_different_store_before_migrations_rejected(store_location):
    url = _store_without_migrations(store_location, drop_reports=True)
    with pytest.raises(
        StoreError, match="no runlens_alembic_version table.*add_table runlens_reports"
    ):
        RunStore(store_location)
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert "runlens_reports" not in tables
    assert "runlens_alembic_version" not in tables


def test_history_keys_with_many_run_ids(store_location):
    store = RunStore(store_location)
    run_ids = [f"run-{index:04d}" for index in range(2500)]
    pks = {}
    for run_id in run_ids[::500] + [run_ids[-1]]:
        pks[run_id] = store.create_run(
            project="many",
            run_id=run_id,
            name=run_id,
            config={},
            tags=[],
            notes=None,
            group=None,
            job_type=None,
        )
        store.save_batch(pks[run_id], [(pks[run_id], f"key-{run_id}", 0, 1.0, 0.0)])

    # The last run id is past the first 900 of the IN (...) list.
    expected = sorted(f"key-{run_id}" for run_id in pks)
    assert store.history_keys("many", run_ids) == expected
    history = store.history("many", run_ids)
    assert sorted(history["key"]) == expected


def test_unreachable_postgres_fails_plainly(tmp_path):
    """A PostgreSQL test fails, not skips, with a message saying why."""
    test_file = tmp_path / "test_needs_postgres.py"
    test_file.write_text(
        textwrap.dedent(
            """
            def test_store(store_location):
                pass
            """
        )
    )
    env = dict(os.environ)
    env["RUNLENS_TEST_POSTGRES"] = "postgresql+psycopg://127.0.0.1:1/test"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(ROOT),
            # The file sits outside tests/, so load the fixtures as a plugin.
            "-p",
            "tests.conftest",
            str(test_file),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # A fixture that fails reports an error: the run fails either way.
    assert result.returncode == 1
    assert "1 passed, 1 error" in result.stdout
    assert "skipped" not in result.stdout
    assert "PostgreSQL at postgresql+psycopg://127.0.0.1:1/test is not reachable" in (
        result.stdout
    )
