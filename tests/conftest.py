"""Fixtures shared by every test: an isolated store per test, on each back end."""

from __future__ import annotations

import importlib.util
import os
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ENV = "RUNLENS_TEST_POSTGRES"
DEFAULT_POSTGRES = "postgresql+psycopg://127.0.0.1:5432/test"


def postgres_admin_url() -> str:
    return os.environ.get(POSTGRES_ENV, DEFAULT_POSTGRES)


def _postgres_database() -> str:
    """Create an empty PostgreSQL database for one test and return its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(postgres_admin_url())
    name = f"runlens_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - reported as a test failure below
        pytest.fail(
            f"PostgreSQL at {admin.render_as_string(hide_password=True)} is not "
            f"reachable ({exc}); start it or set {POSTGRES_ENV} to a server URL"
        )
    finally:
        engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tracking import store as store_module

    for cached in list(store_module._stores.values()):
        if cached.url == url:
            cached.engine.dispose()
    store_module._stores.pop(url, None)
    name = make_url(url).database
    engine = create_engine(make_url(postgres_admin_url()), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request, tmp_path, monkeypatch):
    """A fresh store location, set as RUNLENS_STORE, on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        location = str(tmp_path / "store")
        monkeypatch.setenv("RUNLENS_STORE", location)
        monkeypatch.delenv("RUNLENS_ARTIFACTS", raising=False)
        yield location
        return
    location = _postgres_database()
    monkeypatch.setenv("RUNLENS_STORE", location)
    monkeypatch.setenv("RUNLENS_ARTIFACTS", str(tmp_path / "artifacts"))
    yield location
    _finish_active_runs()
    _drop_postgres_database(location)


@pytest.fixture
def sqlite_store(tmp_path, monkeypatch):
    """A fresh SQLite store folder, set as RUNLENS_STORE."""
    location = str(tmp_path / "store")
    monkeypatch.setenv("RUNLENS_STORE", location)
    monkeypatch.delenv("RUNLENS_ARTIFACTS", raising=False)
    return location


def _finish_active_runs() -> None:
    from tracking import _state

    for run in list(_state._active):
        run.finish(exit_code=1, quiet=True)
    _state.last_finished = None


@pytest.fixture(autouse=True)
def _finish_leftover_runs():
    """Finish runs a failing test left open, so tests do not leak state."""
    yield
    _finish_active_runs()


def load_demo_module():
    """Import examples/train_adult.py by path, as the app does."""
    spec = importlib.util.spec_from_file_location(
        "runlens_demo", ROOT / "examples" / "train_adult.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> str:
    """A SQLite store folder holding the quick demo's runs, made once."""
    location = str(tmp_path_factory.mktemp("demo") / "store")
    load_demo_module().train_demo(quick=True, store=location)
    return location


@pytest.fixture
def demo_env(demo_store, monkeypatch) -> str:
    """The demo store set as RUNLENS_STORE, with pickle uploads off."""
    monkeypatch.setenv("RUNLENS_STORE", demo_store)
    monkeypatch.delenv("RUNLENS_ALLOW_PICKLE", raising=False)
    return demo_store
