"""Models registered in code as predict functions, for libraries Runlens cannot load.

XGBoost, LightGBM or PyTorch users wrap their model in a function from a DataFrame
to scores and register it by name::

    from analysis.registry import register_model

    register_model(
        "xgb",
        lambda frame: booster.predict(xgboost.DMatrix(frame)),
        task="binary",
        classes=["<=50K", ">50K"],
        feature_names=["age", "hours_per_week"],
    )

The registry lives in the process, so the function must be registered by code
that runs in the same process as the analysis (a Streamlit app imports it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.models import TASKS, ModelError, Predictor

logger = logging.getLogger(__name__)

PredictFunction = Callable[[pd.DataFrame], Any]

_registry: dict[str, Predictor] = {}
_lock = threading.Lock()


class PredictFunctionModel:
    """The methods ``Predictor`` calls, backed by a registered predict function.

    ``predict`` and ``predict_proba`` both call the function and check that its
    output is numeric, has one entry per row and, for classification, lies in
    [0, 1]. PyTorch tensors are detached and moved to the CPU first.
    """

    def __init__(self, name: str, predict_fn: PredictFunction, task: str) -> None:
        self.name = name
        self.predict_fn = predict_fn
        self.task = task

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Call the predict function on ``frame`` and return its checked output."""
        output = _as_numpy(self.predict_fn(frame))
        try:
            values = np.asarray(output, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ModelError(
                f"the predict function of {self.name!r} returned non-numeric "
                f"values ({exc}); it must return numbers"
            ) from exc

        if values.ndim == 0 or len(values) != len(frame):
            shape = values.shape
            raise ModelError(
                f"the predict function of {self.name!r} returned shape {shape} for "
                f"{len(frame)} rows; it must return one value or one row of class "
                "scores per input row"
            )
        if self.task != "regression":
            outside = values[(values < 0.0) | (values > 1.0)]
            if outside.size:
                raise ModelError(
                    f"the predict function of {self.name!r} returned the score "
                    f"{outside[0]:g}, outside [0, 1]. A classifier must return "
                    "probabilities: apply a sigmoid or softmax to raw margins."
                )
        return values

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the class probabilities, the same as :meth:`predict`."""
        return self.predict(frame)


def register_model(
    name: str,
    predict_fn: PredictFunction,
    *,
    task: str,
    classes: Sequence[Any] | None = None,
    feature_names: Sequence[str] | None = None,
) -> Predictor:
    """Register a predict function under ``name`` and return it as a Predictor.

    Registering a name again replaces the earlier model.

    Parameters
    ----------
    name : str
        Name shown in the app.
    predict_fn : callable
        Called with a DataFrame of the input columns (``feature_names`` in that
        order, or every column except the label). It returns a numpy array,
        list, pandas object or PyTorch tensor (on any device). A binary model
        returns the positive class's score per row, shape ``(n,)`` or
        ``(n, 1)``, or both classes' probabilities, ``(n, 2)``. A multiclass
        model returns ``(n, n_classes)`` probabilities, and a regression model
        ``(n,)`` or ``(n, 1)`` predictions.
    task : {"binary", "multiclass", "regression"}
    classes : sequence, optional
        Class labels in the order of the score columns, required for
        classification. Binary: ``[negative, positive]``.
    feature_names : sequence of str, optional
        Input columns. When given, the data must contain them and the function
        receives only them.

    Returns
    -------
    Predictor
        ``frame_input`` is True, so the function always gets a DataFrame.

    Raises
    ------
    ModelError
        If the name, function, task or classes are invalid.
    """
    if not isinstance(name, str) or not name.strip():
        raise ModelError(f"a registered model needs a non-empty name, got {name!r}")
    if not callable(predict_fn):
        raise ModelError(
            f"predict_fn of {name!r} must be callable, got {type(predict_fn).__name__}"
        )
    classes_list = _checked_classes(name, task, classes)

    names = None if feature_names is None else [str(column) for column in feature_names]
    predictor = Predictor(
        model=PredictFunctionModel(name, predict_fn, task),
        task=task,
        classes=classes_list,
        feature_names=names,
        n_features=None if names is None else len(names),
        frame_input=True,
    )
    with _lock:
        replaced = name in _registry
        _registry[name] = predictor
    logger.info(
        "%s model %r (%s)", "Replaced" if replaced else "Registered", name, task
    )
    return predictor


def registered_model(name: str) -> Predictor:
    """Return the Predictor registered under ``name``.

    Raises
    ------
    ModelError
        If no model has that name; the message lists the registered names.
    """
    with _lock:
        predictor = _registry.get(name)
        names = sorted(_registry)
    if predictor is None:
        listed = ", ".join(map(repr, names)) or "none"
        raise ModelError(
            f"no model is registered as {name!r}. Registered models: {listed}. "
            "Call analysis.registry.register_model first."
        )
    return predictor


def registered_model_names() -> list[str]:
    """Return the names of the registered models, sorted."""
    with _lock:
        return sorted(_registry)


def unregister_model(name: str) -> None:
    """Remove a registered model; a name that is not registered is ignored."""
    with _lock:
        removed = _registry.pop(name, None)
    if removed is not None:
        logger.info("Unregistered model %r", name)


def _checked_classes(
    name: str, task: str, classes: Sequence[Any] | None
) -> list[Any] | None:
    if task not in TASKS:
        raise ModelError(
            f"unknown task {task!r} for {name!r}; expected one of {', '.join(TASKS)}"
        )
    if task == "regression":
        if classes is not None:
            raise ModelError(f"{name!r} is a regression model; do not pass classes")
        return None

    if classes is None:
        raise ModelError(
            f"{name!r} is a {task} model and needs classes, the labels in the "
            "order of its score columns"
        )
    classes_list = list(classes)
    if len(set(map(str, classes_list))) != len(classes_list):
        raise ModelError(f"the classes of {name!r} repeat a label: {classes_list}")
    if task == "binary" and len(classes_list) != 2:
        raise ModelError(
            f"a binary model needs 2 classes [negative, positive]; {name!r} got "
            f"{len(classes_list)}: {classes_list}"
        )
    if task == "multiclass" and len(classes_list) < 2:
        raise ModelError(
            f"a multiclass model needs at least 2 classes; {name!r} got {classes_list}"
        )
    return classes_list


def _as_numpy(output: Any) -> Any:
    """Convert a PyTorch tensor or pandas object to numpy; return others as is."""
    if hasattr(output, "detach") and hasattr(output, "cpu"):
        return output.detach().cpu().numpy()
    if isinstance(output, pd.DataFrame | pd.Series):
        return output.to_numpy()
    return output
