"""Fixtures for the app tests."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from tests.conftest import ROOT


@pytest.fixture
def demo_copy(demo_store, tmp_path, monkeypatch) -> str:
    """A copy of the demo store that a test may change, set as RUNLENS_STORE."""
    location = tmp_path / "store"
    shutil.copytree(demo_store, location)
    monkeypatch.setenv("RUNLENS_STORE", str(location))
    monkeypatch.delenv("RUNLENS_ARTIFACTS", raising=False)
    return str(location)


@pytest.fixture(scope="session")
def digits_store(tmp_path_factory) -> str:
    """A SQLite store folder holding a quick run of the digits CNN example."""
    spec = importlib.util.spec_from_file_location(
        "runlens_digits_cnn", ROOT / "examples" / "train_digits_cnn.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    location = str(tmp_path_factory.mktemp("digits") / "store")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNLENS_STORE", location)
        patch.delenv("RUNLENS_ARTIFACTS", raising=False)
        module.train_digits_cnn(quick=True)
    return location


@pytest.fixture
def digits_env(digits_store, monkeypatch) -> str:
    """The digits store set as RUNLENS_STORE."""
    monkeypatch.setenv("RUNLENS_STORE", digits_store)
    monkeypatch.delenv("RUNLENS_ARTIFACTS", raising=False)
    return digits_store
