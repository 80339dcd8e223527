"""Binary classification metrics at a decision threshold.

A row is predicted positive when its score is at least the threshold, as in the
What-If Tool. Every ratio whose denominator is 0 is 0.0, matching scikit-learn's
``zero_division=0``. This differs from the What-If Tool in one case: with no
positives and no errors it reports F1 = 1, where this module reports 0.

``fp_share`` and ``fn_share`` are false positives and false negatives as a share of
all rows. The What-If Tool shows them as "False Positives (%)" and "False Negatives
(%)"; they are not the false positive and false negative rates (``fpr``, ``fnr``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

COUNT_COLUMNS = ("count", "tp", "fp", "tn", "fn")
RATE_COLUMNS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "fpr",
    "fnr",
    "fp_share",
    "fn_share",
)
METRIC_COLUMNS = COUNT_COLUMNS + RATE_COLUMNS


class BinaryCounts(NamedTuple):
    """Cells of a binary confusion matrix."""

    tp: int
    fp: int
    tn: int
    fn: int


def binary_counts(
    y_true: Sequence[Any] | np.ndarray | pd.Series,
    y_score: Sequence[float] | np.ndarray | pd.Series,
    threshold: float,
    pos_label: Any = 1,
) -> BinaryCounts:
    """Count true and false positives and negatives at a threshold.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels. A row is actually positive when its label equals
        ``pos_label``. For a boolean array the default ``pos_label=1`` matches True.
    y_score : array-like of shape (n,)
        Score of the positive class.
    threshold : float
        A row is predicted positive when ``y_score >= threshold``.
    pos_label : object, default 1
        Label of the positive class.

    Returns
    -------
    BinaryCounts
    """
    is_positive = np.asarray(y_true) == pos_label
    is_predicted = predicted_positive(y_score, threshold, len(is_positive))

    tp = int(np.count_nonzero(is_positive & is_predicted))
    fp = int(np.count_nonzero(~is_positive & is_predicted))
    fn = int(np.count_nonzero(is_positive & ~is_predicted))
    tn = len(is_positive) - tp - fp - fn
    return BinaryCounts(tp=tp, fp=fp, tn=tn, fn=fn)


def binary_metrics(
    y_true: Sequence[bool] | np.ndarray | pd.Series,
    y_score: Sequence[float] | np.ndarray | pd.Series,
    threshold: float,
) -> dict[str, float | int]:
    """Compute confusion counts and rates at a threshold.

    Parameters
    ----------
    y_true : array-like of bool, shape (n,)
        Whether each row is actually positive. 0/1 integers are accepted.
    y_score : array-like of shape (n,)
        Score of the positive class.
    threshold : float
        A row is predicted positive when ``y_score >= threshold``.

    Returns
    -------
    dict
        ``count``, ``tp``, ``fp``, ``tn``, ``fn`` as ints and ``accuracy``,
        ``precision``, ``recall``, ``f1``, ``fpr``, ``fnr``, ``fp_share``,
        ``fn_share`` as floats.
    """
    counts = binary_counts(as_positive_mask(y_true), y_score, threshold, pos_label=True)
    rates = rates_from_counts(*counts)
    result: dict[str, float | int] = {"count": sum(counts), **counts._asdict()}
    result.update({name: float(value) for name, value in rates.items()})
    return result


def rates_from_counts(
    tp: np.ndarray | int,
    fp: np.ndarray | int,
    tn: np.ndarray | int,
    fn: np.ndarray | int,
) -> dict[str, np.ndarray]:
    """Compute the rates of :data:`RATE_COLUMNS` from arrays of counts.

    Works element-wise, so one call handles many slices or thresholds. A ratio with
    a denominator of 0 is 0.0.

    Parameters
    ----------
    tp, fp, tn, fn : numpy.ndarray
        Counts of equal shape.

    Returns
    -------
    dict of str to numpy.ndarray
        One float array per name in :data:`RATE_COLUMNS`.
    """
    tp, fp, tn, fn = (np.asarray(value, dtype=float) for value in (tp, fp, tn, fn))
    count = tp + fp + tn + fn
    return {
        "accuracy": _safe_divide(tp + tn, count),
        "precision": _safe_divide(tp, tp + fp),
        "recall": _safe_divide(tp, tp + fn),
        # Equal to 2PR / (P + R) whenever that is defined.
        "f1": _safe_divide(2 * tp, 2 * tp + fp + fn),
        "fpr": _safe_divide(fp, fp + tn),
        "fnr": _safe_divide(fn, fn + tp),
        "fp_share": _safe_divide(fp, count),
        "fn_share": _safe_divide(fn, count),
    }


def confusion_frame(
    metrics: Mapping[str, Any],
    class_names: tuple[str, str] = ("negative", "positive"),
) -> pd.DataFrame:
    """Lay out the confusion matrix as one row per cell.

    Parameters
    ----------
    metrics : mapping
        Output of :func:`binary_metrics`, or any mapping with ``tp``, ``fp``,
        ``tn`` and ``fn``.
    class_names : tuple of two str, default ("negative", "positive")
        Display names of the negative and the positive class.

    Returns
    -------
    pandas.DataFrame
        Four rows, actual negative first, with columns ``actual``, ``predicted``
        (class names), ``outcome`` ("TN", "FP", "FN", "TP"), ``count`` and
        ``percent`` (of all rows, 0 to 100). Use
        ``frame.pivot(index="actual", columns="predicted", values="count")`` for
        the 2x2 table.
    """
    negative, positive = (str(name) for name in class_names)
    cells = [
        (negative, negative, "TN", int(metrics["tn"])),
        (negative, positive, "FP", int(metrics["fp"])),
        (positive, negative, "FN", int(metrics["fn"])),
        (positive, positive, "TP", int(metrics["tp"])),
    ]
    frame = pd.DataFrame(cells, columns=["actual", "predicted", "outcome", "count"])
    total = int(frame["count"].sum())
    frame["percent"] = 100.0 * frame["count"] / total if total else 0.0
    return frame


def cost(metrics: Mapping[str, Any], cost_ratio: float) -> float:
    """Compute the cost of a threshold: ``cost_ratio * FP + FN``.

    Parameters
    ----------
    metrics : mapping
        Output of :func:`binary_metrics`, or any mapping with ``fp`` and ``fn``.
    cost_ratio : float
        Cost of one false positive in units of one false negative. A ratio of 4
        means a false positive costs as much as four false negatives.

    Returns
    -------
    float
    """
    if not (math.isfinite(cost_ratio) and cost_ratio >= 0):
        raise ValueError(f"cost_ratio must be a finite number >= 0, got {cost_ratio}")
    return float(cost_ratio * metrics["fp"] + metrics["fn"])


def as_positive_mask(y_true: Sequence[Any] | np.ndarray | pd.Series) -> np.ndarray:
    """Convert a boolean or 0/1 array of "is positive" flags to a bool array.

    Raises
    ------
    ValueError
        If the values are not booleans or 0/1, for example class names.
    """
    values = np.asarray(y_true)
    if values.dtype == bool:
        return values
    if values.dtype.kind in "iuf" and np.isin(values, (0, 1)).all():
        return values.astype(bool)
    if values.dtype == object and all(isinstance(v, bool | np.bool_) for v in values):
        return values.astype(bool)
    raise ValueError(
        "y_true must say whether each row is positive, as booleans or 0/1; got "
        f"values of dtype {values.dtype}. Compare class labels with the positive "
        "class first, for example y_true == '>50K'."
    )


def predicted_positive(
    y_score: Sequence[float] | np.ndarray | pd.Series,
    threshold: float,
    n_rows: int | None = None,
) -> np.ndarray:
    """Return a bool array: True where ``y_score >= threshold``.

    Raises
    ------
    ValueError
        If the scores are not 1-D (of length ``n_rows`` when given), the
        threshold is not finite, or a score is NaN.
    """
    scores = np.asarray(y_score, dtype=float)
    if scores.ndim != 1 or (n_rows is not None and scores.shape != (n_rows,)):
        expected = "n" if n_rows is None else n_rows
        raise ValueError(
            f"y_score must have shape ({expected},) to match y_true, got {scores.shape}"
        )
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold}")
    missing = np.isnan(scores)
    if missing.any():
        raise ValueError(
            f"y_score contains {int(missing.sum())} NaN value(s), first at row "
            f"{int(np.argmax(missing))}; the model returned no score there"
        )
    return scores >= threshold


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(
        numerator,
        denominator,
        out=np.zeros_like(numerator, dtype=float),
        where=denominator != 0,
    )
