"""Nearest counterfactual of an edited row, with deleted rows left out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.counterfactual import distance_stats, nearest_counterfactual
from analysis.edited_counterfactual import (
    candidate_mask,
    default_min_difference,
    nearest_to_row,
)


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "age": [20.0, 30.0, 40.0, 50.0, 60.0],
            "job": ["a", "a", "b", "b", "c"],
        }
    )


def test_matches_dataset_row_search(frame):
    """Check that an unedited row gives the result of nearest_counterfactual."""
    stats = distance_stats(frame)
    predicted = np.array(["no", "no", "yes", "yes", "no"], dtype=object)
    for position in range(len(frame)):
        exclude = np.zeros(len(frame), dtype=bool)
        exclude[position] = True
        found = nearest_to_row(
            frame,
            frame.iloc[position],
            candidate_mask("binary", predicted, predicted[position]),
            stats=stats,
            exclude=exclude,
        )
        assert found == nearest_counterfactual(frame, position, predicted, stats=stats)


def test_edited_anchor_hand_computed(frame):
    """Check an anchor that is not in the data against hand-computed distances."""
    stats = distance_stats(frame)
    std = np.std(frame["age"], ddof=1)
    mismatch = (2 / 5) ** 2 + (2 / 5) ** 2 + (1 / 5) ** 2
    anchor = pd.Series({"age": 44.0, "job": "c"})
    predicted = np.array(["no", "yes", "yes", "no", "no"], dtype=object)
    found = nearest_to_row(
        frame, anchor, candidate_mask("binary", predicted, "no"), stats=stats
    )
    # Candidates are rows 1 (30, a) and 2 (40, b).
    expected = {1: 14 / std + mismatch, 2: 4 / std + mismatch}
    assert found.position == 2
    assert found.distance == pytest.approx(expected[2])
    assert found.differing_features == ["age", "job"]


def test_deleted_rows_skipped(frame):
    """Check that an excluded row is never the result."""
    stats = distance_stats(frame)
    predicted = np.array(["no", "yes", "yes", "yes", "yes"], dtype=object)
    candidates = candidate_mask("binary", predicted, "no")
    exclude = np.array([True, True, False, False, False])
    found = nearest_to_row(
        frame, frame.iloc[0], candidates, stats=stats, exclude=exclude
    )
    assert found.position == 2
    assert (
        nearest_to_row(
            frame,
            frame.iloc[0],
            candidates,
            stats=stats,
            exclude=np.ones(5, dtype=bool),
        )
        is None
    )


def test_regression_candidates():
    """Check |difference| >= min_difference and the standard deviation default."""
    predictions = np.array([1.0, 2.0, 4.0, 1.0])
    assert candidate_mask(
        "regression", predictions, 1.0, min_difference=1.0
    ).tolist() == [
        False,
        True,
        True,
        False,
    ]
    assert default_min_difference(predictions) == pytest.approx(
        np.std(predictions, ddof=1)
    )
    spread = default_min_difference(predictions)
    assert candidate_mask("regression", predictions, 1.0).tolist() == [
        False,
        False,
        True,
        False,
    ]
    assert spread < 3.0


@pytest.mark.parametrize(
    "predictions",
    [
        np.array(["yes", "no", "yes", "maybe"]),
        np.array(["yes", "no", "yes", "maybe"], dtype=object),
        ["yes", "no", "yes", "maybe"],
        pd.Categorical(["yes", "no", "yes", "maybe"]),
    ],
    ids=["unicode", "object", "list", "categorical"],
)
def test_class_candidates_any_array_type(predictions):
    """Check that text classes compare alike in any array type."""
    mask = candidate_mask("binary", predictions, "yes")

    assert mask.dtype == bool
    assert mask.tolist() == [False, True, False, True]


@pytest.mark.parametrize(
    ("predictions", "anchor"),
    [
        (np.array([0, 1, 1, 2]), 1),
        (np.array([0, 1, 1, 2]), np.int64(1)),
        (np.array([0, 1, 1, 2]), 1.0),
        (np.array([0, 1, 1, 2]), "1"),
        (np.array([True, False, True, True]), True),
        (np.array([0.0, np.nan, 1.5, 1.5]), 1.5),
        (np.array(["a", None, np.nan, "b"], dtype=object), "a"),
        (np.array(["a", None, pd.NA, "b"], dtype=object), "a"),
        (np.array(["a", None, "a", "b"], dtype=object), None),
        (np.array(["a", "b", "a", "b"], dtype=object), np.nan),
        (np.array([1, "1", 1.0, None], dtype=object), 1),
    ],
    ids=[
        "int",
        "numpy int",
        "int with float",
        "int with text",
        "bool",
        "float with nan",
        "none and nan",
        "pandas na",
        "anchor none",
        "anchor nan",
        "mixed objects",
    ],
)
def test_class_candidates_match_pandas(predictions, anchor):
    """Check != against a pandas object Series, where missing always differs."""
    expected = (pd.Series(predictions, dtype=object) != anchor).to_numpy(dtype=bool)

    mask = candidate_mask("multiclass", predictions, anchor)

    assert mask.dtype == bool
    assert mask.tolist() == expected.tolist()
