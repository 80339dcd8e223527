"""Tags, notes and group edited from code or the store, and files kept by run.save."""

from __future__ import annotations

import os

import pytest

import tracking
from tracking.files import run_files_dir


def test_meta_edited_from_code_is_stored(store_location):
    run = tracking.init(project="meta", tags=["a"], notes="n0", group="g0")
    run.tags += ("b",)
    run.notes = "n1"
    run.group = "g1"
    run.name = "renamed"
    assert run.tags == ("a", "b")
    record = tracking.open_store().run("meta", run.id)
    assert record["tags"] == ["a", "b"]
    assert record["notes"] == "n1"
    assert record["group"] == "g1"
    assert record["name"] == "renamed"
    run.notes = None
    run.finish()
    assert tracking.open_store().run("meta", run.id)["notes"] is None


def test_update_run_meta_changes_only_given(store_location):
    run = tracking.init(project="meta", tags=["a"], notes="keep", group="g")
    run.finish()
    store = tracking.open_store()
    store.update_run_meta("meta", run.id, tags=["x", "y", "x"], group=None)
    record = store.run("meta", run.id)
    assert record["tags"] == ["x", "y"]
    assert record["group"] is None
    assert record["notes"] == "keep"
    assert record["state"] == "finished"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tags": "ab"}, "list of strings"),
        ({"tags": [1]}, "list of strings"),
        ({"tags": [""]}, "1 to 64"),
        ({"tags": ["x" * 65]}, "1 to 64"),
        ({"notes": 3}, "notes"),
        ({"name": " "}, "run name"),
        ({"group": "g" * 257}, "group"),
    ],
)
def test_update_run_meta_rejects_invalid(sqlite_store, changes, message):
    run = tracking.init(project="meta")
    with pytest.raises(ValueError, match=message):
        tracking.open_store().update_run_meta("meta", run.id, **changes)
    with pytest.raises(ValueError, match=message):
        for key, value in changes.items():
            setattr(run, key, value)
    run.finish()


def test_update_run_meta_unknown_run(sqlite_store):
    tracking.init(project="meta").finish()
    with pytest.raises(tracking.StoreError, match="not found"):
        tracking.open_store().update_run_meta("meta", "nope", notes="x")


def test_save_keeps_relative_folders(store_location, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ckpt" / "inner").mkdir(parents=True)
    (tmp_path / "ckpt" / "a.txt").write_text("a")
    (tmp_path / "ckpt" / "inner" / "b.txt").write_text("b")
    run = tracking.init(project="files")
    copied = run.save("ckpt/*.txt")
    assert len(copied) == 1
    run.save("ckpt/inner/b.txt", policy="now")
    run.finish()
    api_run = tracking.Api().run(f"files/{run.id}")
    assert api_run.files() == ["ckpt/a.txt", "ckpt/inner/b.txt"]
    folder = run_files_dir(
        tracking.open_store().artifact_root, run.store.run("files", run.id)["pk"]
    )
    assert (folder / "ckpt" / "a.txt").read_text() == "a"


def test_save_live_and_end_copy_final_contents(sqlite_store, tmp_path):
    (tmp_path / "log.txt").write_text("start")
    (tmp_path / "late.txt").write_text("late-start")
    run = tracking.init(project="files")
    run.save(tmp_path / "log.txt", base_path=tmp_path)
    run.save(tmp_path / "late.txt", base_path=tmp_path, policy="end")
    (tmp_path / "log.txt").write_text("final")
    (tmp_path / "late.txt").write_text("late-final")
    run.finish()
    api_run = tracking.Api().run(f"files/{run.id}")
    folder = api_run.files_dir()
    assert (folder / "log.txt").read_text() == "final"
    assert (folder / "late.txt").read_text() == "late-final"


def test_save_absolute_glob_keeps_last_folder(sqlite_store, tmp_path, caplog):
    (tmp_path / "deep" / "models").mkdir(parents=True)
    (tmp_path / "deep" / "models" / "m.bin").write_bytes(b"\x00\x01")
    run = tracking.init(project="files")
    run.save(str(tmp_path / "deep" / "models" / "*.bin"))
    run.finish()
    assert tracking.Api().run(f"files/{run.id}").files() == ["models/m.bin"]
    assert "base_path" in caplog.text


@pytest.mark.parametrize(
    ("glob_str", "base", "message"),
    [
        ("/etc/passwd", "/tmp", "outside base_path"),
        ("{base}/*", "{base}", "may not start with"),
        ("{base}", "{base}", "below base_path"),
    ],
)
def test_save_rejects_globs_outside_base(
    sqlite_store, tmp_path, glob_str, base, message
):
    run = tracking.init(project="files")
    with pytest.raises(ValueError, match=message):
        run.save(glob_str.format(base=tmp_path), base_path=base.format(base=tmp_path))
    run.finish()


def test_save_rejects_unknown_policy(sqlite_store, tmp_path):
    run = tracking.init(project="files")
    with pytest.raises(ValueError, match="policy must be one of"):
        run.save(tmp_path / "x", base_path=tmp_path, policy="sometimes")
    run.finish()


def test_save_copies_symlink_contents(sqlite_store, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    base = tmp_path / "base"
    base.mkdir()
    os.symlink(outside, base / "link.txt")
    run = tracking.init(project="files")
    run.save(base / "*.txt", base_path=base.parent)
    run.finish()
    api_run = tracking.Api().run(f"files/{run.id}")
    assert api_run.files() == ["base/link.txt"]
    target = api_run.files_dir() / "base" / "link.txt"
    assert not target.is_symlink()
    assert target.read_text() == "secret"


def test_module_level_save(sqlite_store, tmp_path):
    (tmp_path / "f.txt").write_text("x")
    run = tracking.init(project="files")
    assert tracking.save(str(tmp_path / "f.txt"), base_path=str(tmp_path)) != []
    run.finish()
