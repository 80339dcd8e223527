"""Tests for analysis.slices: bucket edges, labels and metrics per slice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.metrics import METRIC_COLUMNS, binary_metrics
from analysis.slices import (
    ALL_ROWS_LABEL,
    MISSING_LABEL,
    bucket_edges,
    metrics_by_slice,
    slice_labels,
)

# bucket edges and labels, checked by hand


def test_two_equal_width_buckets_with_missing():
    # Mean 45.3, population std 24.5, so inner edges round to whole numbers.
    # The midpoint (17 + 90) / 2 = 53.5 rounds half up, to 54.
    series = pd.Series([17, 20, 35, 50, 90, np.nan, 60])

    labels = slice_labels(series)

    assert labels.tolist() == [
        "[17, 54)",
        "[17, 54)",
        "[17, 54)",
        "[17, 54)",
        "[54, 90]",
        MISSING_LABEL,
        "[54, 90]",
    ]
    assert labels.cat.categories.tolist() == ["[17, 54)", "[54, 90]", MISSING_LABEL]
    assert labels.cat.ordered


def test_value_on_inner_edge_starts_next_bucket():
    # Population std sqrt(13.6) = 3.7, so edges round to one decimal: 5.0.
    series = pd.Series([0.0, 10.0, 5.0, 2.0, 8.0])

    labels = slice_labels(series)

    assert labels.tolist() == ["[0, 5)", "[5, 10]", "[5, 10]", "[0, 5)", "[5, 10]"]


def test_edges_round_finer_for_small_std():
    # Population std 0.335, so edges round to two decimals.
    series = pd.Series([0.1, 0.4, 0.7, 1.0])

    labels = slice_labels(series)

    np.testing.assert_allclose(bucket_edges(series, 2), [0.1, 0.55, 1.0])
    assert labels.tolist() == ["[0.1, 0.55)", "[0.1, 0.55)", "[0.55, 1]", "[0.55, 1]"]


def test_edges_round_coarser_for_large_std():
    # Population std about 39,000, so the midpoint 50000.5 rounds to thousands.
    series = pd.Series([0, 12345, 60000, 100001])

    labels = slice_labels(series)

    assert labels.tolist() == [
        "[0, 50000)",
        "[0, 50000)",
        "[50000, 100001]",
        "[50000, 100001]",
    ]


def test_three_equal_width_buckets():
    series = pd.Series(range(10))

    labels = slice_labels(series, n_buckets=3)

    assert labels.tolist() == ["[0, 3)"] * 3 + ["[3, 6)"] * 3 + ["[6, 9]"] * 4


def test_quantile_buckets():
    # Quartiles of 1..8 are 2.75, 4.5 and 6.25. The std of 2.29 gives one decimal,
    # and 2.75 and 6.25 round half up.
    series = pd.Series([8, 1, 2, 3, 4, 5, 6, 7])

    labels = slice_labels(series, n_buckets=4, method="quantile")

    assert labels.cat.categories.tolist() == [
        "[1, 2.8)",
        "[2.8, 4.5)",
        "[4.5, 6.3)",
        "[6.3, 8]",
    ]
    assert labels.tolist() == [
        "[6.3, 8]",
        "[1, 2.8)",
        "[1, 2.8)",
        "[2.8, 4.5)",
        "[2.8, 4.5)",
        "[4.5, 6.3)",
        "[4.5, 6.3)",
        "[6.3, 8]",
    ]


def test_quantile_buckets_merge_tied_edges():
    series = pd.Series([0] * 8 + [1, 2, 3, 4])

    labels = slice_labels(series, n_buckets=4, method="quantile")

    # Quartiles are 0, 0 and 1.25. The first two equal the minimum, so one inner
    # edge is left, 1.25 rounded half up to 1.3.
    assert labels.cat.categories.tolist() == ["[0, 1.3)", "[1.3, 4]"]


def test_empty_bucket_dropped():
    # Edges 0, 3.3, 6.7 and 10: nothing falls in the middle bucket.
    series = pd.Series([0.0, 0.0, 1.0, 10.0, 10.0, 9.0])

    labels = slice_labels(series, n_buckets=3)

    assert labels.cat.categories.tolist() == ["[0, 3.3)", "[6.7, 10]"]


def test_few_numeric_values_are_their_own_slices():
    series = pd.Series([2.0, 1.0, 2.0, np.nan])

    labels = slice_labels(series)

    assert labels.tolist() == ["2", "1", "2", MISSING_LABEL]
    assert labels.cat.categories.tolist() == ["1", "2", MISSING_LABEL]


def test_numeric_values_equal_to_bucket_count_not_bucketed():
    series = pd.Series([1, 5, 9, 1, 5, 9])

    labels = slice_labels(series, n_buckets=3)

    assert labels.cat.categories.tolist() == ["1", "5", "9"]


def test_categorical_values_sorted_with_missing_last():
    series = pd.Series(["red", None, "blue", "red"], dtype="str")

    labels = slice_labels(series)

    assert labels.tolist() == ["red", MISSING_LABEL, "blue", "red"]
    assert labels.cat.categories.tolist() == ["blue", "red", MISSING_LABEL]


def test_boolean_series_is_categorical():
    labels = slice_labels(pd.Series([True, False, True]))

    assert labels.tolist() == ["True", "False", "True"]


def test_labels_keep_index():
    series = pd.Series(["a", "b"], index=[10, 20], name="colour")

    labels = slice_labels(series)

    assert labels.index.tolist() == [10, 20]
    assert labels.name == "colour"


def test_invalid_arguments():
    with pytest.raises(ValueError, match="n_buckets"):
        slice_labels(pd.Series([1, 2, 3]), n_buckets=1)
    with pytest.raises(ValueError, match="method"):
        slice_labels(pd.Series([1, 2, 3]), method="log")


# metrics per slice


@pytest.fixture
def scored() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 300
    return pd.DataFrame(
        {
            "age": rng.integers(17, 90, n),
            "colour": rng.choice(
                ["red", "green", "blue", None], n, p=[0.5, 0.3, 0.15, 0.05]
            ),
            "y_true": rng.random(n) < 0.35,
            "y_score": rng.random(n),
        }
    )


@pytest.mark.parametrize("feature", ["age", "colour"])
def test_slice_metrics_equal_subset_metrics(scored, feature):
    labels = slice_labels(scored[feature], n_buckets=3)

    result = metrics_by_slice(scored["y_true"], scored["y_score"], labels, 0.4)

    assert result["slice"].iloc[0] == ALL_ROWS_LABEL
    overall = binary_metrics(scored["y_true"], scored["y_score"], 0.4)
    for name in METRIC_COLUMNS:
        assert result[name].iloc[0] == pytest.approx(overall[name]), name

    assert result["slice"].iloc[1:].tolist() == labels.cat.categories.tolist()
    for _, row in result.iloc[1:].iterrows():
        subset = scored[(labels == row["slice"]).to_numpy()]
        expected = binary_metrics(subset["y_true"], subset["y_score"], 0.4)
        for name in METRIC_COLUMNS:
            assert row[name] == pytest.approx(expected[name]), (row["slice"], name)


def test_small_slices_flagged(scored):
    labels = slice_labels(scored["colour"])

    result = metrics_by_slice(scored["y_true"], scored["y_score"], labels, 0.5)

    counts = dict(zip(result["slice"], result["count"], strict=True))
    small = dict(zip(result["slice"], result["small"], strict=True))
    for name, count in counts.items():
        assert small[name] == (count < 30), name
    assert small[MISSING_LABEL]


def test_plain_labels_with_missing_values():
    result = metrics_by_slice(
        [True, False, True, False], [0.9, 0.8, 0.1, 0.2], ["b", None, "a", "b"], 0.5
    )

    assert result["slice"].tolist() == [ALL_ROWS_LABEL, "a", "b", MISSING_LABEL]
    assert result["count"].tolist() == [4, 1, 2, 1]
    assert result["tp"].tolist() == [1, 0, 1, 0]
    assert result["fp"].tolist() == [1, 0, 0, 1]


def test_empty_input_keeps_all_rows_row():
    result = metrics_by_slice(np.array([], dtype=bool), np.array([]), [], 0.5)

    assert result["slice"].tolist() == [ALL_ROWS_LABEL]
    assert result["count"].tolist() == [0]


def test_slice_length_checked():
    with pytest.raises(ValueError, match="length"):
        metrics_by_slice([True, False], [0.1, 0.2], ["a"], 0.5)
