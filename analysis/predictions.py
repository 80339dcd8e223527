"""Predicted labels from scores, per-row thresholds included, and top classes.

A binary row is predicted positive when the positive class's score is at least the
row's threshold (one threshold for all rows, or its slice's). A multi-class row
gets the class with the highest score, the first on ties. A regression row's
prediction is its predicted value.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

TOP_CLASSES = 3


@dataclass(frozen=True)
class RowPrediction:
    """The prediction of one row, for the datapoint editor and its history.

    Attributes
    ----------
    prediction : object
        Predicted class, or the predicted value for regression.
    score : float
        Binary: the positive class's score. Multi-class: the predicted class's
        score. Regression: the predicted value.
    scores : tuple of float
        Every class's score in the order of the classes; empty for regression.
    top_classes : tuple of (object, float)
        Up to :data:`TOP_CLASSES` classes with the highest scores, highest first;
        empty for regression.
    """

    prediction: Any
    score: float
    scores: tuple[float, ...]
    top_classes: tuple[tuple[Any, float], ...]


def predicted_labels(
    task: str,
    scores: np.ndarray,
    classes: Sequence[Any] | None,
    *,
    pos_index: int = 1,
    thresholds: float | np.ndarray = 0.5,
) -> np.ndarray:
    """Return the predicted label of every row.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
    scores : numpy.ndarray
        ``(n, n_classes)`` class scores, or ``(n,)`` predicted values.
    classes : sequence or None
        Class labels in score column order; None for regression.
    pos_index : int, default 1
        Score column of the positive class (binary).
    thresholds : float or numpy.ndarray of shape (n,), default 0.5
        Binary decision threshold, one for all rows or one per row.

    Returns
    -------
    numpy.ndarray of shape (n,)
        Class labels (object dtype), or float predictions for regression.
    """
    scores = np.asarray(scores, dtype=float)
    if task == "regression":
        return scores.reshape(len(scores))
    names = np.empty(len(classes), dtype=object)
    names[:] = list(classes)
    if scores.ndim != 2 or scores.shape[1] != len(names):
        raise ValueError(
            f"scores must have shape (n, {len(names)}) to match the classes, got "
            f"{scores.shape}"
        )
    if task == "binary":
        is_positive = scores[:, pos_index] >= thresholds
        return np.where(is_positive, names[pos_index], names[1 - pos_index])
    return names[np.argmax(scores, axis=1)]


def row_prediction(
    task: str,
    scores: np.ndarray,
    classes: Sequence[Any] | None,
    *,
    pos_index: int = 1,
    threshold: float = 0.5,
    n_top: int = TOP_CLASSES,
) -> RowPrediction:
    """Describe the prediction of one row from its scores.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
    scores : numpy.ndarray
        The row's class scores ``(n_classes,)``, or its predicted value.
    classes : sequence or None
        Class labels; None for regression.
    pos_index : int, default 1
        Score column of the positive class (binary).
    threshold : float, default 0.5
        The row's binary decision threshold.
    n_top : int, default 3
        Number of classes in ``top_classes``.

    Returns
    -------
    RowPrediction
    """
    values = np.asarray(scores, dtype=float).reshape(-1)
    if task == "regression":
        value = float(values[0])
        return RowPrediction(prediction=value, score=value, scores=(), top_classes=())

    label = predicted_labels(
        task, values[np.newaxis, :], classes, pos_index=pos_index, thresholds=threshold
    )[0]
    if task == "binary":
        score = float(values[pos_index])
    else:
        score = float(values[int(np.argmax(values))])
    # A stable sort keeps the class order among equal scores.
    order = np.argsort(-values, kind="stable")[:n_top]
    top = tuple((classes[int(i)], float(values[int(i)])) for i in order)
    return RowPrediction(
        prediction=label,
        score=score,
        scores=tuple(float(v) for v in values),
        top_classes=top,
    )


def format_top_classes(top_classes: Sequence[tuple[Any, float]]) -> str:
    """Format top classes as text, such as ``"cat 0.71, dog 0.20, fox 0.05"``."""
    return ", ".join(f"{name} {score:.2f}" for name, score in top_classes)
