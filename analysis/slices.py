"""Slices: groups of rows by the value of one feature, and metrics per slice.

Bucketing follows the What-If Tool (``calculateBucketEdges_`` and ``getSliceKey_`` in
wit_dashboard/wit-dashboard.html of PAIR-code/what-if-tool). A numeric feature is
cut into buckets only when it has more distinct values than buckets. The default is
2 equal-width buckets between the minimum and the maximum. Inner edges are rounded
half up to one decimal finer than the magnitude of the feature's standard deviation.
Every other feature gives one slice per value.

Two features give intersections, keyed ``"a / b"``. Slices can also carry their own
decision thresholds: :func:`metrics_by_slice_at_thresholds` predicts each row at
its slice's threshold and adds the cost ``cost_ratio * FP + FN`` per slice.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
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
# Joins the two labels of an intersection slice, as in "Female / [17, 54)".
INTERSECTION_SEPARATOR = " / "

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
    codes, names = slice_codes(slices, len(is_positive))
    frame = _counts_frame(is_positive, is_predicted, codes, names, SMALL_SLICE_ROWS)
    return _drop_empty_slices(frame)


def cross_slice_labels(
    first: pd.Series,
    second: pd.Series,
    *,
    n_buckets: int = 2,
    method: str = "equal_width",
    second_n_buckets: int | None = None,
    second_method: str | None = None,
) -> pd.Series:
    """Assign each row the intersection slice of two features, ``"a / b"``.

    Each feature is labelled by :func:`slice_labels` first, so numeric features
    are bucketed and missing values get ``"(missing)"``.

    Parameters
    ----------
    first, second : pandas.Series
        The two features, aligned by position.
    n_buckets : int, default 2
        Buckets for ``first``, and for ``second`` unless ``second_n_buckets`` is
        given.
    method : {"equal_width", "quantile"}, default "equal_width"
        Bucketing of ``first``, and of ``second`` unless ``second_method`` is
        given.
    second_n_buckets : int, optional
        Buckets for ``second``.
    second_method : {"equal_width", "quantile"}, optional
        Bucketing of ``second``.

    Returns
    -------
    pandas.Series
        Ordered categorical labels with the index of ``first``. Categories are
        sorted by the first feature's slice order, then the second's, and only
        combinations that occur are kept.
    """
    if len(first) != len(second):
        raise ValueError(
            f"the two slice features must have the same length, got {len(first)} "
            f"and {len(second)}"
        )
    first_labels = slice_labels(first, n_buckets=n_buckets, method=method)
    second_labels = slice_labels(
        second,
        n_buckets=second_n_buckets or n_buckets,
        method=second_method or method,
    )

    first_codes, first_names = slice_codes(first_labels)
    second_codes, second_names = slice_codes(second_labels)
    pair_codes = first_codes * len(second_names) + second_codes
    codes, used = _drop_unused_codes(pair_codes, len(first_names) * len(second_names))

    # Only the pairs that occur get a name, in the order of their pair codes.
    n_second = len(second_names)
    names = [
        f"{first_names[pair // n_second]}{INTERSECTION_SEPARATOR}"
        f"{second_names[pair % n_second]}"
        for pair in used
    ]
    labels = pd.Categorical.from_codes(
        codes, categories=names, ordered=True, validate=False
    )
    name = f"{first.name}{INTERSECTION_SEPARATOR}{second.name}"
    return pd.Series(labels, index=first.index, name=name)


def slice_codes(
    slices: Sequence[Any] | np.ndarray | pd.Series, n_rows: int | None = None
) -> tuple[np.ndarray, list[str]]:
    """Turn slice labels into integer codes and slice names.

    Parameters
    ----------
    slices : array-like of shape (n,)
        Slice label of each row, for example the output of :func:`slice_labels`.
        Labels that are not categorical are sorted as :func:`slice_labels` sorts
        values. Missing labels form the slice ``"(missing)"``.
    n_rows : int, optional
        Expected number of rows; a different length raises ``ValueError``.

    Returns
    -------
    codes : numpy.ndarray of int64, shape (n,)
        Position of each row's slice in ``names``.
    names : list of str
        Slice names in label order. Categories without rows are included.
    """
    labels = slices if isinstance(slices, pd.Series) else pd.Series(slices)
    if n_rows is not None and len(labels) != n_rows:
        raise ValueError(
            f"slices must have length {n_rows} to match y_true, got {len(labels)}"
        )
    if not isinstance(labels.dtype, pd.CategoricalDtype):
        labels = _value_labels(labels)
    return _codes_with_missing(labels)


def slice_thresholds(
    names: Sequence[str],
    thresholds: float | Mapping[str, float],
    default_threshold: float = 0.5,
) -> np.ndarray:
    """Look up the decision threshold of each slice.

    Parameters
    ----------
    names : sequence of str
        Slice names, as returned by :func:`slice_codes`.
    thresholds : float or mapping of str to float
        One threshold for every slice, or a threshold per slice name.
    default_threshold : float, default 0.5
        Threshold of slices that ``thresholds`` does not name.

    Returns
    -------
    numpy.ndarray of float, shape (len(names),)

    Raises
    ------
    ValueError
        If a threshold is NaN or ``-inf``, or the mapping names a slice that is
        not in ``names``. ``+inf`` is allowed and predicts no row positive.
    """
    if isinstance(thresholds, Mapping):
        unknown = [str(key) for key in thresholds if str(key) not in set(names)]
        if unknown:
            raise ValueError(
                f"thresholds name unknown slice(s) {unknown}; the slices are "
                f"{list(names)}. Reset the thresholds after changing the slices."
            )
        by_name = {str(key): float(value) for key, value in thresholds.items()}
        values = np.array([by_name.get(name, default_threshold) for name in names])
    else:
        values = np.full(len(names), float(thresholds))

    invalid = np.isnan(values) | (values == -np.inf)
    if invalid.any():
        position = int(np.argmax(invalid))
        raise ValueError(
            f"the threshold of slice {names[position]!r} is {values[position]}; "
            "use a number or +inf (no row predicted positive)"
        )
    return values.astype(float)


def metrics_by_slice_at_thresholds(
    y_true: Sequence[bool] | np.ndarray | pd.Series,
    y_score: Sequence[float] | np.ndarray | pd.Series,
    slices: Sequence[Any] | np.ndarray | pd.Series,
    thresholds: float | Mapping[str, float],
    *,
    default_threshold: float = 0.5,
    cost_ratio: float = 1.0,
    min_rows: int = SMALL_SLICE_ROWS,
) -> pd.DataFrame:
    """Compute binary metrics per slice, each slice at its own threshold.

    Parameters
    ----------
    y_true : array-like of bool, shape (n,)
        Whether each row is actually positive.
    y_score : array-like of shape (n,)
        Score of the positive class.
    slices : array-like of shape (n,)
        Slice label of each row, as for :func:`metrics_by_slice`.
    thresholds : float or mapping of str to float
        One threshold for all slices, or a threshold per slice name. A row is
        predicted positive when its score is at least its slice's threshold.
    default_threshold : float, default 0.5
        Threshold of slices that ``thresholds`` does not name.
    cost_ratio : float, default 1.0
        Cost of a false positive over the cost of a false negative.
    min_rows : int, default 30
        Slices with fewer rows get ``small=True``.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`metrics_by_slice` plus ``threshold`` and ``cost``
        (``cost_ratio * fp + fn``). The ``"All rows"`` row counts every row at
        its own slice's threshold. Its ``threshold`` is the shared value when
        all non-empty slices have the same one, else NaN.
    """
    _check_cost_ratio(cost_ratio)
    is_positive = as_positive_mask(y_true)
    scores = _checked_scores(y_score, len(is_positive))
    codes, names = slice_codes(slices, len(is_positive))
    per_slice = slice_thresholds(names, thresholds, default_threshold)

    is_predicted = scores >= per_slice[codes]
    frame = _counts_frame(is_positive, is_predicted, codes, names, min_rows)

    used = np.unique(per_slice[np.unique(codes)]) if len(codes) else per_slice[:0]
    overall = float(used[0]) if len(used) == 1 else math.nan
    frame["threshold"] = np.concatenate([[overall], per_slice])
    frame["cost"] = cost_ratio * frame["fp"] + frame["fn"]
    return _drop_empty_slices(frame)


def thresholds_per_row(
    slices: Sequence[Any] | np.ndarray | pd.Series,
    thresholds: float | Mapping[str, float],
    default_threshold: float = 0.5,
) -> np.ndarray:
    """Return each row's decision threshold, taken from its slice.

    Compare the result with the scores to get the predicted labels at per-slice
    thresholds, for example for the nearest counterfactual.

    Parameters
    ----------
    slices : array-like of shape (n,)
        Slice label of each row.
    thresholds : float or mapping of str to float
        One threshold, or a threshold per slice name.
    default_threshold : float, default 0.5
        Threshold of slices that ``thresholds`` does not name.

    Returns
    -------
    numpy.ndarray of float, shape (n,)
    """
    codes, names = slice_codes(slices)
    return slice_thresholds(names, thresholds, default_threshold)[codes]


def sort_slices(
    frame: pd.DataFrame, by: str = "slice", *, ascending: bool | None = None
) -> pd.DataFrame:
    """Sort a table of slices, keeping the ``"All rows"`` row first.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table with a ``slice`` column, such as the output of
        :func:`metrics_by_slice`.
    by : str, default "slice"
        ``"slice"`` sorts by name, with numbers inside names compared as numbers
        (so ``"[9, 17)"`` comes before ``"[17, 54)"``). Any other column name
        sorts by that column, for example ``"count"``, ``"accuracy"`` or
        ``"cost"``. NaN values go last.
    ascending : bool, optional
        Defaults to True for ``"slice"`` and False for any other column.

    Returns
    -------
    pandas.DataFrame
        The sorted rows with a fresh index. Ties keep their previous order.
    """
    if by not in frame.columns:
        raise ValueError(
            f"cannot sort slices by {by!r}; choose one of {list(frame.columns)}"
        )
    if ascending is None:
        ascending = by == "slice"

    is_overall = (frame["slice"] == ALL_ROWS_LABEL).to_numpy()
    rest = frame.loc[~is_overall]
    if by == "slice":
        keys = [_natural_sort_key(name) for name in rest["slice"]]
        order = sorted(range(len(keys)), key=lambda i: keys[i], reverse=not ascending)
        rest = rest.iloc[order]
    else:
        rest = rest.sort_values(
            by, ascending=ascending, kind="stable", na_position="last"
        )
    return pd.concat([frame.loc[is_overall], rest]).reset_index(drop=True)


def _counts_frame(
    is_positive: np.ndarray,
    is_predicted: np.ndarray,
    codes: np.ndarray,
    names: list[str],
    min_rows: int,
) -> pd.DataFrame:
    """Count the confusion cells per slice, with an "All rows" row first."""

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
    frame["small"] = frame["count"] < min_rows
    return frame


def _drop_empty_slices(frame: pd.DataFrame) -> pd.DataFrame:
    # The first row is "All rows", which stays even when there are no rows.
    is_empty = frame["count"].to_numpy() == 0
    is_empty[0] = False
    return frame.loc[~is_empty].reset_index(drop=True)


def _checked_scores(y_score: Any, n_rows: int) -> np.ndarray:
    scores = np.asarray(y_score, dtype=float)
    if scores.shape != (n_rows,):
        raise ValueError(
            f"y_score must have shape ({n_rows},) to match y_true, got {scores.shape}"
        )
    missing = np.isnan(scores)
    if missing.any():
        raise ValueError(
            f"y_score contains {int(missing.sum())} NaN value(s), first at row "
            f"{int(np.argmax(missing))}; the model returned no score there"
        )
    return scores


def _check_cost_ratio(cost_ratio: float) -> None:
    if not (math.isfinite(cost_ratio) and cost_ratio >= 0):
        raise ValueError(f"cost_ratio must be a finite number >= 0, got {cost_ratio}")


def _natural_sort_key(name: str) -> tuple[tuple[tuple[int, float, str], ...], ...]:
    """Build a sort key that compares numbers in a name as numbers, "9" before "17".

    Each part of an intersection is compared in turn, and "(missing)" sorts last.
    """
    key = []
    for part in str(name).split(INTERSECTION_SEPARATOR):
        if part == MISSING_LABEL:
            key.append(((2, 0.0, ""),))
            continue
        pieces = []
        for index, piece in enumerate(re.split(r"(-?\d+(?:\.\d+)?)", part)):
            if index % 2:
                pieces.append((0, float(piece), ""))
            elif piece:
                pieces.append((1, 0.0, piece))
        key.append(tuple(pieces))
    return tuple(key)


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

    codes, used = _drop_unused_codes(codes, len(names))
    labels = pd.Categorical.from_codes(
        codes, categories=[names[k] for k in used], ordered=True, validate=False
    )
    return pd.Series(labels, index=series.index, name=series.name)


def _drop_unused_codes(
    codes: np.ndarray, n_codes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Renumber codes in ``range(n_codes)`` so that only the codes rows have remain.

    It does what ``Series.cat.remove_unused_categories`` does, with a count per
    code instead of the sort inside ``np.unique``.

    Returns
    -------
    codes : numpy.ndarray of int
        The new code of each row, keeping the order of the old codes.
    used : numpy.ndarray of int
        The old code of each new code, in ascending order.
    """
    is_used = np.bincount(codes, minlength=n_codes) > 0
    new_code = np.cumsum(is_used) - 1
    used = np.flatnonzero(is_used)
    # A signed type, as pandas stores category codes, with room for every code.
    narrow = np.min_scalar_type(-max(len(used), 1))
    return new_code.astype(narrow)[codes], used


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
