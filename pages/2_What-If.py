"""What-If: open a model with a dataset, then edit, compare and slice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from analysis.charts import confusion_matrix_chart, slice_metric_chart
from analysis.counterfactual import nearest_counterfactual
from analysis.data import DataError
from analysis.editor import (
    category_options,
    changed_features,
    edited_row,
    is_numeric_feature,
)
from analysis.metrics import RATE_COLUMNS, binary_metrics, confusion_frame
from analysis.models import ModelError
from analysis.slices import metrics_by_slice, slice_labels
from analysis.sources import actual_positive, label_values, positive_index
from pages.ui.store import get_store, load_projects
from pages.ui.whatif import (
    PICKLE_ENV,
    Source,
    load_upload,
    pickle_allowed,
    run_dataset,
    run_model,
    scores_for,
    stats_for,
)
from tracking import StoreError

st.set_page_config(page_title="What-If - Runlens", layout="wide")
st.title("What-If")

MODEL_TYPES = ["skops", "keras", "h5", "joblib", "pkl", "pickle"]


def choose_run_source() -> Source | None:
    store = get_store()
    projects = load_projects(store, store.url)
    if projects.empty:
        st.info("The store has no runs. Create the demo project on the home page.")
        return None

    names = projects["project"].tolist()
    wanted = st.query_params.get("project")
    project = st.selectbox(
        "Project",
        names,
        index=names.index(wanted) if wanted in names else 0,
        key="wi_project",
    )
    artifacts = store.artifacts(project)
    models = artifacts[artifacts["type"] == "model"]
    datasets = artifacts[artifacts["type"] == "dataset"]
    if models.empty or datasets.empty:
        st.info(f"No run in '{project}' stored both a model and a dataset.")
        return None

    runs = models.drop_duplicates("run_id")
    labels = {row.run_id: f"{row.run_name} ({row.run_id})" for row in runs.itertuples()}
    run_ids = list(labels)
    wanted_run = st.query_params.get("run")
    run_id = st.selectbox(
        "Run with a model",
        run_ids,
        format_func=labels.get,
        index=run_ids.index(wanted_run) if wanted_run in run_ids else 0,
        key="wi_run",
    )
    st.query_params.update({"project": project, "run": run_id})

    model_row = models[models["run_id"] == run_id].iloc[-1]
    own = datasets[datasets["run_id"] == run_id]
    candidates = pd.concat([own, datasets[datasets["run_id"] != run_id]])
    data_labels = {
        row.artifact_pk: f"{row.name} from {row.run_name}"
        for row in candidates.itertuples()
    }
    data_pk = st.selectbox(
        "Dataset", list(data_labels), format_func=data_labels.get, key="wi_dataset"
    )
    data_row = candidates[candidates["artifact_pk"] == data_pk].iloc[0]

    try:
        predictor = run_model(
            store, store.url, model_row["digest"], model_row["manifest"]
        )
        frame = run_dataset(store, store.url, data_row["digest"], data_row["manifest"])
    except (ModelError, StoreError, DataError) as exc:
        st.error(f"Could not open the run's model or dataset: {exc}")
        return None
    return Source(
        predictor=predictor,
        frame=frame,
        model_key=model_row["digest"],
        data_key=data_row["digest"],
        default_label=data_row["manifest"].get("label"),
    )


def choose_upload_source() -> Source | None:
    allowed = pickle_allowed()
    model_file = st.file_uploader(
        "Model (.skops or .keras" + (", .joblib, .pkl" if allowed else "") + ")",
        type=MODEL_TYPES,
        key="wi_model_file",
    )
    if not allowed:
        st.caption(
            "Pickle and joblib uploads are off: loading one runs whatever code it "
            f"holds. Save models with skops, or have the operator set {PICKLE_ENV}=1."
        )
    data_file = st.file_uploader("Dataset (CSV)", type=["csv", "gz"], key="wi_csv")
    if model_file is None or data_file is None:
        st.info("Upload a model and a CSV with the columns it was trained on.")
        return None
    try:
        return load_upload(model_file, data_file)
    except (ModelError, DataError) as exc:
        st.error(str(exc))
        return None


source_kind = st.radio(
    "Model and data", ["From a run", "Upload files"], horizontal=True, key="wi_source"
)
source = choose_run_source() if source_kind == "From a run" else choose_upload_source()
if source is None:
    st.stop()

frame = source.frame
predictor = source.predictor
columns = frame.columns.tolist()

# Label and positive class

top = st.columns(3)
default_label = source.default_label if source.default_label in columns else None
label = top[0].selectbox(
    "Label column",
    columns,
    index=columns.index(default_label) if default_label else len(columns) - 1,
    key="wi_label",
)
if predictor.task != "binary":
    st.warning(
        f"This model's task is {predictor.task}; this page analyses binary "
        "classifiers so far (scores below are still computed)."
    )
values = label_values(frame, label)
if not values:
    st.error(f"The label column {label!r} has no values. Choose another column.")
    st.stop()
preferred = (
    next(
        (value for value in values if str(value) == str(predictor.classes[-1])),
        values[-1],
    )
    if predictor.classes
    else values[-1]
)
positive = top[1].selectbox(
    "Positive class", values, index=values.index(preferred), key="wi_positive"
)
threshold = top[2].slider(
    "Threshold",
    0.0,
    1.0,
    0.5,
    0.01,
    key="wi_threshold",
    help="A row is predicted positive when its positive-class score is at least this.",
)

try:
    scores = scores_for(source, label)
    pos_index = (
        positive_index(predictor.classes, positive)
        if any(str(c) == str(positive) for c in predictor.classes or [])
        else 1
    )
except ModelError as exc:
    st.error(str(exc))
    st.stop()

if predictor.task != "binary":
    st.dataframe(pd.DataFrame(scores).head(100))
    st.stop()

y_score = scores[:, pos_index]
y_true = actual_positive(frame, label, positive)
negative = next((value for value in values if value != positive), "other")
predicted_positive = y_score >= threshold
predicted = np.where(predicted_positive, str(positive), str(negative))
st.caption(
    f"{len(frame):,} rows · model classes {predictor.classes} · "
    f"positive score column {pos_index}"
)

performance_tab, slices_tab, editor_tab, counterfactual_tab = st.tabs(
    ["Performance", "Slices", "Datapoint editor", "Nearest counterfactual"]
)

with performance_tab:
    metrics = binary_metrics(y_true, y_score, threshold)
    cells = st.columns(6)
    for cell, name in zip(
        cells, ["accuracy", "precision", "recall", "f1", "fpr", "fnr"], strict=True
    ):
        cell.metric(
            name.upper() if len(name) == 3 else name.title(), f"{metrics[name]:.3f}"
        )
    matrix = confusion_frame(metrics, class_names=(str(negative), str(positive)))
    left, right = st.columns([3, 2])
    left.altair_chart(confusion_matrix_chart(matrix), width="stretch")
    right.dataframe(matrix, hide_index=True, key="wi_confusion")

with slices_tab:
    features = [column for column in columns if column != label]
    picked = st.columns(3)
    feature = picked[0].selectbox("Slice by", features, key="wi_slice_feature")
    buckets = picked[1].number_input(
        "Buckets (numeric features)",
        min_value=2,
        max_value=50,
        value=4,
        key="wi_buckets",
    )
    method = picked[2].radio(
        "Buckets",
        ["equal_width", "quantile"],
        horizontal=True,
        key="wi_bucket_method",
        format_func=lambda name: name.replace("_", " "),
    )
    slices = slice_labels(frame[feature], n_buckets=int(buckets), method=method)
    table = metrics_by_slice(y_true, y_score, slices, threshold)
    metric = st.selectbox("Chart metric", list(RATE_COLUMNS), key="wi_slice_metric")
    st.altair_chart(slice_metric_chart(table, metric), width="stretch")
    st.dataframe(table, hide_index=True, key="wi_slice_table")


def _row_widgets(position: int) -> dict[str, object]:
    edits = {}
    row = frame.iloc[position]
    grid = st.columns(3)
    for index, column in enumerate(c for c in columns if c != label):
        cell = grid[index % 3]
        key = f"wi_edit_{position}_{column}"
        value = row[column]
        if is_numeric_feature(frame[column]):
            integer = pd.api.types.is_integer_dtype(frame[column])
            start = (
                None if pd.isna(value) else (int(value) if integer else float(value))
            )
            edits[column] = cell.number_input(
                column, value=start, step=1 if integer else None, key=key
            )
        else:
            options = category_options(frame[column], value)
            choices = [None, *options]
            edits[column] = cell.selectbox(
                column,
                choices,
                index=0 if pd.isna(value) else choices.index(value),
                format_func=lambda choice: (
                    "(missing)" if choice is None else str(choice)
                ),
                key=key,
            )
    return edits


with editor_tab:
    position = int(
        st.number_input(
            "Row", min_value=0, max_value=len(frame) - 1, value=0, key="wi_row"
        )
    )
    edits = _row_widgets(position)
    try:
        row = edited_row(frame, position, edits)
        edited_scores = predictor.predict_scores(row, label=label)
    except (ValueError, ModelError) as exc:
        st.error(f"Cannot predict the edited row: {exc}")
    else:
        before = float(y_score[position])
        after = float(edited_scores[0, pos_index])
        changed = changed_features(frame, position, row)
        result = st.columns(3)
        result[0].metric(f"Original score of {positive}", f"{before:.4f}")
        result[1].metric(
            f"Edited score of {positive}",
            f"{after:.4f}",
            delta=f"{after - before:+.4f}",
        )
        label_after = str(positive) if after >= threshold else str(negative)
        result[2].metric("Edited prediction", label_after)
        st.caption(
            "Changed: "
            + (", ".join(changed) if changed else "nothing yet")
            + f" · actual label: {frame.iloc[position][label]}"
        )

with counterfactual_tab:
    cf_row = position
    metric_name = st.radio(
        "Distance",
        ["l1", "l2"],
        horizontal=True,
        key="wi_distance",
        format_func=str.upper,
    )
    stats = stats_for(source.data_key, label, frame)
    found = nearest_counterfactual(
        frame, cf_row, predicted, stats=stats, metric=metric_name
    )
    if found is None:
        st.info(
            f"No row is predicted differently from row {cf_row} at threshold "
            f"{threshold:.2f}."
        )
    else:
        st.write(
            f"Row {cf_row} is predicted **{predicted[cf_row]}** "
            f"(score {y_score[cf_row]:.3f}); the nearest row predicted "
            f"**{predicted[found.position]}** is row {found.position} "
            f"(score {y_score[found.position]:.3f}), at {metric_name.upper()} "
            f"distance {found.distance:.3f}."
        )
        comparison = pd.DataFrame(
            {
                "feature": columns,
                f"row {cf_row}": frame.iloc[cf_row].astype(str).tolist(),
                f"row {found.position}": frame.iloc[found.position]
                .astype(str)
                .tolist(),
            }
        )
        differing = set(found.differing_features)
        styled = comparison.style.apply(
            lambda line: (
                ["background-color: #d4f4dd" if line["feature"] in differing else ""]
                * len(line)
            ),
            axis=1,
        )
        st.dataframe(styled, hide_index=True, key="wi_counterfactual")
        st.caption("Highlighted: features that differ. The label is not used.")
