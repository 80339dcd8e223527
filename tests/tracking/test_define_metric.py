"""define_metric: aggregated summaries, globs, step metrics and summary look-ups."""

from __future__ import annotations

import math

import pytest

import tracking
from tracking import UsageError
from tracking.metrics import summary_number, summary_value


def _stored_summary(run):
    return tracking.open_store().run(run.project, run.id)["summary"]


def test_summary_aggregates_hand_computed(store_location):
    run = tracking.init(project="agg")
    run.define_metric("loss", summary="min,max,mean,last,first")
    for value in (3.0, 1.0, 2.0):
        run.log({"loss": value})
    expected = {"min": 1.0, "max": 3.0, "mean": 2.0, "last": 2.0, "first": 3.0}
    assert run.summary["loss"] == expected
    run.finish()
    assert _stored_summary(run)["loss"] == expected


def test_summary_matches_wandb_trace(store_location):
    run = tracking.init(project="agg")
    run.define_metric("loss", summary="min")
    run.define_metric("acc", summary="max,last")
    for loss, acc in ((4, 0.1), (1, 0.5), (2, 0.3)):
        run.log({"loss": loss, "acc": acc})
    run.finish()
    summary = _stored_summary(run)
    assert summary["loss"] == {"min": 1}
    assert summary["acc"] == {"last": 0.3, "max": 0.5}


def test_glob_applies_to_prefix_only(sqlite_store):
    run = tracking.init(project="glob")
    run.define_metric("val/*", summary="max")
    run.log({"val/acc": 0.2, "val/f1": 0.7, "train/acc": 0.9})
    run.log({"val/acc": 0.6, "val/f1": 0.4, "train/acc": 0.8})
    assert run.summary["val/acc"] == {"max": 0.6}
    assert run.summary["val/f1"] == {"max": 0.7}
    assert run.summary["train/acc"] == 0.8
    run.finish()


def test_exact_name_beats_glob_and_longest_glob_wins(sqlite_store):
    run = tracking.init(project="glob")
    run.define_metric("val/*", summary="max")
    run.define_metric("val/loss/*", summary="min")
    run.define_metric("val/acc", summary="last")
    run.log({"val/acc": 0.5, "val/loss/total": 2.0, "val/f1": 0.1})
    run.log({"val/acc": 0.4, "val/loss/total": 1.0, "val/f1": 0.3})
    assert run.summary["val/acc"] == {"last": 0.4}
    assert run.summary["val/loss/total"] == {"min": 1.0}
    assert run.summary["val/f1"] == {"max": 0.3}
    run.finish()


def test_summary_none_hides_metric(store_location):
    run = tracking.init(project="none")
    run.define_metric("noise", summary="none")
    run.log({"noise": 1.0, "loss": 2.0})
    assert "noise" not in run.summary
    assert "noise" not in run.summary.keys()
    with pytest.raises(KeyError):
        run.summary["noise"]
    run.finish()
    assert _stored_summary(run) == {"loss": 2.0}


def test_explicit_set_resets_aggregation_until_redefined(sqlite_store):
    run = tracking.init(project="explicit")
    run.define_metric("loss", summary="min")
    run.log({"loss": 2.0})
    run.summary["loss"] = 7.5
    assert run.summary["loss"] == 7.5
    run.log({"loss": 3.0})
    assert run.summary["loss"] == 3.0
    run.define_metric("loss", summary="min")
    assert run.summary["loss"] == {"min": 2.0}
    run.finish()


def test_definition_after_logging_uses_history(store_location):
    run = tracking.init(project="late")
    for value in (5.0, 2.0, 4.0):
        run.log({"loss": value})
    run.define_metric("loss", summary="min,mean,first,last")
    assert run.summary["loss"] == {
        "min": 2.0,
        "mean": pytest.approx(11.0 / 3),
        "first": 5.0,
        "last": 4.0,
    }
    run.log({"loss": 1.0})
    assert run.summary["loss"]["min"] == 1.0
    assert run.summary["loss"]["mean"] == pytest.approx(3.0)
    run.finish()


def test_redefinition_merges_unless_overwrite(sqlite_store):
    run = tracking.init(project="merge")
    first = run.define_metric("loss", summary="min", step_metric="epoch")
    assert first.summary == ("min",)
    merged = run.define_metric("loss", summary="max")
    assert merged.summary == ("min", "max")
    assert merged.step_metric == "epoch"
    replaced = run.define_metric("loss", summary="mean", overwrite=True)
    assert replaced.summary == ("mean",)
    assert replaced.step_metric is None
    run.finish()


def test_nan_makes_min_max_mean_nan(sqlite_store):
    run = tracking.init(project="nan")
    run.define_metric("loss", summary="min,max,mean,last")
    run.log({"loss": 1.0})
    run.log({"loss": float("nan")})
    run.log({"loss": 0.5})
    value = run.summary["loss"]
    assert math.isnan(value["min"])
    assert math.isnan(value["max"])
    assert math.isnan(value["mean"])
    assert value["last"] == 0.5
    run.finish()


def test_goal_and_deprecated_best(sqlite_store, caplog):
    run = tracking.init(project="goal")
    metric = run.define_metric("acc", summary="best", goal="maximize")
    assert metric.goal == "maximize"
    assert metric.summary == ("max",)
    assert "deprecated" in caplog.text
    assert run.define_metric("loss", goal="min").goal == "minimize"
    run.finish()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "non-empty"),
        ({"name": "*prefix"}, "trailing"),
        ({"name": "a*b"}, "trailing"),
        ({"name": "m", "summary": "median"}, "'median' is unknown"),
        ({"name": "m", "goal": "up"}, "minimize"),
        ({"name": "m", "step_metric": 1}, "step_metric must be a str"),
        ({"name": "m", "hidden": "yes"}, "hidden must be a bool"),
    ],
)
def test_invalid_definitions_rejected(sqlite_store, kwargs, message):
    run = tracking.init(project="bad")
    with pytest.raises(UsageError, match=message):
        run.define_metric(**kwargs)
    run.finish()


def test_step_metric_recorded_and_synced(store_location):
    run = tracking.init(project="steps")
    run.define_metric("epoch")
    run.define_metric("val/*", step_metric="epoch", hidden=True)
    run.log({"epoch": 0, "train/loss": 1.0})
    run.log({"val/loss": 0.9})
    run.log({"epoch": 1})
    run.log({"val/loss": 0.8})
    run.finish()

    record = tracking.open_store().run("steps", run.id)
    assert record["metrics"]["val/*"] == {
        "step_metric": "epoch",
        "step_sync": True,
        "hidden": True,
    }
    history = tracking.open_store().history("steps", [run.id], keys=["epoch"])
    assert dict(zip(history["step"], history["value"], strict=True)) == {
        0: 0.0,
        1: 0.0,
        2: 1.0,
        3: 1.0,
    }


def test_step_sync_false_leaves_rows(sqlite_store):
    run = tracking.init(project="steps")
    run.define_metric("val/*", step_metric="epoch", step_sync=False)
    run.log({"epoch": 3})
    run.log({"val/loss": 0.8})
    run.finish()
    history = tracking.open_store().history("steps", [run.id], keys=["epoch"])
    assert history["step"].tolist() == [0]


def test_module_level_define_metric(sqlite_store):
    with pytest.raises(UsageError, match="before tracking.define_metric"):
        tracking.define_metric("loss", summary="min")
    run = tracking.init(project="module")
    tracking.define_metric("loss", summary="min")
    tracking.log({"loss": 2.0})
    tracking.log({"loss": 1.0})
    assert tracking.summary["loss"] == {"min": 1.0}
    run.finish()


def test_disabled_mode_aggregates_in_memory(sqlite_store):
    run = tracking.init(project="off", mode="disabled")
    run.define_metric("loss", summary="min")
    run.log({"loss": 2.0})
    run.log({"loss": 1.5})
    assert run.summary["loss"] == {"min": 1.5}
    run.finish()


def test_summary_value_reads_aggregates():
    summary = {
        "val_loss": {"min": 0.25, "last": 0.3},
        "nested.m": 4,
        "nested": {"n": {"o": 5}},
        "flag": True,
        "nan": float("nan"),
    }
    assert summary_value(summary, "val_loss.min") == 0.25
    assert summary_value(summary, "val_loss") == {"min": 0.25, "last": 0.3}
    assert summary_value(summary, "nested.m") == 4
    assert summary_value(summary, "nested.n.o") == 5
    assert summary_value(summary, "val_loss.max") is None
    assert summary_value(summary, "missing") is None
    assert summary_number(summary, "val_loss.last") == 0.3
    assert summary_number(summary, "val_loss") is None
    assert summary_number(summary, "flag") is None
    assert summary_number(summary, "nan") is None
