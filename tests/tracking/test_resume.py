"""Resuming runs: W&B's modes, continued steps, reloaded config and summary."""

from __future__ import annotations

import pytest

import tracking
from tracking import UsageError
from tracking.resume import RESUME_FILE


def _first_run(project="res", run_id="r1", steps=3):
    run = tracking.init(
        project=project,
        id=run_id,
        config={"lr": 0.1, "layers": [8, 4]},
        tags=["a"],
        notes="first",
    )
    run.define_metric("loss", summary="min,mean")
    for step in range(steps):
        run.log({"loss": 10.0 - step, "epoch": step})
    run.summary["best"] = 7.0
    run.finish(exit_code=1)
    return run


def _rows(run_id, project="res"):
    frame = tracking.open_store().history(project, [run_id])
    return {
        (int(record.step), record.key): record.value for record in frame.itertuples()
    }


def test_resume_continues_at_last_step(store_location):
    _first_run()
    run = tracking.init(project="res", id="r1", resume="must")
    assert run.resumed
    assert run.step == 3
    assert run.starting_step == 3
    assert run.config.lr == 0.1
    assert run.config.layers == [8, 4]
    assert run.summary["best"] == 7.0
    assert run.summary["epoch"] == 2
    assert tracking.open_store().run("res", "r1")["state"] == "running"

    run.log({"loss": 5.0, "epoch": 3})
    run.finish()
    record = tracking.open_store().run("res", "r1")
    assert record["state"] == "finished"
    assert record["exit_code"] == 0
    assert record["finished_at"] is not None
    rows = _rows("r1")
    assert rows[(3, "loss")] == 5.0
    assert sorted({step for step, _ in rows}) == [0, 1, 2, 3]


def test_aggregates_continue_after_resume(store_location):
    _first_run()
    run = tracking.init(project="res", id="r1", resume="allow")
    assert run.summary["loss"] == {"min": 8.0, "mean": 9.0}
    run.log({"loss": 2.0})
    assert run.summary["loss"] == {"min": 2.0, "mean": 7.25}
    run.finish()
    assert tracking.open_store().run("res", "r1")["summary"]["loss"] == {
        "min": 2.0,
        "mean": 7.25,
    }


def test_step_below_resume_point_refused(store_location, caplog):
    _first_run()
    run = tracking.init(project="res", id="r1", resume="allow")
    run.log({"loss": 99.0}, step=1)
    run.finish()
    assert "step 1 that is less than the current step 3" in caplog.text
    assert _rows("r1")[(1, "loss")] == 9.0


def test_must_without_existing_run_raises(store_location):
    with pytest.raises(UsageError, match="run 'ghost' does not exist.*resume='allow'"):
        tracking.init(project="res", id="ghost", resume="must")


def test_must_without_id_raises(sqlite_store, monkeypatch):
    monkeypatch.delenv("WANDB_RUN_ID", raising=False)
    with pytest.raises(UsageError, match="needs the id"):
        tracking.init(project="res", resume="must")


def test_never_with_existing_run_raises(store_location):
    _first_run()
    with pytest.raises(UsageError, match="run 'r1' already exists.*another id"):
        tracking.init(project="res", id="r1", resume="never")


def test_never_and_allow_create_missing_run(store_location):
    for mode, run_id in (("never", "n1"), ("allow", "a1")):
        run = tracking.init(project="res", id=run_id, resume=mode)
        assert not run.resumed
        assert run.step == 0
        run.finish()
        assert tracking.open_store().run("res", run_id)["state"] == "finished"


def test_no_resume_keeps_duplicate_error(sqlite_store):
    _first_run()
    for resume in (None, False):
        with pytest.raises(tracking.StoreError, match="'r1' already exists"):
            tracking.init(project="res", id="r1", resume=resume)


def test_invalid_resume_value_rejected(sqlite_store):
    with pytest.raises(ValueError, match="resume must be one of"):
        tracking.init(project="res", resume="sometimes")


def test_given_metadata_replaces_stored(store_location):
    _first_run()
    run = tracking.init(project="res", id="r1", resume="allow", tags=["b"])
    assert run.tags == ("b",)
    assert run.notes == "first"
    run.tags += ("c",)
    run.finish()
    record = tracking.open_store().run("res", "r1")
    assert record["tags"] == ["b", "c"]
    assert record["notes"] == "first"


def test_changed_config_warns(sqlite_store, caplog):
    _first_run()
    run = tracking.init(project="res", id="r1", resume="allow", config={"lr": 0.5})
    assert run.config.lr == 0.5
    assert "changes the stored values of lr" in caplog.text
    run.finish()


def test_environment_variables_resume(store_location, monkeypatch):
    _first_run()
    monkeypatch.setenv("WANDB_RUN_ID", "r1")
    monkeypatch.setenv("WANDB_RESUME", "must")
    run = tracking.init(project="res")
    assert run.id == "r1"
    assert run.step == 3
    run.finish()


def test_auto_resumes_crashed_run_of_folder(store_location, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_RUN_ID", raising=False)
    first = tracking.init(project="auto", resume="auto", dir=tmp_path)
    first.log({"x": 1})
    first.finish(exit_code=1)
    assert (tmp_path / "runlens" / RESUME_FILE).exists()

    second = tracking.init(project="auto", resume="auto", dir=tmp_path)
    assert second.id == first.id
    assert second.resumed
    assert second.step == 1
    second.finish()
    assert not (tmp_path / "runlens" / RESUME_FILE).exists()

    third = tracking.init(project="auto", resume="auto", dir=tmp_path)
    assert third.id != first.id
    assert not third.resumed
    third.finish()


def test_resume_true_means_auto(sqlite_store, tmp_path, caplog):
    first = tracking.init(project="auto", id="t1", resume=True, dir=tmp_path)
    first.finish(exit_code=1)
    assert "deprecated" in caplog.text
    second = tracking.init(project="auto", resume=True, dir=tmp_path)
    assert second.id == "t1"
    assert second.resumed
    second.finish()


def test_disabled_mode_ignores_resume(sqlite_store):
    run = tracking.init(project="res", id="nowhere", resume="must", mode="disabled")
    assert not run.resumed
    run.finish()
