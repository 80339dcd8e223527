"""A model's outputs on every row, as columns to describe, plot and colour by.

Classification gives ``prediction`` (the class), ``score`` and, with a label,
``correct``. Regression gives ``prediction`` and, with a label, ``error``
(prediction minus label) and ``absolute_error``.

Built from Python objects and text, these columns are slow at 1,000,000 rows.
They are built from integer codes here instead: the
prediction is a pandas Categorical over the model's classes, and ``correct`` is
looked up from a table that matches each distinct label with each class. That
table comes from :func:`encode_labels`, which can be computed once per dataset
and model and reused at every threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.models import Predictor
from analysis.sources import positive_index


@dataclass(frozen=True, eq=False)
class EncodedLabels:
    """A label column matched with a model's classes.

    Attributes
    ----------
    codes : numpy.ndarray
        Position of each row's label among the distinct labels, -1 where the
        label is missing.
    matches : numpy.ndarray of bool
        ``matches[i, j]`` is True when distinct label ``i`` counts as class
        ``j``, shape ``(n_distinct_labels, n_classes)``.
    n_classes : int
    """

    codes: np.ndarray
    matches: np.ndarray
    n_classes: int


def encode_labels(truth: pd.Series, classes: Sequence[Any]) -> EncodedLabels:
    """Match every row's label with the model's classes.

    A label counts as a class when they are equal. When the label column's dtype
    differs from a Categorical over the classes, they are compared as text, so a
    label read from a CSV as ``"1"`` counts as the class ``1``.

    Parameters
    ----------
    truth : pandas.Series
        The label column.
    classes : sequence
        The model's classes, in score column order.

    Returns
    -------
    EncodedLabels
    """
    codes, uniques = pd.factorize(truth, use_na_sentinel=True)
    labels = pd.Series(uniques, dtype=truth.dtype)
    prediction_dtype = _prediction_dtype(classes)
    class_values = pd.Series(pd.Categorical(list(classes), dtype=prediction_dtype))
    if truth.dtype != prediction_dtype:
        labels, class_values = labels.astype(str), class_values.astype(str)

    matches = np.zeros((len(labels), len(class_values)), dtype=bool)
    for index, value in enumerate(class_values):
        matches[:, index] = (labels == value).to_numpy(dtype=bool, na_value=False)
    return EncodedLabels(codes=codes, matches=matches, n_classes=len(class_values))


def model_outputs(
    predictor: Predictor,
    scores: np.ndarray,
    *,
    truth: pd.Series | None = None,
    threshold: float | np.ndarray = 0.5,
    pos_label: Any = None,
    labels: EncodedLabels | None = None,
) -> dict[str, Any]:
    """Compute the model's output columns, in the order listed in the module doc.

    Parameters
    ----------
    predictor : Predictor
        Gives the task and the classes.
    scores : numpy.ndarray
        Output of ``predictor.predict_scores(frame)``.
    truth : pandas.Series, optional
        The label column. Without it there is no ``correct`` or ``error``.
    threshold : float or numpy.ndarray of shape (n,), default 0.5
        Binary decision threshold, one for all rows or one per row.
    pos_label : object, optional
        Binary positive class, ``classes[1]`` by default.
    labels : EncodedLabels, optional
        ``encode_labels(truth, predictor.classes)``, when the caller keeps it.

    Returns
    -------
    dict of str to array
        ``prediction`` is a pandas Categorical over the classes (a float array
        for regression), ``score`` a float array and ``correct`` a pandas
        boolean array, missing where the label is.
    """
    if predictor.task == "regression":
        prediction = np.array(scores, dtype=float)
        outputs: dict[str, Any] = {"prediction": prediction}
        if truth is not None:
            actual = truth.to_numpy(dtype=float, na_value=np.nan)
            outputs["error"] = prediction - actual
            outputs["absolute_error"] = np.abs(outputs["error"])
        return outputs

    classes = list(predictor.classes)
    codes, score = _predicted_codes(
        predictor.task, scores, classes, threshold, pos_label
    )
    outputs = {
        # A categorical column, so the overview counts classes even when they are
        # numbers.
        "prediction": pd.Categorical.from_codes(
            codes, dtype=_prediction_dtype(classes), validate=False
        ),
        "score": score,
    }
    if truth is not None:
        if labels is None:
            labels = encode_labels(truth, classes)
        outputs["correct"] = correct_predictions(labels, codes)
    return outputs


def correct_predictions(
    labels: EncodedLabels, codes: np.ndarray
) -> pd.arrays.BooleanArray:
    """Return whether each predicted class code matches the row's label.

    Parameters
    ----------
    labels : EncodedLabels
    codes : numpy.ndarray of int
        Position of each row's predicted class among the classes.

    Returns
    -------
    pandas.arrays.BooleanArray
        Missing where the label is.
    """
    if len(codes) != len(labels.codes):
        raise ValueError(
            f"got {len(codes)} predictions but {len(labels.codes)} labels; pass one "
            "predicted class code per row of the encoded labels"
        )
    missing = labels.codes < 0
    if labels.matches.size:
        correct = labels.matches[np.maximum(labels.codes, 0), codes]
    else:
        correct = np.zeros(len(codes), dtype=bool)
    correct[missing] = False
    return pd.arrays.BooleanArray(correct, missing)


def _predicted_codes(
    task: str,
    scores: np.ndarray,
    classes: list[Any],
    threshold: float | np.ndarray,
    pos_label: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's predicted class position and the score shown with it."""
    scores = np.asarray(scores)
    if task == "binary":
        pos = 1 if pos_label is None else positive_index(classes, pos_label)
        score = scores[:, pos]
        codes = np.where(score >= threshold, pos, 1 - pos).astype(np.int8)
        return codes, score
    best = np.argmax(scores, axis=1)
    return best, scores[np.arange(len(scores)), best]


def _prediction_dtype(classes: Sequence[Any]) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(pd.Index(list(classes), dtype=object))
