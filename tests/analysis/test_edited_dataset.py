"""The edited dataset: edits applied, deleted rows dropped, added rows appended."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from analysis.edit_overlay import (
    EditOverlay,
    add_row,
    delete_row,
    set_row_values,
)
from analysis.edited_dataset import (
    edit_counts,
    edited_dataset,
    edited_scores,
    overlay_digest,
    row_digest,
)


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": pd.Series(rng.integers(18, 80, size=40), dtype="int64"),
            "hours": rng.normal(40, 10, size=40),
            "job": pd.Series(rng.choice(["clerk", "chef", "nurse"], size=40)),
            "label": rng.integers(0, 2, size=40),
        }
    )


def _touched(frame) -> EditOverlay:
    """Edit rows 2 and 5, delete rows 5 and 7, add a copy of row 2 and of row 9."""
    overlay = EditOverlay(n_rows=len(frame))
    overlay = set_row_values(frame, overlay, 2, {"age": 99, "job": "chef"})
    overlay = set_row_values(frame, overlay, 5, {"hours": 1.5})
    overlay = delete_row(overlay, 5)
    overlay = delete_row(overlay, 7)
    overlay, _ = add_row(overlay, 2, keep_changes=True)
    overlay, _ = add_row(overlay, 9, keep_changes=False)
    return overlay


def test_rows_in_id_order(frame):
    """Check values, ids and bases against the same edits made with pandas."""
    dataset = edited_dataset(frame, _touched(frame))

    expected = frame.copy()
    expected.loc[2, ["age", "job"]] = [99, "chef"]
    added = expected.loc[[2, 9]]
    expected = expected.drop(index=[5, 7])
    expected = pd.concat([expected, added], ignore_index=True)
    pd.testing.assert_frame_equal(dataset.frame, expected)

    kept = [i for i in range(40) if i not in (5, 7)]
    assert dataset.row_ids.tolist() == [*kept, 40, 41]
    assert dataset.base_positions.tolist() == [*kept, 2, 9]
    changed = np.flatnonzero(dataset.changed)
    assert dataset.row_ids[changed].tolist() == [2, 40]


def test_positions_of_rows(frame):
    """Check that deleted rows have no position and added rows come last."""
    dataset = edited_dataset(frame, _touched(frame))
    assert dataset.position(4) == 4
    assert dataset.position(6) == 5
    assert dataset.position(5) is None
    assert dataset.position(7) is None
    assert dataset.position(41) == len(dataset.frame) - 1
    assert dataset.position(42) is None


def test_scores_match_model_on_edited_rows(frame):
    """Check combined scores against the model run on the whole edited dataset."""
    features = ["age", "hours"]
    model = LogisticRegression().fit(frame[features], frame["label"])
    dataset = edited_dataset(frame, _touched(frame))

    new_scores = model.predict_proba(dataset.changed_rows()[features])
    scores = edited_scores(model.predict_proba(frame[features]), dataset, new_scores)
    expected = model.predict_proba(dataset.frame[features])
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-12)
    assert not scores.flags.writeable


def test_scores_need_one_row_per_changed_row(frame):
    dataset = edited_dataset(frame, _touched(frame))
    with pytest.raises(ValueError, match=r"one row per changed row \(2\), got 1"):
        edited_scores(np.zeros((40, 2)), dataset, np.zeros((1, 2)))


def test_regression_scores_combined(frame):
    """Check one-dimensional scores, as a regression model returns them."""
    dataset = edited_dataset(frame, _touched(frame))
    values = np.arange(40, dtype=float)
    scores = edited_scores(values, dataset, np.array([-1.0, -2.0]))
    expected = np.delete(values, [5, 7]).tolist() + [-2.0, 9.0]
    expected[2] = -1.0
    assert scores.tolist() == expected


def test_missing_value_makes_integers_float(frame):
    overlay = set_row_values(frame, EditOverlay(n_rows=40), 3, {"age": None})
    dataset = edited_dataset(frame, overlay)
    assert dataset.frame["age"].dtype == "float64"
    assert np.isnan(dataset.frame.loc[3, "age"])
    assert dataset.frame.loc[4, "age"] == frame.loc[4, "age"]


def test_wrong_dataset_rejected(frame):
    with pytest.raises(ValueError, match="edits are for a dataset of 10 rows"):
        edited_dataset(frame, EditOverlay(n_rows=10))


def test_edit_counts(frame):
    """Check that an edited and deleted row counts once, as deleted."""
    assert edit_counts(_touched(frame)) == {
        "changed": 1,
        "added": 2,
        "deleted": 2,
        "total": 5,
    }
    assert edit_counts(EditOverlay(n_rows=40))["total"] == 0


def test_digests_follow_the_edits(frame):
    """Check that equal edits give equal digests and other edits other ones."""
    assert overlay_digest(_touched(frame)) == overlay_digest(_touched(frame))
    other = set_row_values(frame, _touched(frame), 3, {"age": 20})
    assert overlay_digest(other) != overlay_digest(_touched(frame))

    overlay = _touched(frame)
    assert row_digest(overlay, 2) == row_digest(overlay, 40)
    assert row_digest(overlay, 2) != row_digest(overlay, 41)
