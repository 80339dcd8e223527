"""Filtering and sorting the runs table."""

from __future__ import annotations

import pandas as pd
import pytest

from tracking.query import all_tags, filter_runs, run_table


@pytest.fixture
def runs():
    return pd.DataFrame(
        {
            "run_id": ["a1", "b2", "c3"],
            "name": ["brisk-river-1", "calm-dune-2", "eager-tide-3"],
            "state": ["finished", "failed", "finished"],
            "created_at": pd.to_datetime([1, 2, 3], unit="s", utc=True),
            "duration": [10.0, 5.0, 7.5],
            "tags": [["hgb", "baseline"], ["keras"], ["hgb"]],
            "notes": [None, "diverged", None],
            "group": [None, None, "sweep-1"],
            "config.lr": [0.1, 0.01, 0.2],
            "summary.acc": [0.8, float("nan"), 0.9],
        }
    )


def test_filter_by_state(runs):
    assert filter_runs(runs, states=["finished"])["run_id"].tolist() == ["a1", "c3"]
    assert len(filter_runs(runs, states=[])) == 3


def test_filter_by_tags_needs_all(runs):
    assert filter_runs(runs, tags=["hgb"])["run_id"].tolist() == ["a1", "c3"]
    assert filter_runs(runs, tags=["hgb", "baseline"])["run_id"].tolist() == ["a1"]


def test_filter_by_text_ignores_case(runs):
    assert filter_runs(runs, text="DIVERGED")["run_id"].tolist() == ["b2"]
    assert filter_runs(runs, text="sweep")["run_id"].tolist() == ["c3"]
    assert filter_runs(runs, text="tide")["run_id"].tolist() == ["c3"]


def test_all_tags(runs):
    assert all_tags(runs) == ["baseline", "hgb", "keras"]


def test_run_table_sorts_with_missing_last(runs):
    table = run_table(runs, sort_by="summary.acc", ascending=False)
    assert table["run_id"].tolist() == ["c3", "a1", "b2"]
    assert list(table.columns[:6]) == [
        "name",
        "state",
        "created_at",
        "duration",
        "tags",
        "run_id",
    ]
    assert table.loc[0, "tags"] == "hgb"


def test_run_table_rejects_unknown_column(runs):
    with pytest.raises(ValueError, match="cannot sort by 'nope'"):
        run_table(runs, sort_by="nope")


def test_run_table_shows_unconvertible_values_as_text(runs):
    runs = runs.assign(
        **{
            "summary.huge": pd.Series([10**400, 1, None], dtype=object),
            "config.layers": pd.Series([[64, 32], [8], None], dtype=object),
            "summary.mixed": pd.Series([1, 2.5, None], dtype=object),
        }
    )
    table = run_table(runs)
    assert table.loc[0, "summary.huge"] == str(10**400)
    assert table.loc[1, "summary.huge"] == "1"
    assert table.loc[0, "config.layers"] == "[64, 32]"
    assert table["summary.mixed"].dtype == "float64"
    assert table.loc[1, "summary.mixed"] == 2.5
