"""ROC and precision-recall curves of a binary classifier, thinned for charts.

The areas are computed on the full curves from scikit-learn: the ROC AUC with
``roc_auc_score``, the PR area with ``auc(recall, precision)`` (the trapezoid
rule over every point of ``precision_recall_curve``) and the average precision
with ``average_precision_score``. Only the points sent to a chart are thinned.
The What-If Tool instead measured both curves at 101 thresholds and its area
under a falling segment was too small, so its PR areas were wrong.

A row is predicted positive when its score is at least the threshold, the rule of
:mod:`analysis.metrics` and of scikit-learn's curves.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import auc, average_precision_score, precision_recall_curve
from sklearn.metrics import roc_curve as sklearn_roc_curve

from analysis.metrics import as_positive_mask, rates_from_counts

logger = logging.getLogger(__name__)

# Points kept per curve for charts. A full curve has one point per distinct score.
MAX_CURVE_POINTS = 500


@dataclass(frozen=True)
class RocCurve:
    """A ROC curve and its area.

    Attributes
    ----------
    points : pandas.DataFrame
        Columns ``fpr``, ``tpr`` and ``threshold``, thinned to at most
        ``max_points`` rows in curve order. A row is positive when its score is
        at least the threshold, and the first point's threshold is ``inf``.
        Empty when the rows contain only one class.
    auc : float
        Area under the full curve, NaN when the rows contain only one class.
    n_points : int
        Number of points of the full curve before thinning.
    """

    points: pd.DataFrame
    auc: float
    n_points: int


@dataclass(frozen=True)
class PrCurve:
    """A precision-recall curve, its area and the average precision.

    Attributes
    ----------
    points : pandas.DataFrame
        Columns ``recall``, ``precision`` and ``threshold``, from the highest
        recall to the point (recall 0, precision 1) that scikit-learn appends,
        whose threshold is ``inf``. Thinned to at most ``max_points`` rows.
        Empty when no row is positive.
    auc : float
        ``sklearn.metrics.auc(recall, precision)`` over the full curve: the
        trapezoid rule. NaN when no row is positive.
    average_precision : float
        ``sklearn.metrics.average_precision_score``: the step-wise area, which
        does not interpolate between points. NaN when no row is positive.
    n_points : int
        Number of points of the full curve before thinning.
    """

    points: pd.DataFrame
    auc: float
    average_precision: float
    n_points: int


def positive_mask(
    y_true: Sequence[Any] | np.ndarray | pd.Series, pos_label: Any = None
) -> np.ndarray:
    """Return whether each row is actually positive.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Booleans or 0/1 when ``pos_label`` is None, otherwise class labels such
        as ``"yes"`` and ``"no"``.
    pos_label : object, optional
        Label of the positive class. Labels are compared with ``==``; when no
        label matches, they are compared as text, so the label ``1`` matches
        ``"1"``. Missing labels are never positive.

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
    """
    if pos_label is None:
        return as_positive_mask(y_true)
    labels = pd.Series(np.asarray(y_true, dtype=object))
    matches = (labels == pos_label).to_numpy(dtype=bool)
    if not matches.any():
        matches = (labels.astype(str) == str(pos_label)).to_numpy(dtype=bool)
        matches = matches & labels.notna().to_numpy()
    return matches


def roc_curve(
    y_true: Sequence[Any] | np.ndarray | pd.Series,
    y_score: Sequence[float] | np.ndarray | pd.Series,
    *,
    pos_label: Any = None,
    max_points: int = MAX_CURVE_POINTS,
) -> RocCurve:
    """Compute the ROC curve and its AUC.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Booleans or 0/1, or class labels with ``pos_label``.
    y_score : array-like of shape (n,)
        Score of the positive class.
    pos_label : object, optional
        Label of the positive class, see :func:`positive_mask`.
    max_points : int, default 500
        Maximum number of points returned, at least 4; see :func:`thin_curve`.

    Returns
    -------
    RocCurve
    """
    is_positive, scores = _checked_inputs(y_true, y_score, pos_label)
    if not is_positive.any() or is_positive.all():
        empty = pd.DataFrame({"fpr": [], "tpr": [], "threshold": []}, dtype=float)
        return RocCurve(points=empty, auc=math.nan, n_points=0)

    fpr, tpr, thresholds = sklearn_roc_curve(is_positive, scores)
    area = float(auc(fpr, tpr))
    keep = thin_curve(fpr, tpr, max_points)
    points = pd.DataFrame(
        {"fpr": fpr[keep], "tpr": tpr[keep], "threshold": thresholds[keep]}
    )
    return RocCurve(points=points, auc=area, n_points=len(fpr))


def pr_curve(
    y_true: Sequence[Any] | np.ndarray | pd.Series,
    y_score: Sequence[float] | np.ndarray | pd.Series,
    *,
    pos_label: Any = None,
    max_points: int = MAX_CURVE_POINTS,
) -> PrCurve:
    """Compute the precision-recall curve, its area and the average precision.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Booleans or 0/1, or class labels with ``pos_label``.
    y_score : array-like of shape (n,)
        Score of the positive class.
    pos_label : object, optional
        Label of the positive class, see :func:`positive_mask`.
    max_points : int, default 500
        Maximum number of points returned, at least 4; see :func:`thin_curve`.

    Returns
    -------
    PrCurve
    """
    is_positive, scores = _checked_inputs(y_true, y_score, pos_label)
    if not is_positive.any():
        empty = pd.DataFrame({"recall": [], "precision": [], "threshold": []})
        return PrCurve(
            points=empty.astype(float),
            auc=math.nan,
            average_precision=math.nan,
            n_points=0,
        )

    precision, recall, thresholds = precision_recall_curve(is_positive, scores)
    area = float(auc(recall, precision))
    average_precision = float(average_precision_score(is_positive, scores))
    # scikit-learn gives one threshold fewer than points: the last point,
    # (recall 0, precision 1), has no threshold, so it gets inf here.
    thresholds = np.append(thresholds, np.inf)

    keep = thin_curve(recall, precision, max_points)
    points = pd.DataFrame(
        {
            "recall": recall[keep],
            "precision": precision[keep],
            "threshold": thresholds[keep],
        }
    )
    return PrCurve(
        points=points,
        auc=area,
        average_precision=average_precision,
        n_points=len(recall),
    )


def curve_marker(
    y_true: Sequence[Any] | np.ndarray | pd.Series,
    y_score: Sequence[float] | np.ndarray | pd.Series,
    threshold: float,
    *,
    pos_label: Any = None,
) -> dict[str, float]:
    """Compute the point of the ROC and PR curves at one threshold.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Booleans or 0/1, or class labels with ``pos_label``.
    y_score : array-like of shape (n,)
        Score of the positive class.
    threshold : float
        A row is predicted positive when its score is at least this. ``inf``
        predicts no row positive.
    pos_label : object, optional
        Label of the positive class, see :func:`positive_mask`.

    Returns
    -------
    dict of str to float
        ``threshold``, ``fpr``, ``tpr``, ``recall`` (equal to ``tpr``) and
        ``precision``. A rate whose denominator is 0 is 0.0, as in
        :func:`analysis.metrics.rates_from_counts`.
    """
    if math.isnan(threshold):
        raise ValueError("threshold must be a number, got NaN")
    is_positive, scores = _checked_inputs(y_true, y_score, pos_label)
    is_predicted = scores >= threshold

    tp = int(np.count_nonzero(is_positive & is_predicted))
    fp = int(np.count_nonzero(~is_positive & is_predicted))
    fn = int(np.count_nonzero(is_positive & ~is_predicted))
    tn = len(scores) - tp - fp - fn
    rates = rates_from_counts(tp, fp, tn, fn)
    return {
        "threshold": float(threshold),
        "fpr": float(rates["fpr"]),
        "tpr": float(rates["recall"]),
        "recall": float(rates["recall"]),
        "precision": float(rates["precision"]),
    }


def thin_curve(
    x: np.ndarray, y: np.ndarray, max_points: int = MAX_CURVE_POINTS
) -> np.ndarray:
    """Choose at most ``max_points`` points of a curve that keep its drawn shape.

    The x range 0 to 1 is cut into ``max_points // 4`` equal bins. Each bin
    keeps its first and last point and the points with the lowest and highest
    y, so a line through the kept points covers the same range of y in every
    bin as the full curve. This is min-max decimation, as used to plot long
    time series.

    Parameters
    ----------
    x, y : numpy.ndarray of shape (m,)
        The curve's coordinates in drawing order. ``x`` must be monotonic and
        on a scale of 0 to 1, as the false positive rate of a ROC curve and the
        recall of a PR curve are.
    max_points : int, default 500
        At least 4.

    Returns
    -------
    numpy.ndarray of int
        Increasing positions of the kept points in ``x`` and ``y``.
    """
    if max_points < 4:
        raise ValueError(f"max_points must be at least 4, got {max_points}")
    n_points = len(x)
    if n_points <= max_points:
        return np.arange(n_points)

    n_bins = max_points // 4
    bins = np.clip(
        (np.asarray(x, dtype=float) * n_bins).astype(np.int64), 0, n_bins - 1
    )
    # x is monotonic, so each bin is one run of consecutive points.
    starts = np.flatnonzero(np.concatenate([[True], bins[1:] != bins[:-1]]))
    ends = np.append(starts[1:], n_points) - 1

    y = np.asarray(y, dtype=float)
    lowest = _first_position_per_run(y, starts, np.minimum)
    highest = _first_position_per_run(y, starts, np.maximum)
    return np.unique(np.concatenate([starts, ends, lowest, highest]))


def _first_position_per_run(
    values: np.ndarray, starts: np.ndarray, reduce: np.ufunc
) -> np.ndarray:
    """Return the first position of each run's minimum (or maximum)."""
    extreme = reduce.reduceat(values, starts)
    run_of_point = np.repeat(
        np.arange(len(starts)), np.diff(np.append(starts, len(values)))
    )
    hits = np.flatnonzero(values == extreme[run_of_point])
    # Runs are consecutive, so the first hit at or after each run's start is
    # inside that run.
    return hits[np.searchsorted(hits, starts)]


def _checked_inputs(
    y_true: Any, y_score: Any, pos_label: Any
) -> tuple[np.ndarray, np.ndarray]:
    is_positive = positive_mask(y_true, pos_label)
    scores = np.asarray(y_score, dtype=float)
    if scores.shape != is_positive.shape:
        raise ValueError(
            f"y_score must have shape {is_positive.shape} to match y_true, got "
            f"{scores.shape}"
        )
    if np.isnan(scores).any():
        raise ValueError(
            f"y_score contains {int(np.isnan(scores).sum())} NaN value(s); the "
            "model returned no score there"
        )
    return is_positive, scores
