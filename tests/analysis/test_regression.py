"""Tests for analysis.regression against scikit-learn, numpy and hand values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    mean_absolute_error,
    mean_squared_error,
    median_absolute_error,
    r2_score,
)

from analysis.regression import (
    REGRESSION_COLUMNS,
    prediction_bins,
    regression_metrics,
    regression_metrics_by_slice,
    residual_bins,
)
from analysis.slices import ALL_ROWS_LABEL, slice_labels


@pytest.fixture
def regression_data() -> pd.DataFrame:
    rng = np.random.default_rng(31)
    n = 5_000
    y_true = rng.normal(50, 10, n)
    return pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": y_true + rng.normal(1.5, 4, n),
            "region": rng.choice(["east", "west", "tiny"], n, p=[0.6, 0.395, 0.005]),
            "age": rng.integers(18, 80, n),
        }
    )


# the median, right for odd and even counts


def test_median_error_odd_count():
    # Errors are 1, 2, 3; the What-If Tool reported 2.5.
    metrics = regression_metrics([0, 0, 0], [1, 2, 3])

    assert metrics["median_error"] == 2.0


def test_median_error_even_count():
    # Errors are 1, 2, 3, 4; the What-If Tool reported 3.
    metrics = regression_metrics([0, 0, 0, 0], [1, 2, 3, 4])

    assert metrics["median_error"] == 2.5


def test_median_error_unsorted_input():
    # Errors 4, -1, 2: sorted -1, 2, 4, so the median is 2, and the median
    # absolute error of 4, 1, 2 is 2.
    metrics = regression_metrics([1, 2, 3], [5, 1, 5])

    assert metrics["median_error"] == 2.0
    assert metrics["median_absolute_error"] == 2.0


def test_slice_medians_equal_numpy_odd_and_even():
    """Check the medians of slices of 1 to 12 rows exactly against np.median."""
    rng = np.random.default_rng(8)
    sizes = np.arange(1, 13)
    slices = np.repeat([f"s{size:02d}" for size in sizes], sizes)
    order = rng.permutation(len(slices))
    slices = slices[order]
    # Rounded values give ties inside the slices.
    y_true = rng.normal(0, 3, len(slices)).round(0)
    y_pred = rng.normal(0, 3, len(slices)).round(1)

    table = regression_metrics_by_slice(y_true, y_pred, slices).set_index("slice")

    errors = pd.Series(y_pred - y_true)
    for name, group in errors.groupby(slices):
        values = group.to_numpy()
        median, median_absolute = np.median(values), np.median(np.abs(values))
        assert table.loc[name, "count"] == len(values)
        assert table.loc[name, "median_error"] == median, name
        assert table.loc[name, "median_absolute_error"] == median_absolute, name
    assert table.loc[ALL_ROWS_LABEL, "median_error"] == np.median(errors)
    assert table.loc[ALL_ROWS_LABEL, "median_absolute_error"] == np.median(
        np.abs(errors)
    )


def test_many_slice_medians_equal_pandas():
    """Check medians over 300 slices, which need 16-bit codes, against pandas."""
    rng = np.random.default_rng(9)
    n = 20_000
    slices = rng.integers(0, 300, n)
    y_true = rng.normal(50, 10, n)
    y_pred = y_true + rng.standard_t(3, n)

    table = regression_metrics_by_slice(y_true, y_pred, slices)

    errors = pd.Series(y_pred - y_true)
    expected = errors.groupby(slices).median()
    expected_absolute = errors.abs().groupby(slices).median()
    by_slice = table.iloc[1:].set_index("slice")
    assert by_slice.index.tolist() == [str(code) for code in expected.index]
    assert by_slice["median_error"].tolist() == expected.tolist()
    assert by_slice["median_absolute_error"].tolist() == expected_absolute.tolist()


def test_medians_leave_inputs_unchanged():
    y_true = np.array([3.0, 1.0, 2.0, 0.0])
    y_pred = np.array([0.0, 0.0, 0.0, 0.0])

    regression_metrics_by_slice(y_true, y_pred, ["a", "b", "a", "b"])

    assert y_true.tolist() == [3.0, 1.0, 2.0, 0.0]
    assert y_pred.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_error_is_prediction_minus_label():
    metrics = regression_metrics([10.0, 20.0], [12.0, 23.0])

    assert metrics["mean_error"] == 2.5
    assert metrics["mae"] == 2.5
    assert metrics["mse"] == pytest.approx((4 + 9) / 2)
    assert metrics["rmse"] == pytest.approx(math.sqrt(6.5))


# against scikit-learn


def test_overall_metrics_equal_sklearn(regression_data):
    y_true, y_pred = regression_data["y_true"], regression_data["y_pred"]

    metrics = regression_metrics(y_true, y_pred)

    assert list(metrics) == list(REGRESSION_COLUMNS)
    assert metrics["count"] == len(y_true)
    assert metrics["mae"] == pytest.approx(mean_absolute_error(y_true, y_pred))
    assert metrics["median_absolute_error"] == pytest.approx(
        median_absolute_error(y_true, y_pred)
    )
    assert metrics["mse"] == pytest.approx(mean_squared_error(y_true, y_pred))
    assert metrics["rmse"] == pytest.approx(
        math.sqrt(mean_squared_error(y_true, y_pred))
    )
    assert metrics["r2"] == pytest.approx(r2_score(y_true, y_pred))
    assert metrics["mean_error"] == pytest.approx(np.mean(y_pred - y_true))
    assert metrics["median_error"] == pytest.approx(np.median(y_pred - y_true))


@pytest.mark.parametrize("feature", ["region", "age"])
def test_slice_metrics_equal_sklearn(regression_data, feature):
    labels = slice_labels(regression_data[feature], n_buckets=4)

    table = regression_metrics_by_slice(
        regression_data["y_true"], regression_data["y_pred"], labels
    )

    assert table["slice"].iloc[0] == ALL_ROWS_LABEL
    assert table["slice"].iloc[1:].tolist() == labels.cat.categories.tolist()
    for _, row in table.iloc[1:].iterrows():
        subset = regression_data[(labels == row["slice"]).to_numpy()]
        y_true, y_pred = subset["y_true"], subset["y_pred"]
        assert row["count"] == len(subset)
        assert row["mae"] == pytest.approx(mean_absolute_error(y_true, y_pred))
        assert row["median_absolute_error"] == pytest.approx(
            median_absolute_error(y_true, y_pred)
        )
        assert row["rmse"] == pytest.approx(
            math.sqrt(mean_squared_error(y_true, y_pred))
        )
        assert row["r2"] == pytest.approx(r2_score(y_true, y_pred))
        assert row["mean_error"] == pytest.approx(np.mean(y_pred - y_true))
        assert row["median_error"] == pytest.approx(np.median(y_pred - y_true))
        assert row["small"] == (len(subset) < 30)


def test_bias_and_mae_per_group_by_hand():
    # Group a: errors +1 and +3 -> bias 2, MAE 2. Group b: errors -2 and +2 ->
    # bias 0, MAE 2.
    table = regression_metrics_by_slice(
        [0, 0, 10, 10], [1, 3, 8, 12], ["a", "a", "b", "b"]
    ).set_index("slice")

    assert table.loc["a", "mean_error"] == 2.0
    assert table.loc["a", "mae"] == 2.0
    assert table.loc["b", "mean_error"] == 0.0
    assert table.loc["b", "mae"] == 2.0


def test_r2_special_cases_follow_sklearn():
    table = regression_metrics_by_slice(
        [5.0, 5.0, 5.0, 5.0, 1.0],
        [5.0, 5.0, 4.0, 6.0, 2.0],
        ["exact", "exact", "off", "off", "single"],
    ).set_index("slice")

    # Constant labels: 1.0 when every prediction is exact, else 0.0.
    assert table.loc["exact", "r2"] == r2_score([5.0, 5.0], [5.0, 5.0])
    assert table.loc["off", "r2"] == r2_score([5.0, 5.0], [4.0, 6.0])
    # One row: scikit-learn returns NaN (and warns).
    assert math.isnan(table.loc["single", "r2"])


def test_non_finite_values_rejected():
    with pytest.raises(ValueError, match="y_pred contains 1 NaN or infinite"):
        regression_metrics([1.0, 2.0], [1.0, np.nan])


def test_length_mismatch_rejected():
    with pytest.raises(ValueError, match="equal length"):
        regression_metrics([1.0, 2.0], [1.0])


# chart data


def test_residual_bins_cover_every_row(regression_data):
    y_true, y_pred = regression_data["y_true"], regression_data["y_pred"]

    bins = residual_bins(y_true, y_pred, n_bins=30)

    assert bins["count"].sum() == len(y_true)
    assert len(bins) <= 30 * 30
    errors = y_pred - y_true
    assert bins["y_start"].min() == pytest.approx(errors.min())
    assert bins["y_end"].max() == pytest.approx(errors.max())
    assert bins["x_start"].min() == pytest.approx(y_pred.min())


def test_prediction_bins_share_one_range(regression_data):
    y_true, y_pred = regression_data["y_true"], regression_data["y_pred"]

    bins = prediction_bins(y_true, y_pred)

    assert bins["count"].sum() == len(y_true)
    low = min(y_true.min(), y_pred.min())
    high = max(y_true.max(), y_pred.max())
    assert bins["x_start"].min() >= low - 1e-9
    assert bins["y_start"].min() >= low - 1e-9
    assert bins["x_end"].max() <= high + 1e-9
    widths = (bins["x_end"] - bins["x_start"]).round(9).unique()
    heights = (bins["y_end"] - bins["y_start"]).round(9).unique()
    assert len(widths) == 1
    assert widths[0] == heights[0]


def test_bins_by_hand():
    # Predictions 0 and 1 (errors 0 and 1), 2 bins per axis: the rows fall in
    # opposite corners.
    bins = residual_bins([0.0, 0.0], [0.0, 1.0], n_bins=2)

    assert bins[["x_start", "x_end", "y_start", "y_end", "count"]].values.tolist() == [
        [0.0, 0.5, 0.0, 0.5, 1],
        [0.5, 1.0, 0.5, 1.0, 1],
    ]


def test_bin_count_limits():
    with pytest.raises(ValueError, match="n_bins"):
        residual_bins([1.0], [1.0], n_bins=1)
