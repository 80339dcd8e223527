"""Regression errors per slice, and binned data for residual charts.

The error of a row is ``prediction - label``, as in the What-If Tool, so a
positive mean error (the bias) means the model predicts too high. The median is
the middle value for an odd count and the mean of the two middle values for an
even count: the median error of ``[1, 2, 3]`` is 2 and of ``[1, 2, 3, 4]`` is
2.5. The What-If Tool swapped the two cases and reported 2.5 and 3.

R-squared follows ``sklearn.metrics.r2_score``: NaN for fewer than two rows, and
for labels that are all equal 1.0 when every prediction is exact, else 0.0.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.slices import ALL_ROWS_LABEL, SMALL_SLICE_ROWS, slice_codes

logger = logging.getLogger(__name__)

REGRESSION_COLUMNS = (
    "count",
    "mean_error",
    "median_error",
    "mae",
    "median_absolute_error",
    "mse",
    "rmse",
    "r2",
)

# Bins per axis of the residual and predicted-against-actual charts: at most
# 60 * 60 = 3,600 marks, whatever the number of rows.
CHART_BINS = 60


def regression_metrics(
    y_true: Sequence[float] | np.ndarray | pd.Series,
    y_pred: Sequence[float] | np.ndarray | pd.Series,
) -> dict[str, float | int]:
    """Compute the error statistics of all rows.

    Parameters
    ----------
    y_true : array-like of float, shape (n,)
        True values.
    y_pred : array-like of float, shape (n,)
        Predicted values.

    Returns
    -------
    dict
        The names of :data:`REGRESSION_COLUMNS`; ``count`` is an int and the
        others are floats (NaN when there are no rows).
    """
    frame = regression_metrics_by_slice(y_true, y_pred, np.zeros(len(y_pred)))
    row = frame.iloc[0]
    return {
        name: int(row[name]) if name == "count" else float(row[name])
        for name in REGRESSION_COLUMNS
    }


def regression_metrics_by_slice(
    y_true: Sequence[float] | np.ndarray | pd.Series,
    y_pred: Sequence[float] | np.ndarray | pd.Series,
    slices: Sequence[Any] | np.ndarray | pd.Series,
    *,
    min_rows: int = SMALL_SLICE_ROWS,
) -> pd.DataFrame:
    """Compute error statistics for all rows and for each slice.

    Parameters
    ----------
    y_true : array-like of float, shape (n,)
        True values.
    y_pred : array-like of float, shape (n,)
        Predicted values.
    slices : array-like of shape (n,)
        Slice label of each row, see :func:`analysis.slices.slice_codes`.
    min_rows : int, default 30
        Slices with fewer rows get ``small=True``.

    Returns
    -------
    pandas.DataFrame
        ``"All rows"`` first, then one row per non-empty slice, with columns
        ``slice``, the names of :data:`REGRESSION_COLUMNS` and ``small``. The
        mean error is the slice's bias.

    Raises
    ------
    ValueError
        If the inputs differ in length or hold NaN or infinite values.
    """
    truth, predictions = _checked_values(y_true, y_pred)
    codes, names = slice_codes(slices, len(truth))
    errors = predictions - truth

    overall = _error_statistics(np.zeros(len(codes), dtype=np.int64), truth, errors, 1)
    per_slice = _error_statistics(codes, truth, errors, len(names))
    frame = pd.DataFrame(
        {
            "slice": [ALL_ROWS_LABEL, *names],
            **{
                name: np.concatenate([overall[name], per_slice[name]])
                for name in REGRESSION_COLUMNS
            },
        }
    )
    frame["small"] = frame["count"] < min_rows
    keep = frame["count"].to_numpy() > 0
    keep[0] = True
    return frame.loc[keep].reset_index(drop=True)


def _error_statistics(
    codes: np.ndarray, truth: np.ndarray, errors: np.ndarray, n_groups: int
) -> dict[str, np.ndarray]:
    """Compute every statistic of :data:`REGRESSION_COLUMNS` per code."""
    count = np.bincount(codes, minlength=n_groups)
    absolute = np.abs(errors)
    squared_sum = np.bincount(codes, errors**2, n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_error = np.bincount(codes, errors, n_groups) / count
        mae = np.bincount(codes, absolute, n_groups) / count
        mse = squared_sum / count
        r2 = _r_squared(codes, truth, squared_sum, count)

    order = _sort_rows_by_code(codes, n_groups)
    return {
        "count": count,
        "mean_error": mean_error,
        "median_error": _group_medians(errors, order, count),
        "mae": mae,
        "median_absolute_error": _group_medians(absolute, order, count),
        "mse": mse,
        "rmse": np.sqrt(mse),
        "r2": r2,
    }


def residual_bins(
    y_true: Sequence[float] | np.ndarray | pd.Series,
    y_pred: Sequence[float] | np.ndarray | pd.Series,
    *,
    n_bins: int = CHART_BINS,
) -> pd.DataFrame:
    """Count rows in a grid of prediction (x) against error (y) bins.

    Parameters
    ----------
    y_true, y_pred : array-like of float, shape (n,)
        True and predicted values.
    n_bins : int, default 60
        Bins per axis, between 2 and 200.

    Returns
    -------
    pandas.DataFrame
        One row per non-empty bin with ``x_start``, ``x_end``, ``y_start``,
        ``y_end`` and ``count``, at most ``n_bins ** 2`` rows.
    """
    truth, predictions = _checked_values(y_true, y_pred)
    return _grid_counts(predictions, predictions - truth, n_bins, same_range=False)


def prediction_bins(
    y_true: Sequence[float] | np.ndarray | pd.Series,
    y_pred: Sequence[float] | np.ndarray | pd.Series,
    *,
    n_bins: int = CHART_BINS,
) -> pd.DataFrame:
    """Count rows in a grid of actual (x) against predicted (y) value bins.

    Both axes share one range, so exact predictions lie on the diagonal.

    Parameters
    ----------
    y_true, y_pred : array-like of float, shape (n,)
        True and predicted values.
    n_bins : int, default 60
        Bins per axis, between 2 and 200.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`residual_bins`.
    """
    truth, predictions = _checked_values(y_true, y_pred)
    return _grid_counts(truth, predictions, n_bins, same_range=True)


def _grid_counts(
    x: np.ndarray, y: np.ndarray, n_bins: int, *, same_range: bool
) -> pd.DataFrame:
    if not 2 <= n_bins <= 200:
        raise ValueError(f"n_bins must be between 2 and 200, got {n_bins}")
    columns = ["x_start", "x_end", "y_start", "y_end", "count"]
    if len(x) == 0:
        return pd.DataFrame({name: [] for name in columns}).astype(float)

    x_range = _padded_range(x, y if same_range else x)
    y_range = x_range if same_range else _padded_range(y, y)
    counts, x_edges, y_edges = np.histogram2d(
        x, y, bins=n_bins, range=[x_range, y_range]
    )
    x_index, y_index = np.nonzero(counts)
    return pd.DataFrame(
        {
            "x_start": x_edges[x_index],
            "x_end": x_edges[x_index + 1],
            "y_start": y_edges[y_index],
            "y_end": y_edges[y_index + 1],
            "count": counts[x_index, y_index].astype(np.int64),
        }
    )


def _padded_range(first: np.ndarray, second: np.ndarray) -> tuple[float, float]:
    """Return the range covering both arrays, widened when it is a single value."""
    low = float(min(first.min(), second.min()))
    high = float(max(first.max(), second.max()))
    if low == high:
        return low - 0.5, high + 0.5
    return low, high


def _sort_rows_by_code(codes: np.ndarray, n_groups: int) -> np.ndarray | None:
    """Return the row positions sorted by code, or None when there is one group.

    The sort is stable, so each group keeps its rows in their original order.
    numpy sorts 8- and 16-bit integers stably with a radix sort, linear in the
    number of rows, so the codes are narrowed to the smallest type first.
    """
    if n_groups <= 1:
        return None
    narrow = np.min_scalar_type(n_groups - 1)
    return np.argsort(codes.astype(narrow), kind="stable")


def _group_medians(
    values: np.ndarray, order: np.ndarray | None, count: np.ndarray
) -> np.ndarray:
    """Return the median of ``values`` within each code, NaN for empty codes.

    ``order`` comes from :func:`_sort_rows_by_code` and ``count`` is the number of
    rows of each code.
    """
    # Both are copies, so partitioning them in place leaves ``values`` as it was.
    grouped = values.copy() if order is None else values[order]
    ends = np.cumsum(count)

    medians = np.full(len(count), np.nan)
    for code in np.flatnonzero(count):
        part = grouped[ends[code] - count[code] : ends[code]]
        # The lower and upper middle positions coincide when the count is odd.
        lower, upper = (count[code] - 1) // 2, count[code] // 2
        part.partition([lower, upper])
        medians[code] = (part[lower] + part[upper]) / 2.0
    return medians


def _r_squared(
    codes: np.ndarray, truth: np.ndarray, ss_residual: np.ndarray, count: np.ndarray
) -> np.ndarray:
    """Compute 1 - SS_res / SS_tot per code, following sklearn's special cases.

    ``ss_residual`` is the sum of the squared errors of each code.
    """
    n_groups = len(count)
    mean_truth = np.bincount(codes, truth, n_groups) / count
    ss_total = np.bincount(codes, (truth - mean_truth[codes]) ** 2, n_groups)

    r2 = 1.0 - ss_residual / ss_total
    constant = ss_total == 0
    r2[constant] = np.where(ss_residual[constant] == 0, 1.0, 0.0)
    r2[count < 2] = np.nan
    return r2


def _checked_values(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(y_true, dtype=float)
    predictions = np.asarray(y_pred, dtype=float)
    if truth.ndim != 1 or truth.shape != predictions.shape:
        raise ValueError(
            f"y_true and y_pred must be 1-D and of equal length, got shapes "
            f"{truth.shape} and {predictions.shape}"
        )
    for name, values in (("y_true", truth), ("y_pred", predictions)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(
                f"{name} contains {int(bad.sum())} NaN or infinite value(s), first "
                f"at row {int(np.argmax(bad))}; drop those rows first"
            )
    return truth, predictions
