"""The selection every What-If page shares: models, dataset, label and positive class.

:func:`whatif_context` draws it in the sidebar of each page and returns a
:class:`WhatIf` with the frame, the models and their cached scores. Its widget
values are kept across page switches and written to the URL (see
:mod:`pages.ui.state`), so a link reopens the same run, dataset and label.

Sources: a run's model and dataset artifacts, uploaded files (skops or Keras;
pickle and joblib only when the operator allows them), or a CSV that already contains
the scores (predictions-only mode, with no model). A second model on the same
dataset is optional.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analysis.data import DataError
from analysis.models import TASKS, ModelError, Predictor
from analysis.predictions import predicted_labels
from analysis.predictions_only import is_predictions_only
from analysis.sources import actual_positive, label_values, positive_index
from pages.ui import sources
from pages.ui.loaders import scores_for, with_task
from pages.ui.state import remember, restore

logger = logging.getLogger(__name__)

SOURCES = {
    "run": "From a run",
    "upload": "Upload files",
    "predictions": "Predictions only (CSV)",
}
DETECTED = "detected"


@dataclass(frozen=True)
class LoadedModel:
    """One model with its scores on the dataset.

    Attributes
    ----------
    name : str
        Display name, such as the run name or the file name.
    predictor : Predictor
        The model, task override applied.
    key : str
        Cache key of the model (its digest).
    scores : numpy.ndarray
        Read-only output of ``predictor.predict_scores`` on the whole dataset.
    """

    name: str
    predictor: Predictor
    key: str
    scores: np.ndarray


@dataclass
class WhatIf:
    """The dataset, the label and the one or two models that the What-If pages analyse.

    Attributes
    ----------
    frame : pandas.DataFrame
        The dataset, cached: never modify it.
    data_key : str
        Digest of the dataset, for cache keys.
    data_name : str
        Display name of the dataset.
    label : str
        Label column.
    task : {"binary", "multiclass", "regression"}
    models : list of LoadedModel
        One model, or two to compare.
    positive : object or None
        Binary: the positive class.
    pos_index : int
        Binary: the positive class's score column.
    project, run_id : str or None
        The run the first model came from, if any.
    score_columns : tuple of str
        Predictions-only mode: the columns holding the scores.
    row_ids : numpy.ndarray or None
        Editor row id of each row of ``frame`` when it is the edited dataset
        (see :mod:`pages.ui.edits`); None when ids are the row positions.
    original : WhatIf or None
        The unedited selection when ``frame`` is the edited dataset.
    """

    frame: pd.DataFrame
    data_key: str
    data_name: str
    label: str
    task: str
    models: list[LoadedModel]
    positive: Any = None
    pos_index: int = 1
    project: str | None = None
    run_id: str | None = None
    score_columns: tuple[str, ...] = ()
    row_ids: np.ndarray | None = field(default=None, repr=False)
    original: WhatIf | None = field(default=None, repr=False)
    _y_true: np.ndarray | None = field(default=None, repr=False)

    @property
    def model(self) -> LoadedModel:
        """The first model."""
        return self.models[0]

    def model_suffix(self, model: LoadedModel) -> str:
        """Return the short label suffix of a model: empty for the first one.

        Run names are too long for a metric label, so later models are
        numbered and their names go in the metric's help.
        """
        if model is self.model:
            return ""
        return f" (model {self.models.index(model) + 1})"

    @property
    def classes(self) -> list[Any] | None:
        """Class labels of the first model; None for regression."""
        return self.model.predictor.classes

    @property
    def negative(self) -> Any:
        """Binary: the class that is not the positive one."""
        return self.classes[1 - self.pos_index] if self.task == "binary" else None

    @property
    def predictions_only(self) -> bool:
        """Whether the scores come from columns of the data, with no model."""
        return is_predictions_only(self.model.predictor)

    @property
    def unedited(self) -> WhatIf:
        """The selection over the dataset as loaded, without the editor's edits."""
        return self.original or self

    def ids(self) -> np.ndarray:
        """Return the editor row id of every row of ``frame``."""
        if self.row_ids is None:
            return np.arange(len(self.frame))
        return self.row_ids

    @property
    def features(self) -> list[str]:
        """Columns other than the label and stored scores."""
        skipped = {self.label, *self.score_columns}
        return [name for name in self.frame.columns if name not in skipped]

    def y_true(self) -> np.ndarray:
        """Binary: whether each row's label is the positive class."""
        if self._y_true is None:
            self._y_true = actual_positive(self.frame, self.label, self.positive)
        return self._y_true

    def positive_scores(self, model: LoadedModel | None = None) -> np.ndarray:
        """Binary: the positive class's score of every row."""
        return (model or self.model).scores[:, self.pos_index]

    def predictions(
        self, model: LoadedModel | None = None, thresholds: Any = 0.5
    ) -> np.ndarray:
        """Return every row's predicted class (binary at ``thresholds``) or value."""
        model = model or self.model
        return predicted_labels(
            self.task,
            model.scores,
            model.predictor.classes,
            pos_index=self.pos_index,
            thresholds=thresholds,
        )


def whatif_context() -> WhatIf:
    """Draw the shared selection in the sidebar and return what it selects.

    Stops the page, with a message in the main area, while something is missing
    or cannot be loaded.
    """
    with st.sidebar:
        st.header("Model and data")
        restore("wi_source", param="source", options=list(SOURCES), default="run")
        source = st.radio(
            "Source", list(SOURCES), format_func=SOURCES.get, key="wi_source"
        )
        remember("wi_source", param="source")
        selection, message, error = None, None, None
        try:
            if source == "run":
                choice = sources.run_choice()
            elif source == "upload":
                choice = sources.upload_choice()
            else:
                choice = sources.predictions_choice()
            selection = _label_task_and_class(choice)
        except sources.SelectionIncomplete as exc:
            message = str(exc)
        except (ModelError, DataError, ValueError) as exc:
            logger.info("What-If selection failed: %s", exc)
            error = str(exc)

    if selection is None:
        if error:
            st.error(error)
        elif message:
            st.info(message)
        st.stop()
    try:
        return _scored(*selection)
    except (ModelError, ValueError) as exc:
        logger.info("Scoring failed: %s", exc)
        st.error(f"Scoring failed: {exc}")
        st.stop()


def _label_task_and_class(
    choice: sources.Choice,
) -> tuple[sources.Choice, str, str, Any, int]:
    """Choose the label, task and positive class."""
    columns = [str(name) for name in choice.frame.columns]
    default_label = choice.default_label if choice.default_label in columns else None
    restore(
        "wi_label",
        param="label",
        options=columns,
        default=default_label or columns[-1],
    )
    label = st.selectbox("Label column", columns, key="wi_label")
    remember("wi_label", param="label")

    if choice.predictions_only:
        choice = sources.predictions_models(choice, label)
    else:
        choice = _task_override(choice)

    tasks = {predictor.task for _, predictor, _ in choice.models}
    if len(tasks) > 1:
        raise ModelError(
            f"the two models have different tasks ({', '.join(sorted(tasks))}); "
            "compare models of the same task, or override the task"
        )
    task = tasks.pop()
    positive, pos_index = None, 1
    if task == "binary":
        positive, pos_index = _positive_class(choice, label, choice.models[0][1])
    st.caption(
        f"{choice.data_name} · {len(choice.frame):,} rows · {task}"
        + (f" · positive class {positive}" if task == "binary" else "")
    )
    return choice, label, task, positive, pos_index


def _task_override(choice: sources.Choice) -> sources.Choice:
    task_options = [DETECTED, *TASKS]
    restore("wi_task", param="task", options=task_options, default=DETECTED)
    detected = choice.models[0][1].task
    task = st.selectbox(
        "Task",
        task_options,
        key="wi_task",
        format_func=lambda name: f"{detected} (detected)" if name == DETECTED else name,
        help="Override the task detected from the model's outputs.",
    )
    remember("wi_task", param="task")
    if task == DETECTED:
        return choice
    return choice.with_models(
        [
            (name, with_task(key, task, predictor), key)
            for name, predictor, key in choice.models
        ]
    )


def _scored(
    choice: sources.Choice, label: str, task: str, positive: Any, pos_index: int
) -> WhatIf:
    models = []
    for name, predictor, key in choice.models:
        scores = scores_for(predictor, key, choice.frame, choice.data_key, label)
        models.append(
            LoadedModel(name=name, predictor=predictor, key=key, scores=scores)
        )
    return WhatIf(
        frame=choice.frame,
        data_key=choice.data_key,
        data_name=choice.data_name,
        label=label,
        task=task,
        models=models,
        positive=positive,
        pos_index=pos_index,
        project=choice.project,
        run_id=choice.run_id,
        score_columns=choice.score_columns,
    )


def _positive_class(
    choice: sources.Choice, label: str, predictor: Predictor
) -> tuple[Any, int]:
    classes = list(predictor.classes or [])
    if choice.predictions_only:
        # The score column contains the score of classes[1], chosen with the data.
        return classes[1], 1
    names = [str(value) for value in classes]
    values = [str(value) for value in label_values(choice.frame, label)]
    preferred = next((name for name in reversed(names) if name in values), names[-1])
    restore("wi_positive", param="positive", options=names, default=preferred)
    chosen = st.selectbox(
        "Positive class",
        names,
        key="wi_positive",
        help="The class whose score the threshold applies to.",
    )
    remember("wi_positive", param="positive")
    pos_index = positive_index(classes, chosen)
    if chosen not in values:
        st.warning(
            f"No row of {label!r} is {chosen!r}; the label's values are "
            f"{', '.join(values[:10])}. Check the label column."
        )
    return classes[pos_index], pos_index
