"""Datapoint edits live beside the dataset, with a history of predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.edit_overlay import (
    EditOverlay,
    add_row,
    append_history,
    delete_row,
    describe_differences,
    history_frame,
    kept_mask,
    overlay_table,
    reset_row,
    restore_row,
    row_differences,
    row_frame,
    set_row_values,
)
from analysis.predictions import row_prediction


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "age": pd.Series([25, 40, 61], dtype="int64"),
            "job": pd.Series(["clerk", None, "chef"], dtype="str"),
            "income": ["<=50K", ">50K", "<=50K"],
        }
    )


def test_edit_kept_as_differences(frame):
    """Check that only values that differ are stored, and the data is untouched."""
    before = frame.copy()
    overlay = set_row_values(frame, EditOverlay(n_rows=3), 1, {"age": 41, "job": None})
    assert overlay.edits == {1: {"age": 41}}
    row = row_frame(frame, overlay, 1)
    assert row.loc[0, "age"] == 41
    assert row.dtypes.to_dict() == frame.dtypes.to_dict()
    pd.testing.assert_frame_equal(frame, before)

    back = set_row_values(frame, overlay, 1, {"age": 40})
    assert back.edits == {}


def test_add_duplicate_delete_restore(frame):
    """Check row ids, copied values, deletion and restoration."""
    overlay = set_row_values(frame, EditOverlay(n_rows=3), 0, {"job": "chef"})
    overlay, added = add_row(overlay, 0, keep_changes=False)
    overlay, duplicated = add_row(overlay, 0, keep_changes=True)
    assert (added, duplicated) == (3, 4)
    assert row_frame(frame, overlay, added).loc[0, "job"] == "clerk"
    assert row_frame(frame, overlay, duplicated).loc[0, "job"] == "chef"

    overlay = delete_row(delete_row(overlay, 2), added)
    assert not overlay.contains(added)
    assert overlay.is_deleted(2)
    assert kept_mask(overlay).tolist() == [True, True, False]
    overlay, next_added = add_row(overlay, 1, keep_changes=False)
    assert next_added == 5  # ids are never reused

    overlay = restore_row(overlay, 2)
    assert kept_mask(overlay).tolist() == [True, True, True]
    overlay = reset_row(overlay, 0)
    assert overlay.changes(0) == {}
    with pytest.raises(KeyError, match="row 3 does not exist"):
        overlay.changes(3)


def test_overlay_table(frame):
    """Check the listing of touched rows with their status and values."""
    overlay = set_row_values(frame, EditOverlay(n_rows=3), 2, {"age": 62})
    overlay, added = add_row(overlay, 2, keep_changes=True)
    overlay = delete_row(overlay, 0)
    table = overlay_table(frame, overlay)
    assert table["row"].tolist() == [0, 2, added]
    assert table["status"].tolist() == ["deleted", "edited", "added"]
    assert table["age"].tolist() == [25, 62, 62]
    assert table["changed"].tolist() == ["", "age", "age"]


def test_differences_described(frame):
    """Check the text of changed values, missing values included."""
    before = row_frame(frame, EditOverlay(n_rows=3), 0)
    after = row_frame(
        frame,
        set_row_values(frame, EditOverlay(n_rows=3), 0, {"age": 30, "job": None}),
        0,
    )
    differences = row_differences(before, after)
    assert differences == [("age", 25, 30), ("job", "clerk", None)]
    assert describe_differences(differences) == "age: 25 -> 30; job: clerk -> (missing)"


def test_history_binary_delta():
    """Check that each entry's change is the positive score minus the row's last."""
    classes = ["no", "yes"]
    history = []
    for action, score in (("original", 0.2), ("edit", 0.65), ("edit", 0.6)):
        prediction = row_prediction("binary", np.array([1 - score, score]), classes)
        history = append_history(
            history,
            row_id=7,
            action=action,
            changes="",
            prediction=prediction,
            task="binary",
            classes=classes,
        )
    assert [entry.delta for entry in history][0] is None
    assert history[1].delta == pytest.approx(0.45)
    assert history[2].delta == pytest.approx(-0.05)
    assert [entry.prediction for entry in history] == ["no", "yes", "yes"]

    table = history_frame(history, "binary")
    assert table["step"].tolist() == [3, 2, 1]
    assert table["change"].iloc[0] == pytest.approx(-0.05)


def test_history_duplicate_compares_with_source():
    """Check that a new row's first entry compares with the row it came from."""
    prediction = row_prediction("regression", np.array([10.0]), None)
    history = append_history(
        [],
        row_id=1,
        action="original",
        changes="",
        prediction=prediction,
        task="regression",
        classes=None,
    )
    copy = row_prediction("regression", np.array([12.5]), None)
    history = append_history(
        history,
        row_id=9,
        action="duplicate",
        changes="from row 1",
        prediction=copy,
        task="regression",
        classes=None,
        previous_row_id=1,
    )
    assert history[-1].delta == pytest.approx(2.5)
    assert history_frame(history, "regression").columns.tolist()[5] == "value"


def test_history_multiclass_follows_predicted_class():
    """Check the multi-class delta: the new class's score against its old score."""
    classes = ["a", "b", "c"]
    first = row_prediction("multiclass", np.array([0.6, 0.3, 0.1]), classes)
    second = row_prediction("multiclass", np.array([0.2, 0.5, 0.3]), classes)
    history = append_history(
        [],
        row_id=0,
        action="original",
        changes="",
        prediction=first,
        task="multiclass",
        classes=classes,
    )
    history = append_history(
        history,
        row_id=0,
        action="edit",
        changes="x",
        prediction=second,
        task="multiclass",
        classes=classes,
    )
    assert history[-1].prediction == "b"
    assert history[-1].delta == pytest.approx(0.5 - 0.3)
    assert history[-1].top_classes == "b 0.50, c 0.30, a 0.20"
    assert "top classes" in history_frame(history, "multiclass").columns
