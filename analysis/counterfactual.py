"""Nearest counterfactual: the closest loaded row that the model predicts differently.

The distance follows the What-If Tool (``getDist``, ``getNumericDist`` and
``getCategoricalDist`` in wit_dashboard/wit-dashboard.html of
PAIR-code/what-if-tool). Each feature adds a term:

* numeric feature: ``|a - b| / std``, where ``std`` is the feature's standard
  deviation over the data, and 0 when that standard deviation is 0;
* categorical feature: 0 when the values are equal, otherwise ``sum_k p_k**2``, the
  probability that two random rows share a value (so a mismatch costs the same for
  any two categories of a feature);
* a missing value on either side: 1, for both kinds.

L1 adds the terms. L2 is the square root of the sum of squared terms. Two points
differ from the What-If Tool on purpose. Its L2 omits the square root, which keeps
the ranking but shows squared distances. It also treats only absent values as
missing, so a NaN gives a NaN distance there and counts as missing here. As in the
What-If Tool, a tie goes to the first row by position.

``distance_stats(frame, encode=True)`` also encodes the features once (see
:mod:`analysis.distance_encoding`), which makes each distance over 1,000,000 rows
a few numpy passes and gives the same distances.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.distance_encoding import (
    DistanceEncoding,
    EncodedCategorical,
    add_categorical_term,
    add_numeric_term,
    encode_categorical,
    encode_numeric,
)

logger = logging.getLogger(__name__)

METRICS = ("l1", "l2")

# Delta degrees of freedom of the standard deviations. The What-If Tool reads them
# from Facets Overview statistics computed in the browser, which divide by n - 1
# (createNumStats in facets_overview/common/feature_statistics_generator.ts of
# PAIR-code/facets). Facets' Python generator uses n instead.
STD_DDOF = 1


@dataclass(frozen=True)
class DistanceStats:
    """Per-feature statistics that scale the counterfactual distance.

    Attributes
    ----------
    features : tuple of str
        Features used in the distance, in the frame's column order.
    numeric_std : dict of str to float
        Standard deviation of each numeric feature over its finite values, with
        the ``ddof`` given to :func:`distance_stats`.
    match_probability : dict of str to float
        ``sum_k p_k**2`` over the value frequencies of each categorical feature,
        the term a mismatch adds.
    skipped : tuple of str
        Non-numeric columns left out because every value is unique (ids, free
        text) or missing.
    encoding : DistanceEncoding or None
        The features of the data, encoded by ``distance_stats(..., encode=True)``.
        :func:`distances` uses it for a frame with the encoded data's length and
        columns.
    """

    features: tuple[str, ...]
    numeric_std: dict[str, float]
    match_probability: dict[str, float]
    skipped: tuple[str, ...] = ()
    encoding: DistanceEncoding | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Counterfactual:
    """The nearest row with a different prediction.

    Attributes
    ----------
    position : int
        Row position (not index label) of the counterfactual in the frame.
    distance : float
        Its distance to the selected row.
    differing_features : list of str
        Features whose values differ between the two rows, in column order. Two
        missing values count as equal here, although their distance term is 1.
    """

    position: int
    distance: float
    differing_features: list[str]


def distance_stats(
    frame: pd.DataFrame,
    exclude: Sequence[str] = (),
    *,
    ddof: int = STD_DDOF,
    encode: bool = False,
) -> DistanceStats:
    """Compute the per-feature statistics used by :func:`distances`.

    Numeric columns (excluding booleans, which are treated as categories) get the
    standard deviation of their finite values. It is 0 when there are too few
    values for ``ddof``. Other columns get ``sum_k p_k**2`` of their value
    frequencies, counted over the non-missing values only, as in the What-If Tool.
    So missing values do not make a mismatch cheaper. A non-numeric column whose
    non-missing values are all distinct, such as an id or free text, is skipped.
    The What-If Tool skips it only when no value is missing.

    Parameters
    ----------
    frame : pandas.DataFrame
        The loaded data.
    exclude : sequence of str, default ()
        Columns to leave out, such as the label.
    ddof : int, default 1
        Delta degrees of freedom of the standard deviation. 1 (the sample
        standard deviation) matches the What-If Tool. Use 0 for the population
        standard deviation.
    encode : bool, default False
        Also keep the features encoded for distances: 8 bytes per row for a
        numeric feature, 1 to 4 for a categorical one. :func:`distances` then
        reads the encoding instead of the columns of any frame with this
        frame's length and columns, so pass the statistics only with this data,
        unchanged, as a cache keyed by the dataset does.

    Returns
    -------
    DistanceStats
    """
    excluded = set(exclude)
    features: list[str] = []
    numeric_std: dict[str, float] = {}
    match_probability: dict[str, float] = {}
    skipped: list[str] = []
    numeric, categorical = {}, {}

    for name in frame.columns:
        if name in excluded:
            continue
        column = frame[name]

        if _is_numeric(column):
            encoded_numeric = encode_numeric(_to_float(column))
            values = encoded_numeric.values
            numeric_std[name] = _std(values[np.isfinite(values)], ddof)
            numeric[name] = encoded_numeric
            features.append(name)
            continue

        encoded = encode_categorical(column)
        probability = _match_probability(encoded)
        if probability is None:
            skipped.append(name)
            continue
        match_probability[name] = probability
        categorical[name] = encoded
        features.append(name)

    if skipped:
        logger.debug("Distance skips columns with all-unique values: %s", skipped)
    encoding = None
    if encode:
        encoding = DistanceEncoding(
            n_rows=len(frame),
            columns=tuple(frame.columns),
            numeric=numeric,
            categorical=categorical,
        )
    return DistanceStats(
        features=tuple(features),
        numeric_std=numeric_std,
        match_probability=match_probability,
        skipped=tuple(skipped),
        encoding=encoding,
    )


def _match_probability(encoded: EncodedCategorical) -> float | None:
    """Return ``sum_k p_k**2`` of the non-missing values, None if all are distinct."""
    counts = encoded.counts()
    present = int(counts.sum())
    if len(counts) == present:
        return None
    # Largest count first, the order of value_counts. Equal counts give equal
    # addends, so the float sum does not depend on how ties are ordered.
    frequencies = np.sort(counts)[::-1] / present
    return float(np.sum(frequencies**2))


def distances(
    frame: pd.DataFrame,
    row: pd.Series | int,
    stats: DistanceStats,
    *,
    metric: str = "l1",
    features: Sequence[str] | None = None,
) -> np.ndarray:
    """Compute the distance from one row to every row of ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The loaded data, containing every feature used.
    row : pandas.Series or int
        The anchor: its values by column name, or a row position in ``frame``. A
        feature that the Series lacks counts as missing.
    stats : DistanceStats
        Output of :func:`distance_stats` for the loaded data. With an encoding
        that describes ``frame`` (same length and columns), the distances come
        from the encoding, which is faster and gives the same numbers.
    metric : {"l1", "l2"}, default "l1"
        Sum of the terms, or the square root of the sum of squared terms.
    features : sequence of str, optional
        Subset of ``stats.features`` to use. All of them by default.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(frame),)`` of float distances.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    used = _select_features(stats, features)
    anchor = _anchor_row(frame, row)

    encoding = stats.encoding
    if encoding is not None and encoding.describes(frame):
        total = _encoded_total(encoding, anchor, used, stats, metric)
    else:
        total = np.zeros(len(frame), dtype=float)
        for name in used:
            term = _feature_term(frame[name], anchor.get(name), name, stats)
            total += term if metric == "l1" else term * term

    return total if metric == "l1" else np.sqrt(total)


def _encoded_total(
    encoding: DistanceEncoding,
    anchor: pd.Series,
    used: list[str],
    stats: DistanceStats,
    metric: str,
) -> np.ndarray:
    """Add up the terms of ``used`` from the encoding, squared for L2."""
    squared = metric == "l2"
    total = np.zeros(encoding.n_rows, dtype=float)
    for name in used:
        value = anchor.get(name)
        if name in stats.numeric_std:
            target = _to_float_scalar(value, name)
            std = stats.numeric_std[name]
            add_numeric_term(
                total, encoding.numeric[name], target, std, squared=squared
            )
        elif _is_missing(value):
            total += 1.0
        else:
            mismatch = stats.match_probability[name]
            add_categorical_term(
                total, encoding.categorical[name], value, mismatch, squared=squared
            )
    return total


def nearest_counterfactual(
    frame: pd.DataFrame,
    position: int,
    predicted: Sequence[Any] | np.ndarray,
    *,
    stats: DistanceStats,
    metric: str = "l1",
    features: Sequence[str] | None = None,
) -> Counterfactual | None:
    """Find the closest row whose predicted label differs from the selected row's.

    Parameters
    ----------
    frame : pandas.DataFrame
        The loaded data.
    position : int
        Row position of the selected row.
    predicted : array-like
        Predicted label of every row, shape ``(len(frame),)``, computed by the
        caller (for a binary model, at the current threshold).
    stats : DistanceStats
        Output of :func:`distance_stats`.
    metric : {"l1", "l2"}, default "l1"
    features : sequence of str, optional
        Subset of features for the distance.

    Returns
    -------
    Counterfactual or None
        The nearest qualifying row, the first by position on ties, or None if every
        other row has the same prediction.
    """
    predicted = np.asarray(predicted)
    _check_position(frame, position, predicted)
    candidates = predicted != predicted[position]
    return _nearest_candidate(frame, position, candidates, stats, metric, features)


def nearest_counterfactual_regression(
    frame: pd.DataFrame,
    position: int,
    predictions: Sequence[float] | np.ndarray,
    *,
    stats: DistanceStats,
    min_difference: float | None = None,
    metric: str = "l1",
    features: Sequence[str] | None = None,
) -> Counterfactual | None:
    """Find the closest row whose regression prediction differs enough.

    A row qualifies when ``|prediction - selected prediction| >= min_difference``
    and the difference is not 0. The second condition only matters when
    ``min_difference`` is 0, for example when every prediction is equal.

    Parameters
    ----------
    frame : pandas.DataFrame
        The loaded data.
    position : int
        Row position of the selected row.
    predictions : array-like
        Predicted value of every row, shape ``(len(frame),)``.
    stats : DistanceStats
        Output of :func:`distance_stats`.
    min_difference : float, optional
        Smallest difference that counts as a different prediction. Defaults to
        the sample standard deviation (``ddof=1``) of the finite predictions, as
        in the What-If Tool.
    metric : {"l1", "l2"}, default "l1"
    features : sequence of str, optional
        Subset of features for the distance.

    Returns
    -------
    Counterfactual or None
        None if no row qualifies or the selected prediction is not finite.
    """
    predictions = np.asarray(predictions, dtype=float)
    _check_position(frame, position, predictions)
    if min_difference is None:
        min_difference = _std(predictions[np.isfinite(predictions)], STD_DDOF)
    if not min_difference >= 0:
        raise ValueError(f"min_difference must be >= 0, got {min_difference}")

    with np.errstate(invalid="ignore"):
        difference = np.abs(predictions - predictions[position])
    candidates = (difference >= min_difference) & (difference > 0)
    return _nearest_candidate(frame, position, candidates, stats, metric, features)


def _nearest_candidate(
    frame: pd.DataFrame,
    position: int,
    candidates: np.ndarray,
    stats: DistanceStats,
    metric: str,
    features: Sequence[str] | None,
) -> Counterfactual | None:
    candidates = candidates.copy()
    candidates[position] = False
    candidate_positions = np.flatnonzero(candidates)
    if candidate_positions.size == 0:
        return None

    all_distances = distances(frame, position, stats, metric=metric, features=features)
    # np.argmin returns the first minimum, so ties go to the lowest position.
    best = int(candidate_positions[np.argmin(all_distances[candidate_positions])])

    used = _select_features(stats, features)
    return Counterfactual(
        position=best,
        distance=float(all_distances[best]),
        differing_features=_differing_features(frame, position, best, used),
    )


def _check_position(frame: pd.DataFrame, position: int, predicted: np.ndarray) -> None:
    if predicted.shape != (len(frame),):
        raise ValueError(
            f"predictions must have shape ({len(frame)},) to match the frame, "
            f"got {predicted.shape}"
        )
    if not 0 <= position < len(frame):
        raise IndexError(f"position {position} is out of range for {len(frame)} rows")


def _select_features(stats: DistanceStats, features: Sequence[str] | None) -> list[str]:
    if features is None:
        return list(stats.features)
    unknown = [name for name in features if name not in stats.features]
    if unknown:
        raise ValueError(
            f"features not usable for distances: {', '.join(map(str, unknown))}. "
            f"Usable features: {', '.join(map(str, stats.features))}"
        )
    # Keep the frame's column order whatever order the caller used.
    requested = set(features)
    return [name for name in stats.features if name in requested]


def _anchor_row(frame: pd.DataFrame, row: pd.Series | int) -> pd.Series:
    if isinstance(row, pd.Series):
        return row
    if isinstance(row, int | np.integer):
        if not 0 <= row < len(frame):
            raise IndexError(
                f"row position {row} is out of range for {len(frame)} rows"
            )
        return frame.iloc[int(row)]
    raise TypeError(f"row must be a pandas Series or an int position, got {type(row)}")


def _feature_term(
    column: pd.Series, anchor_value: Any, name: str, stats: DistanceStats
) -> np.ndarray:
    if name in stats.numeric_std:
        return _numeric_term(column, anchor_value, name, stats.numeric_std[name])
    return _categorical_term(column, anchor_value, stats.match_probability[name])


def _numeric_term(
    column: pd.Series, anchor_value: Any, name: str, std: float
) -> np.ndarray:
    values = _to_float(column)
    target = _to_float_scalar(anchor_value, name)

    if std > 0:
        with np.errstate(invalid="ignore"):
            term = np.abs(values - target) / std
    else:
        term = np.zeros(len(values), dtype=float)

    # Infinite values count as missing too, because |inf - inf| has no meaning.
    term[~np.isfinite(values)] = 1.0
    if not math.isfinite(target):
        term[:] = 1.0
    return term


def _categorical_term(
    column: pd.Series, anchor_value: Any, match_probability: float
) -> np.ndarray:
    if _is_missing(anchor_value):
        return np.ones(len(column), dtype=float)

    equal = (column == anchor_value).to_numpy(dtype=bool, na_value=False)
    term = np.where(equal, 0.0, match_probability)
    term[column.isna().to_numpy()] = 1.0
    return term


def _differing_features(
    frame: pd.DataFrame,
    first: int,
    second: int,
    features: list[str],
) -> list[str]:
    differing = []
    for name in features:
        a = frame[name].iloc[first]
        b = frame[name].iloc[second]
        a_missing, b_missing = _is_missing(a), _is_missing(b)
        if a_missing or b_missing:
            if a_missing != b_missing:
                differing.append(name)
        elif a != b:
            differing.append(name)
    return differing


def _std(values: np.ndarray, ddof: int) -> float:
    """Return the standard deviation, or 0 when there are ``ddof`` values or fewer."""
    if values.size <= ddof:
        return 0.0
    return float(np.std(values, ddof=ddof))


def _is_numeric(column: pd.Series) -> bool:
    dtype = column.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(
        dtype
    )


def _to_float(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype=float, na_value=np.nan)


def _to_float_scalar(value: Any, name: str) -> float:
    if _is_missing(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"feature {name!r} is numeric, but the row's value {value!r} is not a "
            "number"
        ) from exc


def _is_missing(value: Any) -> bool:
    """Return whether a scalar is None, NaN, NaT or pd.NA."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        # pd.isna of a list or array returns an array, which is not one missing value.
        return False
