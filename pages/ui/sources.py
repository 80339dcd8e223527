"""Sidebar widgets that choose the What-If source: a run, uploads, or stored scores.

Each function draws its widgets, loads through the caches of
:mod:`pages.ui.loaders`, and returns a :class:`Choice`. It raises
:class:`SelectionIncomplete` while the user has yet to choose or upload
something, and ``ModelError`` or ``DataError`` when a file cannot be used.

An upload widget is empty again after a page switch, so each upload's name and
digest are kept in session state and the loaded file is found again in the cache
by its digest.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analysis.data import DataError
from analysis.editor import is_numeric_feature
from analysis.models import Predictor
from analysis.sources import label_values
from pages.ui.loaders import (
    PICKLE_ENV,
    digest_of,
    pickle_allowed,
    predictions_predictor,
    project_artifacts,
    run_dataset,
    run_model,
    uploaded_dataset,
    uploaded_model,
)
from pages.ui.state import json_param, keep, kept, remember, restore
from pages.ui.store import get_store, load_projects
from tracking import StoreError

logger = logging.getLogger(__name__)

MODEL_TYPES = ["skops", "keras", "h5", "joblib", "pkl", "pickle"]
CSV_TYPES = ["csv", "gz"]
NO_SECOND_MODEL = "none"
PREDICTION_TASKS = ("binary", "multiclass", "regression")


class SelectionIncomplete(Exception):
    """Raised while the user has yet to choose or upload what the message names."""


@dataclass(frozen=True)
class Choice:
    """A dataset and its models, before the label and task are chosen.

    Attributes
    ----------
    frame : pandas.DataFrame
        The dataset (cached; never modify it).
    data_key, data_name : str
        Digest and display name of the dataset.
    models : list of (name, Predictor, key)
        One or two models with their display names and cache keys. Empty in
        predictions-only mode until the score columns are chosen.
    default_label : str or None
        Label column recorded with the dataset, if any.
    project, run_id : str or None
        The run of the first model, if it came from a run.
    predictions_only : bool
        Whether the scores come from columns of the data.
    task : str or None
        Predictions-only mode: the task the user chose.
    score_columns : tuple of str
        Predictions-only mode: the score columns.
    """

    frame: pd.DataFrame
    data_key: str
    data_name: str
    models: list[tuple[str, Predictor, str]]
    default_label: str | None = None
    project: str | None = None
    run_id: str | None = None
    predictions_only: bool = False
    task: str | None = None
    score_columns: tuple[str, ...] = ()

    def with_models(self, models: list[tuple[str, Predictor, str]]) -> Choice:
        """Return a copy with other models."""
        return replace(self, models=models)


def run_choice() -> Choice:
    """Choose a project, a run with a model, a dataset and an optional second run."""
    store = get_store()
    projects = load_projects(store, store.url)
    if projects.empty:
        raise SelectionIncomplete(
            "The store has no runs. Create the demo project on the home page."
        )
    names = projects["project"].tolist()
    restore("wi_project", param="project", options=names, default=names[0])
    project = st.selectbox("Project", names, key="wi_project")
    remember("wi_project", param="project")

    artifacts = project_artifacts(store, store.url, project)
    models = artifacts[artifacts["type"] == "model"]
    datasets = artifacts[artifacts["type"] == "dataset"]
    if models.empty or datasets.empty:
        raise SelectionIncomplete(
            f"No run in '{project}' stored both a model and a dataset."
        )

    runs = models.drop_duplicates("run_id", keep="last")
    run_names = {
        row.run_id: f"{row.run_name} ({row.run_id})" for row in runs.itertuples()
    }
    run_ids = list(run_names)
    restore("wi_run", param="run", options=run_ids, default=run_ids[0])
    run_id = st.selectbox(
        "Run with a model", run_ids, format_func=run_names.get, key="wi_run"
    )
    remember("wi_run", param="run")

    data_row = _dataset_row(datasets, run_id)
    run_name = runs.loc[runs["run_id"] == run_id, "run_name"].iloc[0]
    second_options = [NO_SECOND_MODEL, *(rid for rid in run_ids if rid != run_id)]
    restore("wi_run2", param="run2", options=second_options, default=NO_SECOND_MODEL)
    second = st.selectbox(
        "Compare with a second model",
        second_options,
        format_func=lambda rid: "(none)" if rid == NO_SECOND_MODEL else run_names[rid],
        key="wi_run2",
    )
    remember("wi_run2", param="run2")

    chosen = [run_id] + ([] if second == NO_SECOND_MODEL else [second])
    try:
        loaded = []
        for rid in chosen:
            model_row = models[models["run_id"] == rid].iloc[-1]
            predictor = run_model(
                store, store.url, model_row["digest"], model_row["manifest"]
            )
            loaded.append((run_names[rid], predictor, model_row["digest"]))
        frame = run_dataset(store, store.url, data_row["digest"], data_row["manifest"])
    except StoreError as exc:
        raise DataError(f"Could not open the run's model or dataset: {exc}") from exc
    return Choice(
        frame=frame,
        data_key=data_row["digest"],
        data_name=f"{dataset_label(data_row)} with run {run_name}",
        models=loaded,
        default_label=data_row["manifest"].get("label"),
        project=project,
        run_id=run_id,
    )


def dataset_label(row: Any) -> str:
    """Name a dataset version by its artifact name and version, such as "test v2".

    Several runs may log the same version, so the name leaves out who logged it.
    """
    return f"{row['name']} v{row['version']}"


def _dataset_row(datasets: pd.DataFrame, run_id: str) -> pd.Series:
    """Choose a dataset artifact, the run's own listed first."""
    own = datasets[datasets["run_id"] == run_id]
    candidates = pd.concat([own, datasets[datasets["run_id"] != run_id]])
    candidates = candidates.drop_duplicates("artifact_pk")
    own_pks = set(own["artifact_pk"])
    labels = {
        str(row["artifact_pk"]): dataset_label(row)
        + (" (logged by this run)" if row["artifact_pk"] in own_pks else "")
        for _, row in candidates.iterrows()
    }
    options = list(labels)
    restore("wi_dataset", param="dataset", options=options, default=options[0])
    chosen = st.selectbox("Dataset", options, format_func=labels.get, key="wi_dataset")
    remember("wi_dataset", param="dataset")
    return candidates[candidates["artifact_pk"].astype(str) == chosen].iloc[0]


def upload_choice() -> Choice:
    """Upload a model, a CSV and an optional second model."""
    allowed = pickle_allowed()
    suffixes = ".skops or .keras" + (", .joblib, .pkl" if allowed else "")
    model = _upload("wi_model_file", f"Model ({suffixes})", MODEL_TYPES)
    if not allowed:
        st.caption(
            "Pickle and joblib uploads are off: loading one runs whatever code it "
            "contains. Save models with skops, or have the operator set "
            f"{PICKLE_ENV}=1."
        )
    data = _upload("wi_csv", "Dataset (CSV)", CSV_TYPES)
    second = _upload(
        "wi_model_file2", "Second model to compare (optional)", MODEL_TYPES
    )
    if model is None or data is None:
        raise SelectionIncomplete(
            "Upload a model and a CSV with the columns it was trained on."
        )

    models = []
    for name, digest, content in (model, *([second] if second else [])):
        predictor = uploaded_model(digest, name, content, allowed)
        models.append((name, predictor, digest))
    name, digest, content = data
    return Choice(
        frame=uploaded_dataset(digest, name, content),
        data_key=digest,
        data_name=name,
        models=models,
    )


def predictions_choice() -> Choice:
    """Upload a CSV that contains the label and the scores, and choose the task."""
    data = _upload("wi_pred_csv", "Data with scores (CSV)", CSV_TYPES)
    restore(
        "wi_pred_task", param="task", options=list(PREDICTION_TASKS), default="binary"
    )
    task = st.selectbox("Task", PREDICTION_TASKS, key="wi_pred_task")
    remember("wi_pred_task", param="task")
    if data is None:
        raise SelectionIncomplete(
            "Upload a CSV with a label column and score columns: the positive "
            "class's score (binary), one score per class (multiclass) or the "
            "predicted value (regression). No model is needed."
        )
    name, digest, content = data
    return Choice(
        frame=uploaded_dataset(digest, name, content),
        data_key=digest,
        data_name=name,
        models=[],
        predictions_only=True,
        task=task,
    )


def predictions_models(choice: Choice, label: str) -> Choice:
    """Choose the score columns of a predictions-only CSV and build its predictor."""
    frame, task = choice.frame, choice.task
    numeric = [
        str(name)
        for name in frame.columns
        if name != label and is_numeric_feature(frame[name])
    ]
    if not numeric:
        raise DataError(
            f"{choice.data_name!r} has no numeric column besides {label!r} to read "
            "scores from"
        )

    positive = None
    if task == "multiclass":
        classes = [str(value) for value in label_values(frame, label)]
        restore(
            "wi_score_columns",
            param="scores",
            parse=_parse_list,
            valid=lambda chosen: set(chosen) <= set(numeric),
            default=[],
        )
        columns = st.multiselect(
            "Score columns, one per class",
            numeric,
            key="wi_score_columns",
            help=f"In the order of the classes: {', '.join(classes)}.",
        )
        remember("wi_score_columns", param="scores", to_text=json_param)
        if len(columns) != len(classes):
            raise SelectionIncomplete(
                f"Choose {len(classes)} score columns, one per class of {label!r}, "
                f"in this order: {', '.join(classes)}."
            )
    else:
        default, valid = numeric[-1], None
        if task == "binary":
            # A binary score is a probability, so columns outside [0, 1] are skipped.
            valid = lambda name: _is_probability(frame[name])  # noqa: E731
            default = next(filter(valid, numeric), default)
        restore(
            "wi_score_column",
            param="score",
            options=numeric,
            valid=valid,
            default=default,
        )
        column = st.selectbox(
            "Score column" if task == "binary" else "Prediction column",
            numeric,
            key="wi_score_column",
        )
        remember("wi_score_column", param="score")
        columns = [column]
    if task == "binary":
        values = [str(value) for value in label_values(frame, label)]
        restore("wi_positive", param="positive", options=values, default=values[-1])
        positive = st.selectbox(
            "The score is the probability of", values, key="wi_positive"
        )
        remember("wi_positive", param="positive")

    predictor = predictions_predictor(
        choice.data_key, tuple(columns), task, label, positive, frame
    )
    key = f"scores:{choice.data_key}:{json_param([columns, task, positive])}"
    name = f"scores in {', '.join(columns)}"
    return replace(
        choice, models=[(name, predictor, key)], score_columns=tuple(columns)
    )


def _upload(key: str, label: str, types: list[str]) -> tuple[str, str, Any] | None:
    """Draw an uploader and return (name, digest, bytes or None) of its file.

    With the widget empty, the upload kept from an earlier page is returned
    with ``None`` bytes, and a button clears it.
    """
    upload = st.file_uploader(label, type=types, key=key)
    if upload is not None:
        content = upload.getvalue()
        record = {"name": upload.name, "digest": digest_of(content)}
        keep(key, record)
        return record["name"], record["digest"], content

    record = kept(key)
    if not record:
        return None
    st.caption(f"Using {record['name']}, uploaded earlier.")
    st.button("Forget it", key=f"{key}_forget", on_click=keep, args=(key, None))
    return record["name"], record["digest"], None


def _is_probability(column: pd.Series) -> bool:
    values = column.to_numpy(dtype=float, na_value=np.nan)
    return bool(np.nanmin(values) >= 0.0 and np.nanmax(values) <= 1.0)


def _parse_list(text: str) -> list[str]:
    value = json.loads(text)
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {text!r}")
    return [str(item) for item in value]
