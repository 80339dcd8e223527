"""Nearest counterfactual of any row, dataset or edited, among the loaded rows.

:mod:`analysis.counterfactual` finds the nearest row predicted differently from a
row of the dataset. The datapoint editor also needs it for a row the user edited
or added, whose values are not in the dataset, and it must skip rows the user
deleted. The distance is the same (:func:`analysis.counterfactual.distances`), and
so is the rule for ties: the first row by position wins.

A candidate is a row whose prediction differs from the selected row's:

* classification: a different predicted class, where binary rows are predicted at
  their own thresholds (per slice or one for all);
* regression: ``|prediction - selected prediction| >= min_difference`` and not 0.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.counterfactual import (
    STD_DDOF,
    Counterfactual,
    DistanceStats,
    distances,
)

logger = logging.getLogger(__name__)


def default_min_difference(predictions: np.ndarray) -> float:
    """Return the sample standard deviation of the finite predictions.

    It is the What-If Tool's default regression threshold, 0 when there are fewer
    than two finite predictions.
    """
    values = np.asarray(predictions, dtype=float)
    finite = values[np.isfinite(values)]
    return float(np.std(finite, ddof=STD_DDOF)) if finite.size > STD_DDOF else 0.0


def candidate_mask(
    task: str,
    predictions: np.ndarray,
    anchor_prediction: Any,
    *,
    min_difference: float | None = None,
) -> np.ndarray:
    """Return which rows are predicted differently from the selected row.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
    predictions : numpy.ndarray of shape (n,)
        Predicted class (or value) of every loaded row.
    anchor_prediction : object
        The selected row's predicted class or value.
    min_difference : float, optional
        Regression only: the smallest difference that counts. Defaults to
        :func:`default_min_difference` of ``predictions``.

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
    """
    if task != "regression":
        return _differs_from(predictions, anchor_prediction)

    values = np.asarray(predictions, dtype=float)
    if min_difference is None:
        min_difference = default_min_difference(values)
    if not min_difference >= 0:
        raise ValueError(f"min_difference must be >= 0, got {min_difference}")
    with np.errstate(invalid="ignore"):
        difference = np.abs(values - float(anchor_prediction))
    return (difference >= min_difference) & (difference > 0)


def _differs_from(predictions: Any, anchor_prediction: Any) -> np.ndarray:
    """Return which predicted classes differ from the anchor's, by ``!=``.

    A missing class (None, NaN or ``pd.NA``) differs from every class, as in a
    pandas comparison. The array is compared with numpy in its own dtype when
    numpy can compare that dtype with the anchor, else as objects. Both are
    many times faster at 1,000,000 rows than a pandas Series of text, which
    first converts every row to pandas' string dtype (pandas 3.1).
    """
    labels = np.asarray(predictions)
    if pd.api.types.is_scalar(anchor_prediction) and pd.isna(anchor_prediction):
        return np.ones(len(labels), dtype=bool)
    if labels.dtype != object:
        try:
            return np.not_equal(labels, anchor_prediction)
        except TypeError:
            # numpy has no comparison of, say, integers with text.
            labels = labels.astype(object)
    try:
        return np.not_equal(labels, anchor_prediction)
    except TypeError:
        # pd.NA has no truth value, so numpy cannot compare it, and pandas counts
        # it as different.
        return (pd.Series(labels, dtype=object) != anchor_prediction).to_numpy(
            dtype=bool
        )


def nearest_to_row(
    frame: pd.DataFrame,
    anchor: pd.Series,
    candidates: np.ndarray,
    *,
    stats: DistanceStats,
    metric: str = "l1",
    features: Sequence[str] | None = None,
    exclude: np.ndarray | None = None,
) -> Counterfactual | None:
    """Find the nearest candidate row to ``anchor``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The loaded data.
    anchor : pandas.Series
        The selected row's values by column, edited or not.
    candidates : numpy.ndarray of bool, shape (n,)
        Rows predicted differently, from :func:`candidate_mask`.
    stats : DistanceStats
        Output of :func:`analysis.counterfactual.distance_stats` for ``frame``.
    metric : {"l1", "l2"}, default "l1"
    features : sequence of str, optional
        Subset of features for the distance.
    exclude : numpy.ndarray of bool, shape (n,), optional
        Rows that may not be chosen, such as deleted rows or the selected row.

    Returns
    -------
    Counterfactual or None
        None when no candidate is left.
    """
    allowed = np.asarray(candidates, dtype=bool).copy()
    if allowed.shape != (len(frame),):
        raise ValueError(
            f"candidates must have shape ({len(frame)},), got {allowed.shape}"
        )
    if exclude is not None:
        allowed &= ~np.asarray(exclude, dtype=bool)
    positions = np.flatnonzero(allowed)
    if positions.size == 0:
        return None

    all_distances = distances(frame, anchor, stats, metric=metric, features=features)
    best = int(positions[np.argmin(all_distances[positions])])
    used = list(stats.features) if features is None else list(features)
    return Counterfactual(
        position=best,
        distance=float(all_distances[best]),
        differing_features=_differing(anchor, frame.iloc[best], used),
    )


def _differing(anchor: pd.Series, other: pd.Series, features: list[str]) -> list[str]:
    differing = []
    for name in features:
        a, b = anchor.get(name), other[name]
        a_missing, b_missing = bool(pd.isna(a)), bool(pd.isna(b))
        if a_missing or b_missing:
            if a_missing != b_missing:
                differing.append(name)
        elif a != b:
            differing.append(name)
    return differing
