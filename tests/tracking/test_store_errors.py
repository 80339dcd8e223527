"""Clear errors for store locations and keys that a back end cannot hold."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest

import tracking
from tracking.errors import StoreError
from tracking.store import RunStore, resolve_location
from tracking.values import MAX_KEY_LENGTH

LONG_KEY = "k" * (MAX_KEY_LENGTH + 1)


# Store locations


def test_unknown_home_user_named(monkeypatch):
    location = "~runlens-no-such-user/store"
    with pytest.raises(StoreError) as raised:
        RunStore(location)
    message = str(raised.value)
    assert repr(location) in message
    assert "'~runlens-no-such-user'" in message
    assert "full path" in message
    assert not isinstance(raised.value.__cause__, StoreError)


@pytest.fixture
def read_only_parent(tmp_path):
    """A store folder whose parent cannot be written, even by root."""
    if os.geteuid() != 0:
        parent = tmp_path / "locked"
        parent.mkdir()
        parent.chmod(0o555)
        yield parent / "store"
        parent.chmod(0o755)
        return
    # Root ignores permission bits, but sysfs rejects new folders for everyone.
    yield Path("/sys/runlens-test-read-only/store")


def test_read_only_parent_named(read_only_parent):
    with pytest.raises(StoreError) as raised:
        RunStore(read_only_parent)
    message = str(raised.value)
    assert str(read_only_parent.parent) in message
    assert "Choose a writable location in RUNLENS_STORE" in message
    assert isinstance(raised.value.__cause__, OSError)


def test_folder_as_database_file(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    url = f"sqlite:///{folder}"
    with pytest.raises(StoreError) as raised:
        RunStore(url)
    message = str(raised.value)
    assert repr(url) in message
    assert "not a database file" in message
    assert f"sqlite:///{folder / 'runlens.db'}" in message


def test_file_as_store_folder(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a store")
    with pytest.raises(StoreError, match="is a file, not a folder"):
        RunStore(path)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite_rejected(url):
    with pytest.raises(StoreError) as raised:
        RunStore(url)
    message = str(raised.value)
    assert repr(url) in message
    assert "in-memory SQLite database" in message
    assert "sqlite:////path/to/runs.db" in message


def test_in_memory_sqlite_rejected_from_env(monkeypatch):
    monkeypatch.setenv("RUNLENS_STORE", "sqlite://")
    with pytest.raises(StoreError, match="in-memory SQLite"):
        tracking.init(project="p")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_postgres_port_without_server():
    port = _closed_port()
    url = f"postgresql+psycopg://runlens:secret@127.0.0.1:{port}/test"
    with pytest.raises(StoreError) as raised:
        RunStore(url)
    message = str(raised.value)
    assert f"127.0.0.1:{port}" in message
    assert "Connection refused" in message or "connection refused" in message
    assert "Start the server" in message
    assert "secret" not in message
    assert "\n" not in message


# Keys


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({LONG_KEY: 1.0}, f"is {MAX_KEY_LENGTH + 1} characters long"),
        ({"outer": {"k" * MAX_KEY_LENGTH: 1.0}}, "characters long"),
        ({"a\x00b": 1.0}, "contains a NUL character"),
        ({"outer": {"a\x00b": 1.0}}, "contains a NUL character"),
    ],
)
def test_log_rejects_bad_keys(store_location, row, expected):
    run = tracking.init(project="keys")
    with pytest.raises(ValueError, match=expected) as raised:
        run.log(row)
    assert "metric name" in str(raised.value)
    assert str(MAX_KEY_LENGTH) in str(raised.value) or "NUL" in str(raised.value)
    run.log({"k" * MAX_KEY_LENGTH: 2.0})
    run.finish()
    history = tracking.open_store().history("keys", [run.id])
    assert history["key"].tolist() == ["k" * MAX_KEY_LENGTH]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (LONG_KEY, f"at most {MAX_KEY_LENGTH}"),
        ("a\x00b", "contains a NUL character"),
    ],
)
def test_config_rejects_bad_keys(store_location, key, expected):
    with pytest.raises(ValueError, match=expected):
        tracking.init(project="keys", config={key: 1})
    run = tracking.init(project="keys", config={"lr": 0.1})
    with pytest.raises(ValueError, match=re.escape(f"config key {repr(key)[:8]}")):
        run.config.update({key: 1})
    with pytest.raises(ValueError, match=expected):
        run.config[key] = 1
    run.finish()
    assert tracking.open_store().run("keys", run.id)["config"] == {"lr": 0.1}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (LONG_KEY, f"at most {MAX_KEY_LENGTH}"),
        ("a\x00b", "contains a NUL character"),
    ],
)
def test_summary_rejects_bad_keys(store_location, key, expected):
    run = tracking.init(project="keys")
    with pytest.raises(ValueError, match=re.escape(f"summary key {repr(key)[:8]}")):
        run.summary[key] = 1
    with pytest.raises(ValueError, match=expected):
        run.summary.update({"fine": 1, key: 2})
    # A rejected update changes nothing, not even its valid keys.
    assert "fine" not in run.summary
    run.summary["best"] = 0.5
    run.finish()
    assert tracking.open_store().run("keys", run.id)["summary"] == {"best": 0.5}


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_store_variable_means_the_default_folder(tmp_path, monkeypatch, blank):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNLENS_STORE", blank)
    url, artifacts = resolve_location()
    assert url == f"sqlite:///{tmp_path / 'runlens' / 'runlens.db'}"
    assert resolve_location(blank) == (url, artifacts)
    assert not (tmp_path / blank).exists() or blank == ""
