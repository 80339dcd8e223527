"""Multi-class classification: per-class metrics, confusion matrix, curves, slices.

Labels are matched to the model's classes with ``==`` first and as text second,
so a label column of ``1, 2, 3`` matches classes ``"1", "2", "3"`` and the other
way round. The What-If Tool compared labels with predicted class indices, so
string labels such as "cat" never matched. True labels that are not among the
classes are kept as extra classes after them: a model that never predicts such a
class gets its rows counted as errors. Rows with a missing true label are left
out of every metric.

A ratio whose denominator is 0 is 0.0, as with scikit-learn's
``zero_division=0``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.curves import MAX_CURVE_POINTS, pr_curve, roc_curve
from analysis.slices import ALL_ROWS_LABEL, SMALL_SLICE_ROWS, slice_codes

logger = logging.getLogger(__name__)

CLASS_METRIC_COLUMNS = (
    "class",
    "support",
    "predicted",
    "tp",
    "fp",
    "fn",
    "precision",
    "recall",
    "f1",
)


@dataclass(frozen=True)
class OneVsRestCurves:
    """One-vs-rest ROC and precision-recall curves, one per class.

    Attributes
    ----------
    roc : pandas.DataFrame
        Columns ``class``, ``fpr``, ``tpr`` and ``threshold``, each class thinned
        to at most ``max_points`` points.
    pr : pandas.DataFrame
        Columns ``class``, ``recall``, ``precision`` and ``threshold``.
    areas : pandas.DataFrame
        One row per class: ``class``, ``support``, ``roc_auc``, ``pr_auc``
        (``sklearn.metrics.auc(recall, precision)``) and ``average_precision``.
        NaN where the class has no rows, or every row.
    """

    roc: pd.DataFrame
    pr: pd.DataFrame
    areas: pd.DataFrame


def predicted_classes(y_proba: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
    """Return the class with the highest score for each row, the first on ties.

    Parameters
    ----------
    y_proba : numpy.ndarray of shape (n, n_classes)
        Class scores in the order of ``classes``.
    classes : sequence
        Class labels.

    Returns
    -------
    numpy.ndarray of shape (n,)
        Labels taken from ``classes``.
    """
    scores = np.asarray(y_proba, dtype=float)
    if scores.ndim != 2 or scores.shape[1] != len(classes):
        raise ValueError(
            f"y_proba must have shape (n, {len(classes)}) to match the classes, "
            f"got {scores.shape}"
        )
    return np.asarray(classes, dtype=object)[np.argmax(scores, axis=1)]


def class_metrics(
    y_true: Sequence[Any] | np.ndarray | pd.Series,
    y_pred: Sequence[Any] | np.ndarray | pd.Series,
    classes: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Compute precision, recall and F1 of each class.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels.
    y_pred : array-like of shape (n,)
        Predicted labels.
    classes : sequence, optional
        The model's classes, in display order. By default the sorted union of
        the labels in ``y_true`` and ``y_pred``.

    Returns
    -------
    pandas.DataFrame
        One row per class with the columns of :data:`CLASS_METRIC_COLUMNS`.
        The ``class`` column contains the class names as text.
    """
    codes_true, codes_pred, names = _encode_pair(y_true, y_pred, classes)
    matrix = _confusion_counts(codes_true, codes_pred, len(names))
    return _per_class_frame(matrix, names)


def multiclass_summary(
    y_true: Sequence[Any] | np.ndarray | pd.Series,
    y_pred: Sequence[Any] | np.ndarray | pd.Series,
    classes: Sequence[Any] | None = None,
) -> dict[str, float | int]:
    """Compute the overall accuracy and the averages of the per-class metrics.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted labels.
    classes : sequence, optional
        The model's classes, see :func:`class_metrics`.

    Returns
    -------
    dict
        ``count`` (rows with a true label), ``accuracy``, ``macro_precision``,
        ``macro_recall``, ``macro_f1`` (unweighted means over the classes) and
        ``weighted_f1`` (weighted by support).
    """
    codes_true, codes_pred, names = _encode_pair(y_true, y_pred, classes)
    matrix = _confusion_counts(codes_true, codes_pred, len(names))
    per_class = _per_class_frame(matrix, names)
    count = int(matrix.sum())
    support = per_class["support"].to_numpy(dtype=float)
    return {
        "count": count,
        "accuracy": float(np.trace(matrix) / count) if count else 0.0,
        "macro_precision": float(per_class["precision"].mean()),
        "macro_recall": float(per_class["recall"].mean()),
        "macro_f1": float(per_class["f1"].mean()),
        "weighted_f1": (
            float(np.average(per_class["f1"], weights=support)) if count else 0.0
        ),
    }


def multiclass_confusion(
    y_true: Sequence[Any] | np.ndarray | pd.Series,
    y_pred: Sequence[Any] | np.ndarray | pd.Series,
    classes: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Lay out the N by N confusion matrix as one row per cell.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted labels.
    classes : sequence, optional
        The model's classes, see :func:`class_metrics`.

    Returns
    -------
    pandas.DataFrame
        ``N * N`` rows, actual class major, with columns ``actual``,
        ``predicted`` (class names as text), ``count``, ``percent`` (of all
        rows, 0 to 100) and ``row_percent`` (of the actual class's rows). Use
        ``frame.pivot(index="actual", columns="predicted", values="count")``
        for the matrix.
    """
    codes_true, codes_pred, names = _encode_pair(y_true, y_pred, classes)
    matrix = _confusion_counts(codes_true, codes_pred, len(names))
    total = matrix.sum()
    row_totals = matrix.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = np.where(total > 0, 100.0 * matrix / max(total, 1), 0.0)
        row_percent = np.where(
            row_totals > 0, 100.0 * matrix / np.maximum(row_totals, 1), 0.0
        )
    n_classes = len(names)
    return pd.DataFrame(
        {
            "actual": np.repeat(names, n_classes),
            "predicted": np.tile(names, n_classes),
            "count": matrix.ravel(),
            "percent": percent.ravel(),
            "row_percent": row_percent.ravel(),
        }
    )


def one_vs_rest_curves(
    y_true: Sequence[Any] | np.ndarray | pd.Series,
    y_proba: np.ndarray,
    classes: Sequence[Any],
    *,
    max_points: int = MAX_CURVE_POINTS,
) -> OneVsRestCurves:
    """Compute a ROC and a precision-recall curve for each class against the rest.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels.
    y_proba : numpy.ndarray of shape (n, n_classes)
        Class scores in the order of ``classes``.
    classes : sequence
        The model's classes.
    max_points : int, default 500
        Points kept per curve, see :func:`analysis.curves.thin_curve`.

    Returns
    -------
    OneVsRestCurves
    """
    scores = np.asarray(y_proba, dtype=float)
    predicted_classes(scores, classes)  # checks the shape
    codes_true, names = _encode(y_true, classes)
    labelled = codes_true >= 0

    roc_parts, pr_parts, areas = [], [], []
    for index, name in enumerate(names[: len(classes)]):
        is_class = codes_true[labelled] == index
        class_scores = scores[labelled, index]
        roc = roc_curve(is_class, class_scores, max_points=max_points)
        pr = pr_curve(is_class, class_scores, max_points=max_points)
        roc_parts.append(roc.points.assign(**{"class": name}))
        pr_parts.append(pr.points.assign(**{"class": name}))
        areas.append(
            {
                "class": name,
                "support": int(is_class.sum()),
                "roc_auc": roc.auc,
                "pr_auc": pr.auc,
                "average_precision": pr.average_precision,
            }
        )

    roc_columns = ["class", "fpr", "tpr", "threshold"]
    pr_columns = ["class", "recall", "precision", "threshold"]
    return OneVsRestCurves(
        roc=pd.concat(roc_parts, ignore_index=True)[roc_columns],
        pr=pd.concat(pr_parts, ignore_index=True)[pr_columns],
        areas=pd.DataFrame(areas),
    )


def multiclass_metrics_by_slice(
    y_true: Sequence[Any] | np.ndarray | pd.Series,
    y_pred: Sequence[Any] | np.ndarray | pd.Series,
    slices: Sequence[Any] | np.ndarray | pd.Series,
    classes: Sequence[Any] | None = None,
    *,
    min_rows: int = SMALL_SLICE_ROWS,
) -> pd.DataFrame:
    """Compute accuracy and macro F1 for all rows and for each slice.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted labels.
    slices : array-like of shape (n,)
        Slice label of each row, see :func:`analysis.slices.slice_codes`.
    classes : sequence, optional
        The model's classes, see :func:`class_metrics`.
    min_rows : int, default 30
        Slices with fewer rows get ``small=True``.

    Returns
    -------
    pandas.DataFrame
        ``"All rows"`` first, then one row per non-empty slice, with columns
        ``slice``, ``count``, ``correct``, ``accuracy``, ``macro_f1`` (over all
        classes, absent ones counting as 0) and ``small``.
    """
    matrices, slice_names, _ = _confusion_by_slice(y_true, y_pred, slices, classes)
    count = matrices.sum(axis=(1, 2))
    correct = np.trace(matrices, axis1=1, axis2=2)
    tp = np.diagonal(matrices, axis1=1, axis2=2)
    f1 = _ratio(2 * tp, matrices.sum(axis=2) + matrices.sum(axis=1))

    frame = pd.DataFrame(
        {
            "slice": [ALL_ROWS_LABEL, *slice_names],
            "count": count,
            "correct": correct,
            "accuracy": _ratio(correct, count),
            "macro_f1": f1.mean(axis=1),
        }
    )
    frame["small"] = frame["count"] < min_rows
    keep = frame["count"].to_numpy() > 0
    keep[0] = True
    return frame.loc[keep].reset_index(drop=True)


def one_vs_rest_rates_by_slice(
    y_true: Sequence[Any] | np.ndarray | pd.Series,
    y_pred: Sequence[Any] | np.ndarray | pd.Series,
    slices: Sequence[Any] | np.ndarray | pd.Series,
    classes: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Compute each class's one-vs-rest rates in each slice.

    For class ``c``, a row is positive when its true label is ``c`` and
    predicted positive when its predicted label is ``c``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted labels.
    slices : array-like of shape (n,)
        Slice label of each row.
    classes : sequence, optional
        The model's classes, see :func:`class_metrics`.

    Returns
    -------
    pandas.DataFrame
        One row per slice (``"All rows"`` first, empty slices dropped) and
        class, with columns ``slice``, ``class``, ``count`` (rows in the
        slice), ``support``, ``tp``, ``fp``, ``fn``, ``tn``, ``tpr``,
        ``fpr``, ``fnr``, ``precision``, ``f1`` and ``selection_rate``.
    """
    matrices, slice_names, class_names = _confusion_by_slice(
        y_true, y_pred, slices, classes
    )
    count = matrices.sum(axis=(1, 2))[:, None]
    tp = np.diagonal(matrices, axis1=1, axis2=2)
    support = matrices.sum(axis=2)
    predicted = matrices.sum(axis=1)
    fn = support - tp
    fp = predicted - tp
    tn = count - tp - fn - fp

    n_slices, n_classes = tp.shape
    frame = pd.DataFrame(
        {
            "slice": np.repeat([ALL_ROWS_LABEL, *slice_names], n_classes),
            "class": np.tile(class_names, n_slices),
            "count": np.repeat(count[:, 0], n_classes),
            "support": support.ravel(),
            "tp": tp.ravel(),
            "fp": fp.ravel(),
            "fn": fn.ravel(),
            "tn": tn.ravel(),
            "tpr": _ratio(tp, support).ravel(),
            "fpr": _ratio(fp, fp + tn).ravel(),
            "fnr": _ratio(fn, support).ravel(),
            "precision": _ratio(tp, predicted).ravel(),
            "f1": _ratio(2 * tp, support + predicted).ravel(),
            "selection_rate": _ratio(predicted, count).ravel(),
        }
    )
    keep = frame["count"].to_numpy() > 0
    keep[: len(class_names)] = True
    return frame.loc[keep].reset_index(drop=True)


def _confusion_by_slice(
    y_true: Any, y_pred: Any, slices: Any, classes: Sequence[Any] | None
) -> tuple[np.ndarray, list[str], list[str]]:
    """Count confusion matrices for all rows (index 0) and for each slice."""
    codes_true, codes_pred, class_names = _encode_pair(y_true, y_pred, classes)
    slice_of_row, slice_names = slice_codes(slices, len(codes_true))
    labelled = codes_true >= 0

    n_classes, n_slices = len(class_names), len(slice_names)
    flat = (
        slice_of_row[labelled] * n_classes + codes_true[labelled]
    ) * n_classes + codes_pred[labelled]
    per_slice = np.bincount(flat, minlength=n_slices * n_classes * n_classes)
    per_slice = per_slice.reshape(n_slices, n_classes, n_classes)
    matrices = np.concatenate([per_slice.sum(axis=0, keepdims=True), per_slice])
    return matrices, slice_names, class_names


def _per_class_frame(matrix: np.ndarray, names: list[str]) -> pd.DataFrame:
    tp = np.diagonal(matrix)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    return pd.DataFrame(
        {
            "class": names,
            "support": support,
            "predicted": predicted,
            "tp": tp,
            "fp": predicted - tp,
            "fn": support - tp,
            "precision": _ratio(tp, predicted),
            "recall": _ratio(tp, support),
            "f1": _ratio(2 * tp, support + predicted),
        }
    )


def _confusion_counts(
    codes_true: np.ndarray, codes_pred: np.ndarray, n_classes: int
) -> np.ndarray:
    labelled = codes_true >= 0
    flat = codes_true[labelled] * n_classes + codes_pred[labelled]
    counts = np.bincount(flat, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


def _encode_pair(
    y_true: Any, y_pred: Any, classes: Sequence[Any] | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Encode true and predicted labels against one list of class names.

    True labels that are missing get the code -1. A predicted label that is
    missing or not among the classes raises ``ValueError``.
    """
    true_codes, true_values = _factorize(y_true)
    pred_codes, pred_values = _factorize(y_pred)
    if len(true_codes) != len(pred_codes):
        raise ValueError(
            f"y_pred must have length {len(true_codes)} to match y_true, got "
            f"{len(pred_codes)}"
        )
    if classes is None:
        present = pd.unique(np.array([*true_values, *pred_values], dtype=object))
        classes = _sorted_labels(list(present))

    pred_lookup, _ = _match_classes(pred_values, classes, allow_extra=False)
    if (pred_codes < 0).any():
        raise ValueError(
            f"y_pred contains {int((pred_codes < 0).sum())} missing value(s); every "
            "row needs a predicted class"
        )
    true_lookup, names = _match_classes(true_values, classes)
    return _apply_lookup(true_codes, true_lookup), pred_lookup[pred_codes], names


def _encode(values: Any, classes: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """Return each value's position among the classes (-1 if missing) and names."""
    value_codes, distinct = _factorize(values)
    lookup, names = _match_classes(distinct, classes)
    return _apply_lookup(value_codes, lookup), names


def _factorize(values: Any) -> tuple[np.ndarray, list[Any]]:
    """Return a code per row (-1 for missing) and the distinct values.

    An array is factorized as it is. Wrapping an object array of text in a
    Series would first convert every row to pandas' string dtype, which takes
    longer than the factorizing (pandas 3.1, 1,000,000 rows).
    """
    if not isinstance(values, pd.Series | pd.Categorical):
        values = np.asarray(values)
        if values.dtype.kind in "US":
            values = values.astype(object)
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), list(distinct)


def _apply_lookup(codes: np.ndarray, lookup: np.ndarray) -> np.ndarray:
    """Map factorized codes through ``lookup``, keeping -1 for missing values."""
    if len(lookup) == 0:
        return codes
    return np.where(codes >= 0, lookup[np.maximum(codes, 0)], -1)


def _match_classes(
    distinct: list[Any], classes: Sequence[Any], *, allow_extra: bool = True
) -> tuple[np.ndarray, list[str]]:
    """Find each distinct label among the classes: with ``==``, else as text.

    Labels that match no class become extra classes after them when
    ``allow_extra`` is True, else raise ``ValueError``.
    """
    names = [str(c) for c in classes]
    by_value = {}
    for position, value in enumerate(classes):
        by_value.setdefault(value, position)
    by_text = {}
    for position, name in enumerate(names):
        by_text.setdefault(name, position)

    lookup = np.empty(len(distinct), dtype=np.int64)
    unmatched = []
    for index, value in enumerate(distinct):
        position = by_value.get(value, by_text.get(str(value)))
        if position is None:
            unmatched.append(index)
        else:
            lookup[index] = position

    if unmatched:
        extra = _sorted_labels([distinct[index] for index in unmatched])
        if not allow_extra:
            raise ValueError(
                f"predicted labels {extra[:5]} are not among the classes {names}"
            )
        logger.debug("labels not among the model's classes: %s", extra)
        position_of = {str(label): len(names) + k for k, label in enumerate(extra)}
        for index in unmatched:
            lookup[index] = position_of[str(distinct[index])]
        names.extend(str(label) for label in extra)
    return lookup, names


def _sorted_labels(labels: list[Any]) -> list[Any]:
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=str)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    return np.divide(
        numerator,
        denominator,
        out=np.zeros(np.broadcast(numerator, denominator).shape),
        where=denominator != 0,
    )
