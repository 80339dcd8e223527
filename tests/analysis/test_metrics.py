"""Tests for analysis.metrics against scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)

from analysis.metrics import (
    METRIC_COLUMNS,
    BinaryCounts,
    binary_counts,
    binary_metrics,
    confusion_frame,
    cost,
)


def sklearn_metrics(y_true: np.ndarray, y_score: np.ndarray, threshold: float) -> dict:
    """The metrics computed with scikit-learn, with zero_division=0."""
    y_pred = y_score >= threshold
    tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=[False, True]).ravel()
    n = len(y_true)
    return {
        "count": n,
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "accuracy": accuracy_score(y_true, y_pred) if n else 0.0,
        "precision": precision_score(y_true, y_pred, zero_division=0),
        "recall": recall_score(y_true, y_pred, zero_division=0),
        "f1": f1_score(y_true, y_pred, zero_division=0),
        # FPR is 1 - recall of the negative class and FNR is 1 - recall of the
        # positive class, when the class has rows.
        "fpr": 1 - recall_score(~y_true, ~y_pred) if (~y_true).any() else 0.0,
        "fnr": 1 - recall_score(y_true, y_pred) if y_true.any() else 0.0,
        "fp_share": fp / n if n else 0.0,
        "fn_share": fn / n if n else 0.0,
    }


def assert_metrics_equal(result: dict, expected: dict) -> None:
    assert list(result) == list(METRIC_COLUMNS)
    for name in METRIC_COLUMNS:
        assert result[name] == pytest.approx(expected[name], abs=1e-12), name


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threshold", [0.0, 0.25, 0.5, 0.73, 1.0])
def test_random_data_matches_sklearn(seed, threshold):
    rng = np.random.default_rng(seed)
    y_true = rng.random(500) < 0.3
    y_score = np.round(rng.random(500), 2)

    result = binary_metrics(y_true, y_score, threshold)

    assert_metrics_equal(result, sklearn_metrics(y_true, y_score, threshold))


@pytest.mark.parametrize(
    ("y_true", "y_score", "threshold"),
    [
        # All rows negative, some predicted positive.
        ([False] * 5, [0.1, 0.6, 0.7, 0.2, 0.9], 0.5),
        # All negative and all predicted negative: no positives and no errors.
        ([False] * 4, [0.1, 0.2, 0.3, 0.4], 0.5),
        # All positive, none predicted positive.
        ([True] * 3, [0.1, 0.2, 0.3], 0.5),
        # Threshold 0: every row predicted positive.
        ([True, False, True, False], [0.0, 0.0, 0.5, 1.0], 0.0),
        # Threshold 1: only a score of exactly 1 is positive.
        ([True, False, True, False], [0.99, 1.0, 1.0, 0.5], 1.0),
        # Scores equal to the threshold are positive.
        ([True, False], [0.5, 0.5], 0.5),
    ],
)
def test_edge_cases_match_sklearn(y_true, y_score, threshold):
    y_true = np.array(y_true)
    y_score = np.array(y_score)

    result = binary_metrics(y_true, y_score, threshold)

    assert_metrics_equal(result, sklearn_metrics(y_true, y_score, threshold))


def test_no_errors_and_no_positives_gives_zero_f1():
    result = binary_metrics([False, False], [0.1, 0.2], 0.5)

    assert result["f1"] == 0.0
    assert result["accuracy"] == 1.0


def test_empty_input_gives_zeros():
    result = binary_metrics(np.array([], dtype=bool), np.array([]), 0.5)

    assert result["count"] == 0
    assert all(result[name] == 0.0 for name in METRIC_COLUMNS)


def test_zero_one_integers_accepted():
    result = binary_metrics([1, 0, 1], [0.9, 0.8, 0.1], 0.5)

    assert (result["tp"], result["fp"], result["tn"], result["fn"]) == (1, 1, 0, 1)


def test_pandas_inputs():
    y_true = pd.Series([True, False, True], index=[10, 20, 30])
    y_score = pd.Series([0.9, 0.8, 0.1], index=[30, 20, 10])

    result = binary_metrics(y_true, y_score, 0.5)

    # Values pair up by position, not by index label.
    assert (result["tp"], result["fp"], result["fn"]) == (1, 1, 1)


def test_class_names_rejected_as_y_true():
    with pytest.raises(ValueError, match="booleans or 0/1"):
        binary_metrics(["yes", "no"], [0.9, 0.1], 0.5)


def test_nan_score_rejected():
    with pytest.raises(ValueError, match="NaN"):
        binary_metrics([True, False], [np.nan, 0.1], 0.5)


def test_length_mismatch_rejected():
    with pytest.raises(ValueError, match="shape"):
        binary_metrics([True, False], [0.1, 0.2, 0.3], 0.5)


def test_binary_counts_with_pos_label():
    y_true = np.array(["yes", "no", "yes", "no", "yes"])
    y_score = np.array([0.9, 0.9, 0.2, 0.1, 0.5])

    counts = binary_counts(y_true, y_score, 0.5, pos_label="yes")

    assert counts == BinaryCounts(tp=2, fp=1, tn=1, fn=1)
    tn, fp, fn, tp = confusion_matrix(
        y_true == "yes", y_score >= 0.5, labels=[False, True]
    ).ravel()
    assert counts == (tp, fp, tn, fn)


def test_confusion_frame_counts_and_percent():
    metrics = {"tp": 5, "fp": 3, "tn": 10, "fn": 2}

    frame = confusion_frame(metrics, class_names=("<=50K", ">50K"))

    assert frame["actual"].tolist() == ["<=50K", "<=50K", ">50K", ">50K"]
    assert frame["predicted"].tolist() == ["<=50K", ">50K", "<=50K", ">50K"]
    assert frame["outcome"].tolist() == ["TN", "FP", "FN", "TP"]
    assert frame["count"].tolist() == [10, 3, 2, 5]
    assert frame["percent"].tolist() == pytest.approx([50.0, 15.0, 10.0, 25.0])


def test_confusion_frame_pivots_to_sklearn_matrix():
    rng = np.random.default_rng(3)
    y_true = rng.random(200) < 0.4
    y_score = rng.random(200)
    metrics = binary_metrics(y_true, y_score, 0.4)

    table = confusion_frame(metrics).pivot(
        index="actual", columns="predicted", values="count"
    )

    expected = confusion_matrix(y_true, y_score >= 0.4, labels=[False, True])
    ordered = table.loc[["negative", "positive"], ["negative", "positive"]]
    np.testing.assert_array_equal(ordered.to_numpy(), expected)


def test_confusion_frame_empty_has_zero_percent():
    frame = confusion_frame({"tp": 0, "fp": 0, "tn": 0, "fn": 0})

    assert frame["percent"].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_cost_weights_false_positives():
    metrics = {"fp": 3, "fn": 5}

    assert cost(metrics, 1.0) == 8.0
    assert cost(metrics, 4.0) == 17.0
    assert cost(metrics, 0.0) == 5.0


@pytest.mark.parametrize("ratio", [-1.0, float("nan"), float("inf")])
def test_cost_rejects_invalid_ratio(ratio):
    with pytest.raises(ValueError, match="cost_ratio"):
        cost({"fp": 1, "fn": 1}, ratio)
