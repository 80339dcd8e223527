"""The What-If page: threshold, slices, editor, counterfactual and uploads."""

from __future__ import annotations

import io

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.metrics import confusion_matrix

import tracking
from analysis.sources import load_run_dataset, load_run_model
from tests.app.helpers import metric_values, open_page

PAGE = "pages/2_What-If.py"


def _demo_run(location: str, name_prefix: str):
    store = tracking.open_store(location)
    runs = store.runs("adult-income")
    run_id = runs[runs["name"].str.startswith(name_prefix)]["run_id"].iloc[0]
    artifacts = store.artifacts("adult-income", run_id).set_index("type")
    predictor = load_run_model(store, artifacts.loc["model", "manifest"])
    frame = load_run_dataset(store, artifacts.loc["dataset", "manifest"])
    return run_id, predictor, frame


def _confusion(app) -> pd.DataFrame:
    for element in app.dataframe:
        value = element.value
        if isinstance(value, pd.DataFrame) and "outcome" in value.columns:
            return value.set_index("outcome")["count"]
    raise AssertionError("no confusion matrix table on the page")


def _expected_confusion(predictor, frame, threshold):
    scores = predictor.predict_scores(frame, label="income")[:, 1]
    actual = frame["income"] == ">50K"
    tn, fp, fn, tp = confusion_matrix(actual, scores >= threshold).ravel()
    return {"TN": tn, "FP": fp, "FN": fn, "TP": tp}


def test_threshold_changes_confusion_matrix(demo_env):
    run_id, predictor, frame = _demo_run(demo_env, "hgb")
    app = open_page(PAGE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    assert not app.exception

    at_half = _confusion(app).to_dict()
    assert at_half == _expected_confusion(predictor, frame, 0.5)

    app.slider(key="wi_threshold").set_value(0.2).run()
    at_low = _confusion(app).to_dict()
    assert at_low == _expected_confusion(predictor, frame, 0.2)
    assert at_low["TP"] > at_half["TP"]
    assert at_low["FP"] > at_half["FP"]

    accuracy = (at_low["TP"] + at_low["TN"]) / len(frame)
    assert metric_values(app)["Accuracy"] == f"{accuracy:.3f}"


def test_keras_run_opens_with_class_names(demo_env):
    run_id, predictor, frame = _demo_run(demo_env, "mlp")
    assert predictor.classes == ["<=50K", ">50K"]
    app = open_page(PAGE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    assert not app.exception
    assert [error.value for error in app.error] == []
    assert _confusion(app).to_dict() == _expected_confusion(predictor, frame, 0.5)


def test_slices_by_sex(demo_env):
    app = open_page(PAGE)
    app.selectbox(key="wi_slice_feature").set_value("sex").run()
    table = next(
        element.value
        for element in app.dataframe
        if "slice" in getattr(element.value, "columns", [])
    )
    assert table["slice"].astype(str).tolist() == ["All rows", "Female", "Male"]
    assert table["count"].tolist() == [16281, 5421, 10860]


def test_editor_prediction_matches_model(demo_env):
    run_id, predictor, frame = _demo_run(demo_env, "logreg")
    app = open_page(PAGE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.number_input(key="wi_row").set_value(3).run()
    app.number_input(key="wi_edit_3_age").set_value(70).run()
    app.selectbox(key="wi_edit_3_education").set_value("Doctorate").run()
    assert not app.exception

    edited = frame.iloc[[3]].copy()
    edited["age"] = 70
    edited["education"] = "Doctorate"
    expected = predictor.predict_scores(edited, label="income")[0, 1]
    original = predictor.predict_scores(frame.iloc[[3]], label="income")[0, 1]
    values = metric_values(app)
    assert values["Edited score of >50K"] == f"{expected:.4f}"
    assert values["Original score of >50K"] == f"{original:.4f}"
    assert any("Changed: age, education" in c.value for c in app.caption)


def test_counterfactual_predicted_differently(demo_env):
    run_id, predictor, frame = _demo_run(demo_env, "logreg")
    app = open_page(PAGE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.number_input(key="wi_row").set_value(5).run()
    text = next(m.value for m in app.markdown if m.value.startswith("Row 5 is"))
    found = int(text.split("is row ")[1].split(" ")[0])
    scores = predictor.predict_scores(frame.iloc[[5, found]], label="income")[:, 1]
    assert (scores[0] >= 0.5) != (scores[1] >= 0.5)

    app.radio(key="wi_distance").set_value("l2").run()
    assert any("L2 distance" in m.value for m in app.markdown)


@pytest.fixture
def small_model(tmp_path):
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame(
        {"x": np.arange(40, dtype=float), "y": np.arange(40) % 3, "label": [0, 1] * 20}
    )
    model = LogisticRegression().fit(frame[["x", "y"]], frame["label"])
    csv = frame.to_csv(index=False).encode()
    return model, frame, csv


def _upload(app, model_name, model_bytes, csv_bytes):
    app.radio(key="wi_source").set_value("Upload files").run()
    app.file_uploader(key="wi_model_file").upload(model_name, model_bytes).run()
    app.file_uploader(key="wi_csv").upload("data.csv", csv_bytes, "text/csv").run()
    return app


def test_upload_skops_model_and_csv(demo_env, small_model):
    model, frame, csv = small_model
    buffer = io.BytesIO()
    skops.io.dump(model, buffer)
    app = _upload(open_page(PAGE), "model.skops", buffer.getvalue(), csv)
    assert not app.exception
    assert [error.value for error in app.error] == []
    assert "Accuracy" in metric_values(app)


def test_pickle_upload_refused_by_default(demo_env, small_model):
    model, _, csv = small_model
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    app = _upload(open_page(PAGE), "model.joblib", buffer.getvalue(), csv)
    assert not app.exception
    message = app.error[0].value
    assert "RUNLENS_ALLOW_PICKLE" in message
    assert "skops" in message


def test_pickle_upload_allowed_by_operator(demo_env, small_model, monkeypatch):
    monkeypatch.setenv("RUNLENS_ALLOW_PICKLE", "1")
    model, _, csv = small_model
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    app = _upload(open_page(PAGE), "model.joblib", buffer.getvalue(), csv)
    assert [error.value for error in app.error] == []
    assert "Accuracy" in metric_values(app)


def test_malformed_model_reported(demo_env, small_model):
    _, _, csv = small_model
    app = _upload(open_page(PAGE), "model.skops", b"not a zip file", csv)
    assert not app.exception
    assert "model.skops" in app.error[0].value


def test_csv_missing_columns_reported(demo_env, small_model):
    model, frame, _ = small_model
    buffer = io.BytesIO()
    skops.io.dump(model, buffer)
    csv = frame.drop(columns=["y"]).to_csv(index=False).encode()
    app = _upload(open_page(PAGE), "model.skops", buffer.getvalue(), csv)
    assert not app.exception
    assert "missing 1 column(s) that the model needs: y" in app.error[0].value


def test_unparsable_csv_reported(demo_env, small_model):
    model, _, _ = small_model
    buffer = io.BytesIO()
    skops.io.dump(model, buffer)
    app = _upload(open_page(PAGE), "model.skops", buffer.getvalue(), b"a,b\n1,2,3\n")
    assert not app.exception
    assert "line" in app.error[0].value
