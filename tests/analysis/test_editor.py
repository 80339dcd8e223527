"""Datapoint edits keep the dataset's types and never touch the dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.editor import category_options, changed_features, edited_row


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "age": pd.Series([25, 40, 61], dtype="int64"),
            "rate": [0.5, np.nan, 1.5],
            "job": pd.Series(["clerk", None, "chef"], dtype="str"),
            "income": ["<=50K", ">50K", "<=50K"],
        }
    )


def test_edit_keeps_dtypes_and_dataset(frame):
    before = frame.copy()
    row = edited_row(frame, 1, {"age": 41.0, "rate": 2, "job": "chef"})
    assert row.dtypes.to_dict() == frame.dtypes.to_dict()
    assert row.loc[0, "age"] == 41
    assert row.loc[0, "rate"] == 2.0
    assert row.loc[0, "job"] == "chef"
    pd.testing.assert_frame_equal(frame, before)


def test_edit_to_missing(frame):
    row = edited_row(frame, 0, {"job": None, "rate": float("nan")})
    assert pd.isna(row.loc[0, "job"])
    assert pd.isna(row.loc[0, "rate"])


def test_edit_rejects_wrong_types(frame):
    with pytest.raises(ValueError, match="'age' contains whole numbers; 40.5"):
        edited_row(frame, 0, {"age": 40.5})
    with pytest.raises(ValueError, match="'rate' contains numbers; 'fast'"):
        edited_row(frame, 0, {"rate": "fast"})
    with pytest.raises(KeyError, match="'salary'"):
        edited_row(frame, 0, {"salary": 1})
    with pytest.raises(IndexError, match="row 3 is out of range"):
        edited_row(frame, 3, {})


def test_changed_features(frame):
    row = edited_row(frame, 1, {"age": 41, "job": None})
    assert changed_features(frame, 1, row) == ["age"]
    row = edited_row(frame, 1, {"rate": 1.0})
    assert changed_features(frame, 1, row) == ["rate"]


def test_category_options_by_count_plus_current():
    series = pd.Series(["a", "b", "b", None])
    assert category_options(series, "a") == ["b", "a"]
    assert category_options(series, "z") == ["b", "a", "z"]
    assert category_options(series, None) == ["b", "a"]
