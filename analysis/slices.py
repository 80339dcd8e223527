"""Slices: groups of rows by the value of one feature, and metrics per slice.

Bucketing follows the What-If Tool (``calculateBucketEdges_`` and ``getSliceKey_`` in
wit_dashboard/wit-dashboard.html of PAIR-code/what-if-tool). A numeric feature is
cut into buckets only when it has more distinct values than buckets. The default is
2 equal-width buckets between the minimum and the maximum. Inner edges are rounded
half up to one decimal finer than the magnitude of the feature's standard deviation.
Every other feature gives one slice per value.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.metrics import (
    as_positive_mask,
    predicted_positive,
    rates_from_counts,
)

logger = logging.getLogger(__name__)

MISSING_LABEL = "(missing)"
ALL_ROWS_LABEL = "All rows"
# Slices with fewer rows than this get small=True: their rates are too noisy to
# compare with the other slices.
SMALL_SLICE_ROWS = 30
BUCKET_METHODS = ("equal_width", "quantile")

# Extra decimals tried when rounding makes two equal-width edges collide.
_MAX_EXTRA_DECIMALS = 12


def slice_labels(
    series: pd.Series, *, n_buckets: int = 2, method: str = "equal_width"
) -> pd.Series:
    """Assign each row a slice label from one feature.

    A numeric feature with more distinct non-missing values than ``n_buckets`` is
    cut into buckets labelled ``"[lo, hi)"``, the last one ``"[lo, hi]"``. Any
    other feature gives one slice per value, labelled with the value. Missing
    values get the slice ``"(missing)"``.

    Parameters
    ----------
    series : pandas.Series
        The feature to slice by.
    n_buckets : int, default 2
        Number of buckets for a numeric feature; at least 2.
    method : {"equal_width", "quantile"}, default "equal_width"
        Equal-width buckets between the minimum and the maximum, or buckets
        between quantiles. Quantile edges that round to the same value are
        merged, so heavily tied data can give fewer buckets.

    Returns
    -------
    pandas.Series
        Ordered categorical labels with the index of ``series``: buckets or
        values in ascending order, then ``"(missing)"``. Empty buckets are
        dropped from the categories.
    """
    if n_buckets < 2:
        raise ValueError(f"n_buckets must be at least 2, got {n_buckets}")
    if method not in BUCKET_METHODS:
        raise ValueError(f"method must be one of {BUCKET_METHODS}, got {method!r}")

    if _is_numeric(series) and series.nunique(dropna=True) > n_buckets:
        return _bucket_labels(series, n_buckets, method)
    return _value_labels(series)


def bucket_edges(
    values: np.ndarray | pd.Series, n_buckets: int, method: str = "equal_width"
) -> np.ndarray:
    """Compute rounded bucket edges for a numeric feature.

    Parameters
    ----------
    values : array-like of float
        Feature values. NaN and infinite values are ignored.
    n_buckets : int
        Requested number of buckets.
    method : {"equal_width", "quantile"}, default "equal_width"

    Returns
    -------
    numpy.ndarray
        Strictly increasing edges. The first and last are the exact minimum and
        maximum, and the inner ones are rounded as described in the module
        docstring.
    """
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError("cannot compute bucket edges: no finite values")
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        return np.array([low, high])

    if method == "equal_width":
        raw_inner = np.linspace(low, high, n_buckets + 1)[1:-1]
    else:
        raw_inner = np.quantile(finite, np.linspace(0.0, 1.0, n_buckets + 1))[1:-1]

    std = float(np.std(finite))
    decimals = 1 - math.floor(math.log10(std))
    for extra in range(_MAX_EXTRA_DECIMALS + 1):
        inner = _rounded_inner_edges(raw_inner, decimals + extra, low, high)
        if method == "quantile" or len(inner) == len(raw_inner):
            break
    else:
        # NOTE: only reached for extreme values, where rounding cannot separate
        # the edges; the edges are then used unrounded.
        inner = raw_inner
    return np.concatenate([[low], inner, [high]])


def metrics_by_slice(
    y_true: Sequence[bool] | np.ndarray | pd.Series,
    y_score: Sequence[float] | np.ndarray | pd.Series,
    slices: Sequence[Any] | np.ndarray | pd.Series,
    threshold: float,
) -> pd.DataFrame:
    """Compute binary metrics for all rows and for each slice.

    Parameters
    ----------
    y_true : array-like of bool, shape (n,)
        Whether each row is actually positive.
    y_score : array-like of shape (n,)
        Score of the positive class.
    slices : array-like of shape (n,)
        Slice label of each row, matched by position, for example the output of
        :func:`slice_labels`. Missing labels form the slice ``"(missing)"``.
    threshold : float
        A row is predicted positive when ``y_score >= threshold``.

    Returns
    -------
    pandas.DataFrame
        One row for ``"All rows"``, then one per non-empty slice in label order,
        with columns ``slice``, ``count``, ``tp``, ``fp``, ``tn``, ``fn``, the
        rates of :func:`analysis.metrics.binary_metrics` and ``small`` (fewer
        than 30 rows).
    """
    is_positive = as_positive_mask(y_true)
    is_predicted = predicted_positive(y_score, threshold, len(is_positive))
    labels = slices if isinstance(slices, pd.Series) else pd.Series(slices)
    if len(labels) != len(is_positive):
        raise ValueError(
            f"slices must have length {len(is_positive)} to match y_true, "
            f"got {len(labels)}"
        )
    if not isinstance(labels.dtype, pd.CategoricalDtype):
        labels = _value_labels(labels)
    codes, names = _codes_with_missing(labels)

    def count_per_slice(mask: np.ndarray) -> np.ndarray:
        per_slice = np.bincount(codes[mask], minlength=len(names))
        return np.concatenate([[per_slice.sum()], per_slice])

    tp = count_per_slice(is_positive & is_predicted)
    fp = count_per_slice(~is_positive & is_predicted)
    tn = count_per_slice(~is_positive & ~is_predicted)
    fn = count_per_slice(is_positive & ~is_predicted)

    frame = pd.DataFrame(
        {
            "slice": [ALL_ROWS_LABEL, *names],
            "count": tp + fp + tn + fn,
            "tp": tp,
            "fp": fp,
            "tn": tn,
            "fn": fn,
            **rates_from_counts(tp, fp, tn, fn),
        }
    )
    frame["small"] = frame["count"] < SMALL_SLICE_ROWS

    # The first row is "All rows", which stays even when there are no rows.
    is_empty = frame["count"].to_numpy() == 0
    is_empty[0] = False
    return frame.loc[~is_empty].reset_index(drop=True)


def _bucket_labels(series: pd.Series, n_buckets: int, method: str) -> pd.Series:
    values = series.to_numpy(dtype=float, na_value=np.nan)
    edges = bucket_edges(values, n_buckets, method)
    names = [
        f"[{_format_number(lo)}, {_format_number(hi)})"
        for lo, hi in zip(edges[:-2], edges[1:-1], strict=True)
    ]
    names.append(f"[{_format_number(edges[-2])}, {_format_number(edges[-1])}]")

    # A value equal to an inner edge starts the next bucket, matching "[lo, hi)".
    # NOTE: infinite values fall into the first or last bucket, although the
    # bucket labels only span the finite minimum and maximum.
    codes = np.searchsorted(edges[1:-1], values, side="right")
    missing = np.isnan(values)
    if missing.any():
        names.append(MISSING_LABEL)
        codes[missing] = len(names) - 1

    labels = pd.Categorical.from_codes(codes, categories=names, ordered=True)
    result = pd.Series(labels, index=series.index, name=series.name)
    return result.cat.remove_unused_categories()


def _value_labels(series: pd.Series) -> pd.Series:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    uniques = list(uniques)
    value_names = [_format_value(value) for value in uniques]

    names = list(dict.fromkeys(value_names[i] for i in _sorted_order(uniques)))
    position = {name: k for k, name in enumerate(names)}
    remap = np.array([position[name] for name in value_names], dtype=np.int64)

    label_codes = np.full(len(codes), -1, dtype=np.int64)
    present = codes >= 0
    label_codes[present] = remap[codes[present]]
    if not present.all():
        names.append(MISSING_LABEL)
        label_codes[~present] = len(names) - 1

    labels = pd.Categorical.from_codes(label_codes, categories=names, ordered=True)
    return pd.Series(labels, index=series.index, name=series.name)


def _codes_with_missing(labels: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Return category codes and names, with NaN labels as a "(missing)" slice."""
    codes = labels.cat.codes.to_numpy(dtype=np.int64)
    names = [str(name) for name in labels.cat.categories]
    missing = codes < 0
    if missing.any():
        if MISSING_LABEL not in names:
            names.append(MISSING_LABEL)
        codes = codes.copy()
        codes[missing] = names.index(MISSING_LABEL)
    return codes, names


def _rounded_inner_edges(
    raw_inner: np.ndarray, decimals: int, low: float, high: float
) -> np.ndarray:
    # Round half up, as JavaScript's Math.round in the What-If Tool, not half to
    # even as np.round.
    scale = 10.0**decimals
    inner = np.unique(np.floor(raw_inner * scale + 0.5) / scale)
    return inner[(inner > low) & (inner < high)]


def _sorted_order(values: list[Any]) -> list[int]:
    """Return the positions of ``values`` in ascending order, by text if mixed."""
    try:
        return sorted(range(len(values)), key=lambda i: values[i])
    except TypeError:
        return sorted(range(len(values)), key=lambda i: str(values[i]))


def _format_value(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        return _format_number(float(value))
    return str(value)


def _format_number(value: float) -> str:
    """Format a number in its shortest exact decimal form, without exponent."""
    # Adding 0.0 turns -0.0, which rounding can produce, into 0.0.
    return np.format_float_positional(float(value) + 0.0, trim="-")


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(
        dtype
    )
