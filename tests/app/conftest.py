"""Fixtures for the app tests."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture
def demo_copy(demo_store, tmp_path, monkeypatch) -> str:
    """A copy of the demo store that a test may change, set as RUNLENS_STORE."""
    location = tmp_path / "store"
    shutil.copytree(demo_store, location)
    monkeypatch.setenv("RUNLENS_STORE", str(location))
    monkeypatch.delenv("RUNLENS_ARTIFACTS", raising=False)
    return str(location)
