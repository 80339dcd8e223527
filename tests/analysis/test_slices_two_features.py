"""Tests for intersections of two features, per-slice thresholds and sorting."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
)
from sklearn.metrics import accuracy_score, precision_score, recall_score

from analysis.metrics import METRIC_COLUMNS, binary_metrics
from analysis.slices import (
    ALL_ROWS_LABEL,
    MISSING_LABEL,
    cross_slice_labels,
    metrics_by_slice,
    metrics_by_slice_at_thresholds,
    slice_codes,
    slice_labels,
    slice_thresholds,
    sort_slices,
    thresholds_per_row,
)


@pytest.fixture
def scored() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 2_000
    return pd.DataFrame(
        {
            "age": rng.integers(17, 90, n),
            "hours": rng.normal(40, 12, n).round(1),
            "sex": rng.choice(["Female", "Male"], n, p=[0.35, 0.65]),
            "colour": rng.choice(["red", "green", None], n, p=[0.6, 0.38, 0.02]),
            "y_true": rng.random(n) < 0.3,
            "y_score": rng.random(n),
        }
    )


# intersection labels


def test_cross_labels_by_hand():
    first = pd.Series(["b", "a", "b", None], name="letter")
    second = pd.Series([1, 2, 2, 1], name="number")

    labels = cross_slice_labels(first, second)

    assert labels.tolist() == ["b / 1", "a / 2", "b / 2", f"{MISSING_LABEL} / 1"]
    # Ordered by the first feature's slices, then the second's; the unused
    # combinations "a / 1" and "(missing) / 2" are dropped.
    assert labels.cat.categories.tolist() == [
        "a / 2",
        "b / 1",
        "b / 2",
        f"{MISSING_LABEL} / 1",
    ]
    assert labels.name == "letter / number"


def test_cross_labels_bucket_numeric_features(scored):
    labels = cross_slice_labels(
        scored["age"],
        scored["hours"],
        n_buckets=3,
        second_n_buckets=4,
        second_method="quantile",
    )

    age = slice_labels(scored["age"], n_buckets=3)
    hours = slice_labels(scored["hours"], n_buckets=4, method="quantile")
    expected = age.astype(str) + " / " + hours.astype(str)
    assert labels.astype(str).tolist() == expected.tolist()
    assert len(age.cat.categories) == 3
    assert len(hours.cat.categories) == 4
    assert len(labels.cat.categories) <= 12


def test_cross_labels_equal_brute_force():
    """Check each row's pair and the kept pairs against a loop over the rows."""
    rng = np.random.default_rng(5)
    n = 3_000
    first = pd.Series(
        rng.choice(["x", "y", "z", None], n, p=[0.5, 0.3, 0.19, 0.01]), name="f"
    )
    # "z" never meets the high values, so some pairs do not occur.
    values = rng.normal(40, 12, n).round(1)
    values[(first == "z").to_numpy()] = 10.0
    values[rng.random(n) < 0.01] = np.nan
    second = pd.Series(values, name="s")

    labels = cross_slice_labels(first, second, n_buckets=4)

    first_labels = slice_labels(first)
    second_labels = slice_labels(second, n_buckets=4)
    expected = [f"{a} / {b}" for a, b in zip(first_labels, second_labels, strict=True)]
    assert labels.astype(str).tolist() == expected

    first_order = {name: k for k, name in enumerate(first_labels.cat.categories)}
    second_order = {name: k for k, name in enumerate(second_labels.cat.categories)}
    pairs = {(a, b) for a, b in zip(first_labels, second_labels, strict=True)}
    ordered = sorted(pairs, key=lambda p: (first_order[p[0]], second_order[p[1]]))
    assert labels.cat.categories.tolist() == [f"{a} / {b}" for a, b in ordered]
    assert len(ordered) < len(first_order) * len(second_order)
    assert labels.cat.ordered
    assert labels.index.equals(first.index)


def test_bucket_labels_drop_empty_buckets():
    """Check that a bucket no value falls in is left out, as pandas would."""
    values = pd.Series([0, 1, 2, 3, 9, 10, 10, np.nan], index=list("abcdefgh"))

    labels = slice_labels(values, n_buckets=4)

    # Equal-width edges 0, 2.5, 5, 7.5, 10: no value is in [5, 7.5).
    names = ["[0, 2.5)", "[2.5, 5)", "[5, 7.5)", "[7.5, 10]", MISSING_LABEL]
    full = pd.Series(
        pd.Categorical.from_codes(
            [0, 0, 0, 1, 3, 3, 3, 4], categories=names, ordered=True
        ),
        index=values.index,
    )
    expected = full.cat.remove_unused_categories()
    assert labels.cat.categories.tolist() == [
        "[0, 2.5)",
        "[2.5, 5)",
        "[7.5, 10]",
        MISSING_LABEL,
    ]
    pd.testing.assert_series_equal(labels, expected, check_names=False)


def test_cross_labels_length_mismatch():
    with pytest.raises(ValueError, match="same length"):
        cross_slice_labels(pd.Series([1, 2]), pd.Series([1]))


def test_intersection_metrics_equal_subset_metrics(scored):
    labels = cross_slice_labels(scored["sex"], scored["age"], n_buckets=3)

    table = metrics_by_slice(scored["y_true"], scored["y_score"], labels, 0.4)

    assert table["slice"].iloc[0] == ALL_ROWS_LABEL
    assert len(table) == 1 + 6
    for _, row in table.iloc[1:].iterrows():
        subset = scored[(labels == row["slice"]).to_numpy()]
        expected = binary_metrics(subset["y_true"], subset["y_score"], 0.4)
        for name in METRIC_COLUMNS:
            assert row[name] == pytest.approx(expected[name]), (row["slice"], name)


# per-slice thresholds


def test_thresholds_per_slice_by_hand():
    # Slice a at 0.5: 0.9 (positive) -> TP, 0.4 (positive) -> FN.
    # Slice b at 0.3: 0.35 (negative) -> FP, 0.2 (negative) -> TN.
    # All rows: TP 1, FP 1, TN 1, FN 1; cost with ratio 2 is 2 * 1 + 1 = 3.
    table = metrics_by_slice_at_thresholds(
        [True, True, False, False],
        [0.9, 0.4, 0.35, 0.2],
        ["a", "a", "b", "b"],
        {"a": 0.5, "b": 0.3},
        cost_ratio=2.0,
    )

    assert table["slice"].tolist() == [ALL_ROWS_LABEL, "a", "b"]
    assert table["tp"].tolist() == [1, 1, 0]
    assert table["fn"].tolist() == [1, 1, 0]
    assert table["fp"].tolist() == [1, 0, 1]
    assert table["tn"].tolist() == [1, 0, 1]
    assert table["cost"].tolist() == [3.0, 1.0, 2.0]
    assert math.isnan(table["threshold"].iloc[0])
    assert table["threshold"].iloc[1:].tolist() == [0.5, 0.3]


def test_one_threshold_matches_metrics_by_slice(scored):
    labels = slice_labels(scored["colour"])

    plain = metrics_by_slice(scored["y_true"], scored["y_score"], labels, 0.6)
    per_slice = metrics_by_slice_at_thresholds(
        scored["y_true"], scored["y_score"], labels, 0.6
    )

    pd.testing.assert_frame_equal(per_slice.drop(columns=["threshold", "cost"]), plain)
    assert per_slice["threshold"].tolist() == [0.6] * len(per_slice)
    expected_cost = plain["fp"] + plain["fn"]
    assert per_slice["cost"].tolist() == expected_cost.astype(float).tolist()


def test_per_slice_thresholds_match_fairlearn(scored):
    labels = cross_slice_labels(scored["sex"], scored["colour"])
    names = labels.cat.categories.tolist()
    thresholds = {name: 0.2 + 0.1 * k for k, name in enumerate(names)}
    predicted = scored["y_score"].to_numpy() >= thresholds_per_row(labels, thresholds)

    table = metrics_by_slice_at_thresholds(
        scored["y_true"], scored["y_score"], labels, thresholds
    )

    frame = MetricFrame(
        metrics={
            "accuracy": accuracy_score,
            "precision": lambda t, p: precision_score(t, p, zero_division=0),
            "recall": lambda t, p: recall_score(t, p, zero_division=0),
            "fpr": false_positive_rate,
            "fnr": false_negative_rate,
            "selection_rate": selection_rate,
            "count": count,
        },
        y_true=scored["y_true"],
        y_pred=predicted,
        sensitive_features=labels.astype(str),
    )
    by_group = frame.by_group
    rows = table.set_index("slice")
    for name in names:
        row = rows.loc[name]
        assert row["count"] == by_group.loc[name, "count"], name
        for metric in ("accuracy", "precision", "recall", "fpr", "fnr"):
            assert row[metric] == pytest.approx(by_group.loc[name, metric]), (
                name,
                metric,
            )
        selected = (row["tp"] + row["fp"]) / row["count"]
        assert selected == pytest.approx(by_group.loc[name, "selection_rate"])
    overall = rows.loc[ALL_ROWS_LABEL]
    assert overall["accuracy"] == pytest.approx(frame.overall["accuracy"])
    assert overall["recall"] == pytest.approx(frame.overall["recall"])


def test_default_threshold_for_unnamed_slices():
    table = metrics_by_slice_at_thresholds(
        [True, True], [0.6, 0.6], ["a", "b"], {"a": 0.7}, default_threshold=0.5
    )

    assert table["threshold"].tolist()[1:] == [0.7, 0.5]
    assert table["tp"].tolist() == [1, 0, 1]


def test_infinite_threshold_predicts_nothing():
    table = metrics_by_slice_at_thresholds(
        [True, False], [1.0, 0.9], ["a", "a"], {"a": math.inf}
    )

    assert table["tp"].tolist() == [0, 0]
    assert table["fp"].tolist() == [0, 0]


def test_unknown_slice_threshold_rejected():
    with pytest.raises(ValueError, match="unknown slice"):
        metrics_by_slice_at_thresholds([True], [0.5], ["a"], {"b": 0.4})


def test_nan_threshold_rejected():
    with pytest.raises(ValueError, match="threshold of slice 'a'"):
        slice_thresholds(["a"], {"a": math.nan})


def test_min_rows_flags_small_slices(scored):
    labels = slice_labels(scored["colour"])

    table = metrics_by_slice_at_thresholds(
        scored["y_true"], scored["y_score"], labels, 0.5, min_rows=100
    )

    for _, row in table.iterrows():
        assert row["small"] == (row["count"] < 100), row["slice"]
    assert table.set_index("slice").loc[MISSING_LABEL, "small"]


def test_slice_codes_sort_plain_labels():
    codes, names = slice_codes(["b", None, "a", "b"])

    assert names == ["a", "b", MISSING_LABEL]
    assert codes.tolist() == [1, 2, 0, 1]


# sorting


def sort_fixture() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "slice": [ALL_ROWS_LABEL, "[17, 54)", "[9, 17)", "[54, 90]", MISSING_LABEL],
            "count": [100, 40, 30, 25, 5],
            "accuracy": [0.8, 0.9, np.nan, 0.7, 0.85],
        }
    )


def test_sort_by_name_compares_numbers():
    result = sort_slices(sort_fixture(), "slice")

    assert result["slice"].tolist() == [
        ALL_ROWS_LABEL,
        "[9, 17)",
        "[17, 54)",
        "[54, 90]",
        MISSING_LABEL,
    ]


def test_sort_by_count_descending():
    result = sort_slices(sort_fixture(), "count")

    assert result["count"].tolist() == [100, 40, 30, 25, 5]


def test_sort_by_metric_ascending_nan_last():
    result = sort_slices(sort_fixture(), "accuracy", ascending=True)

    assert result["slice"].tolist() == [
        ALL_ROWS_LABEL,
        "[54, 90]",
        MISSING_LABEL,
        "[17, 54)",
        "[9, 17)",
    ]


def test_sort_intersections_by_name():
    frame = pd.DataFrame(
        {
            "slice": ["b / 10", f"a / {MISSING_LABEL}", "a / 9", "a / 10"],
            "count": [1, 1, 1, 1],
        }
    )

    result = sort_slices(frame, "slice")

    assert result["slice"].tolist() == [
        "a / 9",
        "a / 10",
        f"a / {MISSING_LABEL}",
        "b / 10",
    ]


def test_sort_unknown_column_rejected():
    with pytest.raises(ValueError, match="cannot sort slices by 'f2'"):
        sort_slices(sort_fixture(), "f2")
