"""tracking.Api: runs with filters and order, history, scan_history, sweeps."""

from __future__ import annotations

import math

import pytest

import tracking
from tracking import StoreError


def _make_runs():
    specs = [
        ("r-a", {"lr": 0.1, "opt": {"name": "sgd"}}, ["base"], "g1", [0.9, 0.5]),
        (
            "r-b",
            {"lr": 0.001, "opt": {"name": "adam"}},
            ["base", "x"],
            "g2",
            [0.7, 0.2],
        ),
        ("r-c", {"lr": 0.005, "opt": {"name": "adam"}}, [], None, [0.8, 0.6]),
    ]
    for run_id, config, tags, group, losses in specs:
        run = tracking.init(
            project="api",
            id=run_id,
            name=f"name-{run_id}",
            config=config,
            tags=tags,
            group=group,
        )
        run.define_metric("loss", summary="min,last")
        for loss in losses:
            run.log({"loss": loss, "acc": 1 - loss})
        run.finish(exit_code=1 if run_id == "r-c" else 0)


def _ids(runs):
    return [run.id for run in runs]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (None, ["r-a", "r-b", "r-c"]),
        ({"state": "finished"}, ["r-a", "r-b"]),
        ({"config.lr": {"$lt": 0.01}}, ["r-b", "r-c"]),
        ({"config.lr.value": 0.1}, ["r-a"]),
        ({"config.opt.name": "adam", "state": "failed"}, ["r-c"]),
        ({"summary_metrics.loss.min": {"$lte": 0.5}}, ["r-a", "r-b"]),
        ({"summary_metrics.acc": {"$gt": 0.45}}, ["r-a", "r-b"]),
        ({"tags": "x"}, ["r-b"]),
        ({"tags": {"$in": ["base"]}}, ["r-a", "r-b"]),
        ({"tags": {"$nin": ["base"]}}, ["r-c"]),
        ({"$or": [{"group": "g1"}, {"config.lr": 0.005}]}, ["r-a", "r-c"]),
        ({"$nor": [{"group": "g1"}]}, ["r-b", "r-c"]),
        ({"group": {"$exists": False}}, ["r-c"]),
        ({"display_name": {"$regex": "-b$"}}, ["r-b"]),
        ({"name": "r-c"}, ["r-c"]),
        ({"created_at": {"$gt": "2000-01-01T00:00:00"}}, ["r-a", "r-b", "r-c"]),
        ({"config.missing": {"$ne": 1}}, ["r-a", "r-b", "r-c"]),
    ],
)
def test_runs_filters(store_location, filters, expected):
    _make_runs()
    assert _ids(tracking.Api().runs("api", filters=filters)) == expected


def test_runs_order_and_dataframe(store_location):
    _make_runs()
    api = tracking.Api()
    runs = api.runs("entity/api", order="-summary_metrics.acc")
    assert _ids(runs) == ["r-b", "r-a", "r-c"]
    frame = runs.to_dataframe()
    assert frame["run_id"].tolist() == ["r-b", "r-a", "r-c"]
    assert frame["config.lr"].tolist() == [0.001, 0.1, 0.005]
    assert frame["summary.loss.min"].tolist() == [0.2, 0.5, 0.6]
    assert _ids(api.runs("api", order="+config.lr")) == ["r-b", "r-c", "r-a"]


def test_unknown_operator_rejected(sqlite_store):
    _make_runs()
    with pytest.raises(ValueError, match=r"unknown filter operator '\$near'"):
        tracking.Api().runs("api", filters={"config.lr": {"$near": 1}})
    with pytest.raises(ValueError, match="takes a list"):
        tracking.Api().runs("api", filters={"$or": {"state": "finished"}})


def test_run_attributes_and_update(store_location):
    _make_runs()
    api = tracking.Api()
    run = api.run("api/r-b")
    assert run.name == "name-r-b"
    assert run.state == "finished"
    assert run.config == {"lr": 0.001, "opt": {"name": "adam"}}
    assert run.summary["loss"] == {"min": 0.2, "last": 0.2}
    assert run.tags == ["base", "x"]
    assert run.metrics == {"loss": {"summary": ["min", "last"]}}
    run.tags.append("reviewed")
    run.notes = "checked"
    run.update()
    again = api.run("entity/api/r-b")
    assert again.tags == ["base", "x", "reviewed"]
    assert again.notes == "checked"
    with pytest.raises(StoreError, match="'nope' not found"):
        api.run("api/nope")
    with pytest.raises(tracking.UsageError, match="give a project"):
        api.runs()


def _history_run():
    run = tracking.init(project="hist", id="h1")
    for step in range(10):
        row = {"a": float(step)}
        if step % 3 == 0:
            row["b"] = step * 10
        if step == 4:
            row["a"] = float("nan")
        run.log(row)
    run.finish()
    return run


def test_history_wide_and_keys(store_location):
    _history_run()
    api_run = tracking.Api().run("hist/h1")
    frame = api_run.history()
    assert list(frame.columns) == ["_step", "a", "b", "_timestamp", "_runtime"]
    assert frame["_step"].tolist() == list(range(10))
    assert math.isnan(frame["a"].iloc[4])
    assert frame["b"].iloc[3] == 30.0
    assert math.isnan(frame["b"].iloc[1])
    assert (frame["_runtime"] >= 0).all()

    only_b = api_run.history(keys=["b"])
    assert list(only_b.columns) == ["_step", "b"]
    assert only_b["_step"].tolist() == [0, 3, 6, 9]

    both = api_run.history(keys=["a", "b"])
    assert both["_step"].tolist() == [0, 3, 6, 9]
    assert api_run.history(keys=["missing"]).empty


def test_history_samples_keep_ends(store_location):
    _history_run()
    api_run = tracking.Api().run("hist/h1")
    # linspace(0, 9, 3) rounds to rows 0, 4 and 9 (4.5 rounds to even).
    assert api_run.history(samples=3)["_step"].tolist() == [0, 4, 9]
    assert api_run.history(samples=1)["_step"].tolist() == [0]
    records = api_run.history(samples=2, pandas=False)
    assert [record["_step"] for record in records] == [0, 9]


def test_scan_history_pages_and_bounds(store_location):
    _history_run()
    api_run = tracking.Api().run("hist/h1")
    rows = list(api_run.scan_history(page_size=4))
    assert [row["_step"] for row in rows] == list(range(10))
    assert rows[3] == {
        "_step": 3,
        "a": 3.0,
        "b": 30.0,
        "_timestamp": rows[3]["_timestamp"],
        "_runtime": rows[3]["_runtime"],
    }
    assert math.isnan(rows[4]["a"])
    assert list(api_run.scan_history(keys=["b"], page_size=2)) == [
        {"b": 0.0},
        {"b": 30.0},
        {"b": 60.0},
        {"b": 90.0},
    ]
    bounded = api_run.scan_history(min_step=3, max_step=7)
    assert [row["_step"] for row in bounded] == [3, 4, 5, 6]
    with pytest.raises(ValueError, match="page_size"):
        list(api_run.scan_history(page_size=0))


def test_scan_history_matches_history(store_location):
    _history_run()
    api_run = tracking.Api().run("hist/h1")
    frame = api_run.history(samples=100)
    scanned = list(api_run.scan_history())
    for row, scan in zip(frame.to_dict("records"), scanned, strict=True):
        assert row["_step"] == scan["_step"]
        assert row["_timestamp"] == pytest.approx(scan["_timestamp"])
        if "b" in scan:
            assert row["b"] == scan["b"]


def _train():
    run = tracking.init()
    run.log({"score": run.config.x * 2})
    run.finish()


def test_sweeps_and_best_run(store_location):
    sweep_id = tracking.sweep(
        {
            "method": "grid",
            "metric": {"name": "score", "goal": "maximize"},
            "parameters": {"x": {"values": [1, 3, 2]}},
        },
        project="sw",
    )
    tracking.agent(sweep_id, function=_train)
    api = tracking.Api()
    sweeps = api.sweeps("sw")
    assert [sweep.id for sweep in sweeps] == [sweep_id]
    sweep = api.sweep(f"sw/{sweep_id}")
    assert sweep.method == "grid"
    assert len(sweep.runs) == 3
    assert sorted(run.config["x"] for run in sweep.runs) == [1, 2, 3]
    best = sweep.best_run()
    assert best.config["x"] == 3
    assert best.summary["score"] == 6
    assert sweep.best_run(order="+summary.score").config["x"] == 1
    assert len(sweep.trials()) == 3


def test_deleted_runs_hidden(store_location):
    from tracking.run_lifecycle import delete_runs

    _make_runs()
    delete_runs(tracking.open_store(), "api", ["r-a"])
    api = tracking.Api()
    assert _ids(api.runs("api")) == ["r-b", "r-c"]
    assert api.runs("api").to_dataframe()["run_id"].tolist() == ["r-b", "r-c"]
    with pytest.raises(StoreError, match="'r-a' not found"):
        api.run("api/r-a")
