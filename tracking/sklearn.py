"""Log a scikit-learn classifier's test results to a run, as ``wandb.sklearn`` does.

``log_classifier(run, model, X_test, y_test)`` puts accuracy, precision,
recall, F1 and ROC AUC in the run's summary and logs the confusion matrix
and ROC curve as tables. ``plot_classifier``, ``plot_confusion_matrix`` and
``plot_roc`` keep W&B's names and act on the current run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import metrics

from tracking import _state
from tracking.errors import UsageError
from tracking.media import Table

logger = logging.getLogger(__name__)

CONFUSION_COLUMNS = ["Actual", "Predicted", "nPredictions"]
ROC_COLUMNS = ["class", "fpr", "tpr"]


def _class_names(classes: np.ndarray, labels: Sequence[str] | None) -> list[Any]:
    if labels is None:
        return [value.item() if hasattr(value, "item") else value for value in classes]
    if len(labels) != len(classes):
        raise ValueError(
            f"labels has {len(labels)} names for {len(classes)} classes "
            f"{list(classes)[:10]}; give one name per class, in class order"
        )
    return list(labels)


def _scores(model: Any, X: Any) -> np.ndarray | None:
    """Return class scores: predict_proba, else decision_function, else None."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X))
    return None


def confusion_table(
    y_true: Any, y_pred: Any, classes: np.ndarray, names: list[Any]
) -> Table:
    """Return the confusion matrix as one row per (actual, predicted) class pair."""
    matrix = metrics.confusion_matrix(y_true, y_pred, labels=classes)
    table = Table(columns=CONFUSION_COLUMNS)
    for row, actual in enumerate(names):
        for column, predicted in enumerate(names):
            table.add_data(actual, predicted, int(matrix[row, column]))
    return table


def roc_table(
    y_true: Any, scores: np.ndarray, classes: np.ndarray, names: list[Any]
) -> Table:
    """Return ROC curves, one-vs-rest per class (the positive class if binary)."""
    table = Table(columns=ROC_COLUMNS)
    y_true = np.asarray(y_true)
    if len(classes) == 2:
        positive = scores[:, 1] if scores.ndim == 2 else scores
        curves = [(1, positive)]
    else:
        curves = list(enumerate(scores.T))
    for index, score in curves:
        fpr, tpr, _ = metrics.roc_curve(y_true == classes[index], score)
        for x, y in zip(fpr, tpr, strict=True):
            table.add_data(names[index], float(x), float(y))
    return table


def classifier_metrics(
    y_true: Any, y_pred: Any, scores: np.ndarray | None, classes: np.ndarray
) -> dict[str, float]:
    """Return accuracy, precision, recall, F1 and (with scores) ROC AUC.

    Binary problems score the second class of ``classes`` as positive;
    multiclass problems average over classes weighted by support.
    """
    binary = len(classes) == 2
    average = "binary" if binary else "weighted"
    options: dict[str, Any] = {"average": average, "zero_division": 0}
    if binary:
        options["pos_label"] = classes[1]
    else:
        options["labels"] = classes
    result = {
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "precision": metrics.precision_score(y_true, y_pred, **options),
        "recall": metrics.recall_score(y_true, y_pred, **options),
        "f1": metrics.f1_score(y_true, y_pred, **options),
    }
    if scores is not None:
        if binary:
            positive = scores[:, 1] if scores.ndim == 2 else scores
            result["roc_auc"] = metrics.roc_auc_score(
                np.asarray(y_true) == classes[1], positive
            )
        else:
            result["roc_auc"] = metrics.roc_auc_score(
                y_true, scores, multi_class="ovr", average="weighted", labels=classes
            )
    return {key: float(value) for key, value in result.items()}


def log_classifier(
    run: Any,
    model: Any,
    X_test: Any,
    y_test: Any,
    labels: Sequence[str] | None = None,
    *,
    prefix: str = "",
    y_pred: Any = None,
    y_probas: Any = None,
) -> dict[str, float]:
    """Log a fitted classifier's test metrics, confusion matrix and ROC curve.

    Parameters
    ----------
    run : tracking.Run
        The run to log to.
    model : classifier
        A fitted scikit-learn classifier (``predict``, and ``predict_proba``
        or ``decision_function`` for the ROC curve).
    X_test, y_test : array-like
        Held-out data and its true classes.
    labels : list of str, optional
        Display names of the classes, in the order of ``model.classes_``.
    prefix : str
        Put before every key, e.g. ``"test_"``.
    y_pred, y_probas : array-like, optional
        Predictions and class scores already computed, instead of asking
        the model again.

    Returns
    -------
    dict
        The metrics written to the summary: ``accuracy``, ``precision``,
        ``recall``, ``f1`` and, when scores exist, ``roc_auc``.
    """
    y_pred = model.predict(X_test) if y_pred is None else np.asarray(y_pred)
    classes = getattr(model, "classes_", None)
    if classes is None:
        classes = np.unique(np.concatenate([np.asarray(y_test), np.asarray(y_pred)]))
    classes = np.asarray(classes)
    names = _class_names(classes, labels)
    scores = _scores(model, X_test) if y_probas is None else np.asarray(y_probas)

    result = classifier_metrics(y_test, y_pred, scores, classes)
    run.summary.update({f"{prefix}{key}": value for key, value in result.items()})

    tables = {
        f"{prefix}confusion_matrix": confusion_table(y_test, y_pred, classes, names)
    }
    if scores is not None:
        tables[f"{prefix}roc_curve"] = roc_table(y_test, scores, classes, names)
    else:
        logger.warning(
            "%s has neither predict_proba nor decision_function; no ROC curve "
            "or ROC AUC logged",
            type(model).__name__,
        )
    run.log(tables)
    return result


def _current_run(what: str) -> Any:
    run = _state.current()
    if run is None:
        raise UsageError(f"You must call tracking.init() before sklearn.{what}()")
    return run


def plot_classifier(
    model: Any,
    X_train: Any,
    X_test: Any,
    y_train: Any,
    y_test: Any,
    y_pred: Any = None,
    y_probas: Any = None,
    labels: Sequence[str] | None = None,
    is_binary: bool = False,
    model_name: str = "Classifier",
    feature_names: Sequence[str] | None = None,
    log_learning_curve: bool = False,
) -> dict[str, float]:
    """W&B's name: :func:`log_classifier` on the current run.

    The training data, ``is_binary``, ``model_name``, ``feature_names`` and
    ``log_learning_curve`` are accepted for compatibility and not used.
    """
    return log_classifier(
        _current_run("plot_classifier"),
        model,
        X_test,
        y_test,
        labels,
        y_pred=y_pred,
        y_probas=y_probas,
    )


def plot_confusion_matrix(
    y_true: Any, y_pred: Any, labels: Sequence[str] | None = None
) -> Table:
    """Log the confusion matrix of predictions to the current run and return it."""
    classes = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
    table = confusion_table(y_true, y_pred, classes, _class_names(classes, labels))
    _current_run("plot_confusion_matrix").log({"confusion_matrix": table})
    return table


def plot_roc(y_true: Any, y_probas: Any, labels: Sequence[str] | None = None) -> Table:
    """Log ROC curves of class scores to the current run and return them.

    ``y_probas`` has one column per class, in sorted class order.
    """
    classes = np.unique(np.asarray(y_true))
    table = roc_table(
        y_true, np.asarray(y_probas), classes, _class_names(classes, labels)
    )
    _current_run("plot_roc").log({"roc_curve": table})
    return table
