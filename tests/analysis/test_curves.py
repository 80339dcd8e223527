"""Tests for analysis.curves: ROC and PR curves, their areas, thinning, markers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (
    auc,
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
)
from sklearn.metrics import roc_curve as sklearn_roc_curve

from analysis.curves import (
    curve_marker,
    positive_mask,
    pr_curve,
    roc_curve,
    thin_curve,
)
from analysis.metrics import binary_metrics


@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    n = 20_000
    y_true = rng.random(n) < 0.3
    # Rounded scores give ties, which scikit-learn's curves merge into one point.
    y_score = np.clip(rng.normal(0.35 + 0.3 * y_true, 0.2), 0, 1).round(3)
    return y_true, y_score


# areas against scikit-learn


def test_roc_auc_equals_sklearn(scored):
    y_true, y_score = scored

    curve = roc_curve(y_true, y_score)

    assert curve.auc == pytest.approx(roc_auc_score(y_true, y_score), abs=1e-12)


def test_pr_area_equals_sklearn_trapezoid(scored):
    # The What-If Tool under-counted every falling segment of the PR curve; the
    # area here is scikit-learn's auc(recall, precision) over the full curve.
    y_true, y_score = scored
    precision, recall, _ = precision_recall_curve(y_true, y_score)

    curve = pr_curve(y_true, y_score)

    assert curve.auc == pytest.approx(auc(recall, precision), abs=1e-12)
    assert curve.n_points == len(recall)


def test_average_precision_equals_sklearn(scored):
    y_true, y_score = scored

    curve = pr_curve(y_true, y_score)

    assert curve.average_precision == pytest.approx(
        average_precision_score(y_true, y_score), abs=1e-12
    )


def test_pr_area_on_falling_curve_by_hand():
    # Scores 0.9 (positive), 0.8 (negative), 0.7 (positive), 0.6 (negative).
    # Points from the highest threshold down, as (recall, precision):
    # (0, 1) appended, (0.5, 1), (0.5, 0.5), (1, 2/3), (1, 0.5).
    # Trapezoids over recall: 0 to 0.5 under precision 1 gives 0.5, and 0.5 to
    # 1 between 0.5 and 2/3 gives 0.5 * (0.5 + 2/3) / 2 = 0.291666...
    # Vertical steps add nothing, so the area is 0.791666...
    curve = pr_curve([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6], max_points=500)

    assert curve.auc == pytest.approx(0.5 + 0.5 * (0.5 + 2 / 3) / 2)
    # Average precision is the step sum: 0.5 * 1 + 0.5 * 2/3.
    assert curve.average_precision == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_curve_points_match_sklearn_when_short(scored):
    y_true, y_score = scored
    fpr, tpr, thresholds = sklearn_roc_curve(y_true, y_score)

    curve = roc_curve(y_true, y_score, max_points=len(fpr))

    np.testing.assert_array_equal(curve.points["fpr"], fpr)
    np.testing.assert_array_equal(curve.points["tpr"], tpr)
    np.testing.assert_array_equal(curve.points["threshold"], thresholds)


def test_pr_points_end_at_recall_zero(scored):
    y_true, y_score = scored

    points = pr_curve(y_true, y_score).points

    assert points["recall"].iloc[0] == 1.0
    assert points["recall"].iloc[-1] == 0.0
    assert points["precision"].iloc[-1] == 1.0
    assert math.isinf(points["threshold"].iloc[-1])


# string labels


def test_string_labels_counted_with_pos_label():
    # The What-If Tool compared labels as numbers, so "yes"/"no" were never
    # positive. Here "yes" rows are the positives.
    labels = np.array(["yes", "no", "yes", "no", "yes"])
    scores = np.array([0.9, 0.2, 0.4, 0.6, 0.8])

    curve = roc_curve(labels, scores, pos_label="yes")
    marker = curve_marker(labels, scores, 0.5, pos_label="yes")

    assert curve.auc == pytest.approx(roc_auc_score(labels == "yes", scores))
    # At 0.5: predicted positive 0.9 (yes), 0.6 (no), 0.8 (yes).
    assert marker["tpr"] == pytest.approx(2 / 3)
    assert marker["fpr"] == pytest.approx(1 / 2)
    assert marker["precision"] == pytest.approx(2 / 3)


def test_positive_mask_matches_label_as_text():
    mask = positive_mask(np.array([1, 0, 1, None], dtype=object), pos_label="1")

    assert mask.tolist() == [True, False, True, False]


def test_positive_mask_rejects_class_names_without_pos_label():
    with pytest.raises(ValueError, match="positive class first"):
        positive_mask(["yes", "no"])


# degenerate inputs


def test_one_class_gives_nan_areas():
    roc = roc_curve([True, True], [0.2, 0.9])
    pr = pr_curve([False, False], [0.2, 0.9])

    assert math.isnan(roc.auc)
    assert roc.points.empty
    assert math.isnan(pr.auc)
    assert math.isnan(pr.average_precision)
    assert pr.points.empty


def test_nan_score_rejected():
    with pytest.raises(ValueError, match="NaN"):
        roc_curve([True, False], [0.2, np.nan])


def test_length_mismatch_rejected():
    with pytest.raises(ValueError, match="shape"):
        pr_curve([True, False], [0.2, 0.3, 0.4])


# thinning


def test_thinned_curve_within_limit(scored):
    y_true, y_score = scored
    y_score = y_score + np.random.default_rng(0).random(len(y_score)) * 1e-4

    roc = roc_curve(y_true, y_score, max_points=200)
    pr = pr_curve(y_true, y_score, max_points=200)

    assert roc.n_points > 1000
    assert len(roc.points) <= 200
    assert len(pr.points) <= 200


def test_thinned_curve_keeps_ends_and_bin_extremes():
    rng = np.random.default_rng(1)
    x = np.sort(rng.random(5000))
    y = np.sin(12 * x) + rng.normal(0, 0.1, len(x))

    keep = thin_curve(x, y, max_points=100)

    assert len(keep) <= 100
    assert keep[0] == 0
    assert keep[-1] == len(x) - 1
    assert np.all(np.diff(keep) > 0)
    # Each of the 25 bins keeps its lowest and highest point.
    bins = np.minimum((x * 25).astype(int), 24)
    for b in range(25):
        in_bin = np.flatnonzero(bins == b)
        assert np.argmin(y[in_bin]) + in_bin[0] in keep, b
        assert np.argmax(y[in_bin]) + in_bin[0] in keep, b


def test_thinned_roc_area_close_to_full(scored):
    y_true, y_score = scored
    y_score = y_score + np.random.default_rng(0).random(len(y_score)) * 1e-4

    curve = roc_curve(y_true, y_score, max_points=500)

    thinned_area = auc(curve.points["fpr"], curve.points["tpr"])
    assert thinned_area == pytest.approx(curve.auc, abs=2e-3)


def test_thin_curve_rejects_tiny_limit():
    with pytest.raises(ValueError, match="max_points"):
        thin_curve(np.arange(10) / 10, np.arange(10) / 10, max_points=3)


# markers


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.731, 1.0, math.inf])
def test_marker_equals_binary_metrics(scored, threshold):
    y_true, y_score = scored
    expected = binary_metrics(y_true, y_score, min(threshold, 2.0))

    marker = curve_marker(y_true, y_score, threshold)

    assert marker["tpr"] == pytest.approx(expected["recall"])
    assert marker["recall"] == pytest.approx(expected["recall"])
    assert marker["fpr"] == pytest.approx(expected["fpr"])
    assert marker["precision"] == pytest.approx(expected["precision"])


def test_marker_lies_on_sklearn_curve(scored):
    y_true, y_score = scored
    fpr, tpr, thresholds = sklearn_roc_curve(y_true, y_score, drop_intermediate=False)
    position = 40

    marker = curve_marker(y_true, y_score, float(thresholds[position]))

    assert marker["fpr"] == pytest.approx(fpr[position])
    assert marker["tpr"] == pytest.approx(tpr[position])
