"""Run lifecycle, W&B's step and commit rules, and module-level calls."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import tracking
from tracking import UsageError


def _rows(store, project, run_id):
    """History as {step: {key: value}}."""
    frame = store.history(project, [run_id])
    rows: dict[int, dict[str, float]] = {}
    for record in frame.itertuples():
        rows.setdefault(record.step, {})[record.key] = record.value
    return rows


def test_step_and_commit_rules_match_wandb_trace(store_location, caplog):
    run = tracking.init(project="steps")
    tracking.log({"loss": 3, "acc": 0.1})
    tracking.log({"loss": 1}, commit=False)
    tracking.log({"acc": 0.5})
    tracking.log({"loss": 2, "acc": 0.3}, step=5)
    tracking.log({"x": 1}, step=5)
    tracking.log({"loss": 9}, step=3)
    tracking.log({"loss": 4})
    tracking.log({"nested": {"m": 1, "n": {"o": 2}}})
    assert run.step == 7
    tracking.finish()

    rows = _rows(run.store, "steps", run.id)
    assert rows == {
        0: {"loss": 3.0, "acc": 0.1},
        1: {"loss": 1.0, "acc": 0.5},
        5: {"loss": 4.0, "acc": 0.3, "x": 1.0},
        6: {"nested.m": 1.0, "nested.n.o": 2.0},
    }
    assert "less than the current step 5" in caplog.text


def test_larger_step_flushes_pending_row(sqlite_store):
    run = tracking.init(project="steps")
    run.log({"a": 1}, commit=False)
    run.log({"b": 2}, step=4)
    run.log({"c": 3}, step=4, commit=True)
    run.log({"d": 4})
    run.finish()
    assert _rows(run.store, "steps", run.id) == {
        0: {"a": 1.0},
        4: {"b": 2.0, "c": 3.0},
        5: {"d": 4.0},
    }


def test_finish_flushes_pending_row(sqlite_store):
    run = tracking.init(project="steps")
    run.log({"a": 1}, step=2)
    run.finish()
    assert _rows(run.store, "steps", run.id) == {2: {"a": 1.0}}


def test_nan_and_inf_round_trip(store_location):
    run = tracking.init(project="values")
    run.log({"nan": float("nan"), "pinf": math.inf, "ninf": -math.inf})
    run.log({"nan": np.float32(0.25), "pinf": np.int64(7), "ninf": np.bool_(True)})
    run.finish()

    frame = run.store.history("values", [run.id]).set_index(["key", "step"])
    assert math.isnan(frame.loc[("nan", 0), "value"])
    assert frame.loc[("pinf", 0), "value"] == math.inf
    assert frame.loc[("ninf", 0), "value"] == -math.inf
    assert frame.loc[("nan", 1), "value"] == 0.25
    assert frame.loc[("pinf", 1), "value"] == 7.0
    assert frame.loc[("ninf", 1), "value"] == 1.0

    summary = run.store.run("values", run.id)["summary"]
    assert summary == {"nan": 0.25, "pinf": 7, "ninf": True}


def test_non_finite_summary_round_trips(store_location):
    run = tracking.init(project="values")
    run.log({"loss": float("nan"), "best": -math.inf})
    run.finish()
    summary = run.store.run("values", run.id)["summary"]
    assert math.isnan(summary["loss"])
    assert summary["best"] == -math.inf


@pytest.mark.parametrize(
    "value", ["text", [1, 2], None, np.zeros(3), object()], ids=repr
)
def test_log_rejects_non_numbers_naming_key(sqlite_store, value):
    run = tracking.init(project="values")
    with pytest.raises(TypeError, match="'group.bad'"):
        run.log({"ok": 1, "group": {"bad": value}})
    run.finish()


def test_log_rejects_non_mapping(sqlite_store):
    run = tracking.init(project="values")
    with pytest.raises(TypeError, match="dict of metrics"):
        run.log([("a", 1)])
    run.finish()


def test_log_before_init_raises():
    with pytest.raises(UsageError, match=r"call tracking.init\(\) before tracking.log"):
        tracking.log({"a": 1})


def test_log_after_finish_raises(sqlite_store):
    run = tracking.init(project="life")
    run.finish()
    with pytest.raises(UsageError, match="is finished"):
        tracking.log({"a": 1})
    with pytest.raises(UsageError, match="is finished"):
        run.log({"a": 1})


def test_config_and_summary_before_init_raise():
    with pytest.raises(UsageError, match="before using tracking.config"):
        tracking.config["lr"]
    with pytest.raises(UsageError, match="before using tracking.summary"):
        tracking.summary["x"] = 1


def test_module_level_objects_follow_current_run(sqlite_store):
    run = tracking.init(project="life", config={"lr": 0.1})
    assert tracking.run is run
    assert tracking.config is run.config
    assert tracking.summary is run.summary
    assert tracking.config.lr == 0.1
    tracking.finish()
    assert tracking.run is None


def test_context_manager_marks_failure(sqlite_store):
    with pytest.raises(ValueError):
        with tracking.init(project="life") as run:
            run.log({"a": 1})
            raise ValueError("boom")
    record = run.store.run("life", run.id)
    assert record["state"] == "failed"
    assert record["exit_code"] == 1


def test_context_manager_finishes(sqlite_store):
    with tracking.init(project="life") as run:
        run.log({"a": 1})
    record = run.store.run("life", run.id)
    assert record["state"] == "finished"
    assert record["exit_code"] == 0
    assert record["finished_at"] >= record["created_at"]


def test_finish_with_exit_code_marks_failed(sqlite_store):
    run = tracking.init(project="life")
    run.finish(exit_code=3)
    assert run.store.run("life", run.id)["state"] == "failed"


def test_summary_is_last_value_unless_set(store_location):
    run = tracking.init(project="summary")
    run.log({"loss": 3.0, "acc": 0.5})
    run.summary["best_loss"] = 1.5
    run.log({"loss": 2.0})
    run.summary["acc"] = 0.9
    run.finish()
    assert run.store.run("summary", run.id)["summary"] == {
        "loss": 2.0,
        "acc": 0.9,
        "best_loss": 1.5,
    }


def test_init_records_metadata(store_location):
    run = tracking.init(
        project="meta",
        name="first",
        config={"--lr": 0.01, "layers": [64, 32]},
        tags=["a", "b"],
        notes="a note",
        group="g1",
        job_type="train",
        id="custom-id",
    )
    run.finish()
    record = run.store.run("meta", "custom-id")
    assert record["name"] == "first"
    assert record["config"] == {"lr": 0.01, "layers": [64, 32]}
    assert record["tags"] == ["a", "b"]
    assert record["notes"] == "a note"
    assert record["group"] == "g1"
    assert record["job_type"] == "train"


def test_duplicate_run_id_rejected(sqlite_store):
    tracking.init(project="meta", id="same").finish()
    with pytest.raises(tracking.StoreError, match="'same' already exists"):
        tracking.init(project="meta", id="same")


@pytest.mark.parametrize("bad", ["a/b", "a:b", "a b", "x" * 65])
def test_invalid_run_id_rejected(sqlite_store, bad):
    with pytest.raises(ValueError, match="run id"):
        tracking.init(project="meta", id=bad)


def test_generate_id_format():
    ids = {tracking.util.generate_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[a-z0-9]{8}", run_id) for run_id in ids)


def test_reinit_returns_previous_by_default(sqlite_store):
    first = tracking.init(project="re")
    assert tracking.init(project="re") is first
    second = tracking.init(project="re", reinit="finish_previous")
    assert second is not first
    assert first.finished
    second.finish()


def test_disabled_mode_stores_nothing(sqlite_store):
    run = tracking.init(project="off", mode="disabled", config={"a": 1})
    run.log({"x": 1})
    assert run.config.a == 1
    run.finish()
    assert tracking.open_store().projects().empty


def test_invalid_mode_rejected(sqlite_store):
    with pytest.raises(ValueError, match="mode must be one of"):
        tracking.init(mode="cloud")


def test_unknown_init_argument_rejected(sqlite_store):
    with pytest.raises(TypeError, match="bogus"):
        tracking.init(bogus=1)


def test_writer_stores_rows_before_finish(sqlite_store):
    import time

    run = tracking.init(project="live")
    run.log({"a": 1})
    deadline = time.time() + 5
    while time.time() < deadline:
        if len(run.store.history("live", [run.id])) == 1:
            break
        time.sleep(0.05)
    assert len(run.store.history("live", [run.id])) == 1
    run.finish()


@pytest.mark.parametrize(
    ("data", "step", "error", "message"),
    [
        ({"x": 1}, 2**63, ValueError, "step 9223372036854775808 is out of range"),
        ({"x": 1}, -1, ValueError, "step -1 is out of range"),
        ({"x": 1}, True, TypeError, "got the boolean True"),
        ({"a\x00b": 1}, None, ValueError, "NUL character"),
        ({"big": 10**400}, None, ValueError, "'big': a 401-digit integer"),
    ],
)
def test_log_rejects_unstorable_input(store_location, data, step, error, message):
    run = tracking.init(project="values")
    with pytest.raises(error, match=message):
        run.log(data, step=step)
    run.log({"after": 1})
    run.finish()

    record = run.store.run("values", run.id)
    assert record["state"] == "finished"
    assert run.store.history("values", [run.id])["key"].tolist() == ["after"]


def test_summary_and_config_change_after_finish_raise(sqlite_store):
    run = tracking.init(project="life", config={"lr": 0.1})
    run.finish()
    with pytest.raises(UsageError, match="is finished, so this config or summary"):
        run.summary["late"] = 1
    with pytest.raises(UsageError, match="is finished"):
        run.config.update({"late": 2})
