"""Predictions-only mode: scores read from columns of the data, with no model.

A CSV with a label column and a score column (the positive class's probability for
a binary task, one probability column per class for a multiclass task, or the
predicted value for regression) supports the performance and fairness analyses.
Editing a row, partial dependence and generated counterfactuals change feature
values and predict again, which needs a model: they call :func:`require_model`,
which raises :class:`ModelRequiredError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.models import TASKS, ModelError, Predictor
from analysis.sources import label_values

logger = logging.getLogger(__name__)


class ModelRequiredError(ModelError):
    """An analysis that predicts on changed rows was asked for without a model."""


@dataclass(kw_only=True)
class PredictionsOnlyPredictor(Predictor):
    """A stand-in for a model that returns scores stored in the data.

    ``predict_scores`` reads the score columns of the frame it is given, so it
    returns the stored score even for a row whose features were edited. Code
    that predicts on changed rows must call :func:`require_model` first.

    Attributes
    ----------
    score_columns : tuple of str
        One column for binary (the score of ``classes[1]``) and regression (the
        prediction), one per class, in the order of ``classes``, for multiclass.
    """

    model: Any = None
    score_columns: tuple[str, ...] = ()

    def predict_scores(
        self,
        frame: pd.DataFrame,
        batch_size: int = 65536,
        progress: Callable[[float], object] | None = None,
        *,
        label: str | None = None,
    ) -> np.ndarray:
        """Read the stored scores in the layout of ``Predictor.predict_scores``.

        Parameters
        ----------
        frame : pandas.DataFrame
            Data containing the score columns.
        batch_size : int, default 65536
            Unused; kept for the ``Predictor`` signature.
        progress : callable, optional
            Called once with 1.0.
        label : str, optional
            Unused; kept for the ``Predictor`` signature.

        Returns
        -------
        numpy.ndarray
            ``(n, 2)`` for binary (``1 - score`` and ``score``), ``(n, n_classes)``
            for multiclass, ``(n,)`` for regression.

        Raises
        ------
        ModelError
            If a score column is missing, not numeric, has a missing value, or
            contains a classification score outside [0, 1].
        """
        columns = [
            score_values(frame, column, self.task) for column in self.score_columns
        ]
        if progress is not None:
            progress(1.0)
        if self.task == "regression":
            return columns[0]
        if self.task == "binary":
            return np.column_stack([1.0 - columns[0], columns[0]])
        return np.column_stack(columns)


def predictions_only_predictor(
    frame: pd.DataFrame,
    score_columns: str | Sequence[str],
    *,
    task: str = "binary",
    label: str | None = None,
    classes: Sequence[Any] | None = None,
    positive: Any = None,
) -> PredictionsOnlyPredictor:
    """Build a predictor that reads scores from columns of ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data with its score columns. They are checked here.
    score_columns : str or sequence of str
        Binary: one column with the positive class's score in [0, 1].
        Regression: one column with the predicted value. Multiclass: one
        column per class, in the order of ``classes``.
    task : {"binary", "multiclass", "regression"}, default "binary"
    label : str, optional
        Label column. Binary and multiclass classes default to its distinct
        values, sorted.
    classes : sequence, optional
        Class labels. Binary: ``[negative, positive]``, where the score column
        contains the positive class's score. Overrides the label's values.
    positive : object, optional
        Binary only: the positive class when ``classes`` is not given. Defaults to
        the last of the label's sorted values.

    Returns
    -------
    PredictionsOnlyPredictor
        ``feature_names`` lists the columns other than the label and the scores.

    Raises
    ------
    ModelError
        If the scores are invalid, or the classes cannot be determined.
    """
    if task not in TASKS:
        raise ModelError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    columns = (
        (score_columns,) if isinstance(score_columns, str) else tuple(score_columns)
    )
    if task != "multiclass" and len(columns) != 1:
        raise ModelError(
            f"task {task!r} reads one score column, got {len(columns)}: {list(columns)}"
        )
    if label is not None and label in columns:
        raise ModelError(f"{label!r} is the label column; it cannot be a score column")

    resolved = _resolve_classes(frame, task, columns, label, classes, positive)
    predictor = PredictionsOnlyPredictor(
        task=task,
        classes=resolved,
        feature_names=[c for c in frame.columns if c != label and c not in columns],
        score_columns=columns,
    )
    predictor.n_features = len(predictor.feature_names or ())
    predictor.predict_scores(frame)
    logger.info("Predictions-only %s scores from columns %s", task, list(columns))
    return predictor


def score_values(frame: pd.DataFrame, column: str, task: str) -> np.ndarray:
    """Return a score column as floats, checked for the task.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    column : str
        The score or prediction column.
    task : {"binary", "multiclass", "regression"}

    Returns
    -------
    numpy.ndarray
        Shape ``(len(frame),)``.

    Raises
    ------
    ModelError
        If the column is missing, contains text, has a missing or infinite value,
        or for classification contains a value outside [0, 1]. The message names the
        first offending row position.
    """
    if column not in frame.columns:
        raise ModelError(
            f"the data has no score column {column!r}. Columns: "
            f"{', '.join(map(str, frame.columns))}. Choose the column with the scores."
        )
    series = frame[column]
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        numbers = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy() & series.notna().to_numpy())
        where = f" in row {bad[0]} ({series.iloc[bad[0]]!r})" if bad.size else ""
        raise ModelError(
            f"score column {column!r} contains non-numeric values{where}; "
            "scores must be numbers"
        )

    values = series.to_numpy(dtype=float, na_value=np.nan)
    missing = np.flatnonzero(np.isnan(values))
    if missing.size:
        raise ModelError(
            f"score column {column!r} is missing {missing.size} value(s), the first "
            f"in row {missing[0]}; every row needs a score"
        )
    infinite = np.flatnonzero(~np.isfinite(values))
    if infinite.size:
        raise ModelError(
            f"score column {column!r} has the value {values[infinite[0]]} in row "
            f"{infinite[0]}; scores must be finite"
        )
    if task != "regression":
        outside = np.flatnonzero((values < 0.0) | (values > 1.0))
        if outside.size:
            raise ModelError(
                f"score column {column!r} has the value {values[outside[0]]:g} in row "
                f"{outside[0]}, outside [0, 1]; a {task} score must be a class "
                "probability. Pick a probability column, or use task='regression' "
                "for predicted values."
            )
    return values


def is_predictions_only(predictor: Any) -> bool:
    """Return whether ``predictor`` reads stored scores instead of running a model."""
    return isinstance(predictor, PredictionsOnlyPredictor)


def require_model(predictor: Any, action: str) -> None:
    """Raise :class:`ModelRequiredError` if ``predictor`` has no model.

    Parameters
    ----------
    predictor : Predictor
        The predictor an analysis is about to call on changed rows.
    action : str
        The analysis, for the message, such as ``"partial dependence"``.

    Raises
    ------
    ModelRequiredError
        If ``predictor`` is a :class:`PredictionsOnlyPredictor`.
    """
    if is_predictions_only(predictor):
        columns = ", ".join(map(repr, predictor.score_columns))
        raise ModelRequiredError(
            f"{action} needs a model: it changes feature values and predicts "
            f"again, but this data has stored scores only (column {columns}). "
            "Load a model to use it."
        )


def _resolve_classes(
    frame: pd.DataFrame,
    task: str,
    columns: tuple[str, ...],
    label: str | None,
    classes: Sequence[Any] | None,
    positive: Any,
) -> list[Any] | None:
    if task == "regression":
        return None

    if classes is None:
        if label is None:
            raise ModelError(
                f"a {task} score column needs its classes: pass classes= or the "
                "label column"
            )
        if label not in frame.columns:
            raise ModelError(f"the data has no label column {label!r}")
        classes = label_values(frame, label)
        if task == "binary":
            classes = _binary_classes(classes, positive, label)

    classes = list(classes)
    if task == "binary" and len(classes) != 2:
        raise ModelError(
            f"a binary score column needs 2 classes [negative, positive], got "
            f"{len(classes)}: {classes}"
        )
    if task == "multiclass" and len(classes) != len(columns):
        raise ModelError(
            f"multiclass scores need one column per class: {len(columns)} column(s) "
            f"{list(columns)} for {len(classes)} classes {classes}"
        )
    return classes


def _binary_classes(values: list[Any], positive: Any, label: str) -> list[Any]:
    if len(values) != 2:
        raise ModelError(
            f"label column {label!r} has {len(values)} distinct value(s) {values}, "
            "but a binary score column needs 2. Pass classes=[negative, positive], "
            "or task='multiclass' with one score column per class."
        )
    if positive is None:
        return values
    matches = [
        index for index, value in enumerate(values) if str(value) == str(positive)
    ]
    if not matches:
        raise ModelError(
            f"the positive class {positive!r} is not a value of {label!r}: {values}"
        )
    positive_at = matches[0]
    return [values[1 - positive_at], values[positive_at]]
