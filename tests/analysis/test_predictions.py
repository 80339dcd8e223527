"""Predicted labels at per-row thresholds and one row's prediction."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.predictions import predicted_labels, row_prediction


def test_binary_per_row_thresholds():
    """Check that each row is compared with its own threshold, >= counting."""
    scores = np.array([[0.7, 0.3], [0.4, 0.6], [0.2, 0.8]])
    labels = predicted_labels(
        "binary", scores, ["no", "yes"], thresholds=np.array([0.3, 0.7, 0.5])
    )
    assert labels.tolist() == ["yes", "no", "yes"]


def test_binary_positive_in_first_column():
    """Check a positive class whose score is column 0."""
    scores = np.array([[0.9, 0.1], [0.2, 0.8]])
    labels = predicted_labels("binary", scores, ["yes", "no"], pos_index=0)
    assert labels.tolist() == ["yes", "no"]


def test_multiclass_first_on_ties():
    """Check the arg-max rule, the first class on ties, as numpy's argmax."""
    scores = np.array([[0.4, 0.4, 0.2], [0.1, 0.2, 0.7]])
    assert predicted_labels("multiclass", scores, ["a", "b", "c"]).tolist() == [
        "a",
        "c",
    ]


def test_shape_checked():
    """Check that scores must have one column per class."""
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        predicted_labels("multiclass", np.zeros((2, 2)), ["a", "b", "c"])


def test_row_prediction_top_classes():
    """Check the predicted class, its score and the top three, highest first."""
    prediction = row_prediction(
        "multiclass", np.array([0.1, 0.5, 0.15, 0.25]), ["a", "b", "c", "d"]
    )
    assert prediction.prediction == "b"
    assert prediction.score == 0.5
    assert prediction.top_classes == (("b", 0.5), ("d", 0.25), ("c", 0.15))


def test_row_prediction_regression():
    """Check that a regression row's score is its predicted value."""
    prediction = row_prediction("regression", np.array([3.5]), None)
    assert (prediction.prediction, prediction.score) == (3.5, 3.5)
    assert prediction.top_classes == ()
