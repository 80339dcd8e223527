"""Config and summary keys that differ between two runs."""

from __future__ import annotations

import math

from tracking.run_diff import diff_runs


def test_diff_lists_changed_added_and_removed_keys():
    first = {
        "config": {"lr": 0.1, "optimizer": {"name": "adam", "beta": 0.9}, "seed": 1},
        "summary": {"acc": 0.8, "loss": math.nan, "epochs": 10},
    }
    second = {
        "config": {"lr": 0.01, "optimizer": {"name": "adam", "beta": 0.99}, "bs": 32},
        "summary": {"acc": 0.8, "loss": math.nan, "epochs": 10.0},
    }
    diff = diff_runs(first, second)
    assert diff.to_dict("records") == [
        {"section": "config", "key": "bs", "first": None, "second": 32},
        {"section": "config", "key": "lr", "first": 0.1, "second": 0.01},
        {"section": "config", "key": "optimizer.beta", "first": 0.9, "second": 0.99},
        {"section": "config", "key": "seed", "first": 1, "second": None},
    ]


def test_diff_with_equal_keys_marks_them():
    run = {"config": {"lr": 0.1}, "summary": {"acc": 0.5}}
    other = {"config": {"lr": 0.1}, "summary": {"acc": 0.6}}
    diff = diff_runs(run, other, include_equal=True)
    assert diff[["key", "differs"]].to_dict("records") == [
        {"key": "lr", "differs": False},
        {"key": "acc", "differs": True},
    ]


def test_bool_differs_from_int():
    diff = diff_runs({"config": {"flag": True}}, {"config": {"flag": 1}})
    assert diff["key"].tolist() == ["flag"]


def test_identical_runs_have_empty_diff():
    run = {"config": {"lr": 0.1, "layers": [64, 32]}, "summary": {}}
    diff = diff_runs(run, run)
    assert diff.empty
    assert list(diff.columns) == ["section", "key", "first", "second"]
