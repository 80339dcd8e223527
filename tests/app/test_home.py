"""The home page: store, counts and the demo button."""

from __future__ import annotations

import tracking
from tests.app.helpers import metric_values, open_page


def test_home_shows_store_and_counts(demo_env):
    app = open_page()
    assert not app.exception
    assert metric_values(app) == {"Projects": "1", "Runs": "4"}
    assert any(demo_env in caption.value for caption in app.caption)


def test_empty_store_creates_demo(tmp_path, monkeypatch):
    location = str(tmp_path / "store")
    monkeypatch.setenv("RUNLENS_STORE", location)
    app = open_page()
    assert metric_values(app) == {"Projects": "0", "Runs": "0"}

    app.checkbox(key="demo_quick").check().run()
    app.button(key="create_demo").click().run()
    assert not app.exception
    assert [error.value for error in app.error] == []
    assert "Created 4 runs in project 'adult-income'" in app.success[0].value

    runs = tracking.open_store(location).runs("adult-income")
    assert runs["state"].tolist() == ["finished"] * 4
    assert runs["summary.test_accuracy"].min() > 0.8


def test_unusable_store_reported(tmp_path, monkeypatch):
    path = tmp_path / "not-a-folder"
    path.write_text("x")
    monkeypatch.setenv("RUNLENS_STORE", str(path))
    app = open_page()
    assert not app.exception
    assert "is a file, not a folder" in app.error[0].value
