"""The What-If page: editor, history, counterfactuals, partial dependence, sources."""

from __future__ import annotations

import io
import json

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import tracking
from analysis.counterfactual import distance_stats, nearest_counterfactual
from tests.app.helpers import metric_values, open_page
from tests.app.whatif_helpers import (
    WHATIF,
    demo_run,
    open_with_params,
    skops_bytes,
    table_with_column,
    upload,
)


def _scores(predictor, frame):
    return predictor.predict_scores(frame, label="income")[:, 1]


def test_keras_run_opens_with_class_names(demo_env):
    """Check a Keras run: class names from the artifact and its accuracy at 0.5."""
    run_id, predictor, frame = demo_run(demo_env, "mlp")
    assert predictor.classes == ["<=50K", ">50K"]
    app = open_page(WHATIF)
    app.selectbox(key="wi_run").set_value(run_id).run()
    assert not app.exception
    assert [error.value for error in app.error] == []

    accuracy = np.mean(
        (_scores(predictor, frame) >= 0.5) == (frame["income"] == ">50K")
    )
    assert metric_values(app)["Accuracy"] == f"{accuracy:.3f}"


def test_shared_dataset_named_by_version(demo_env):
    """Check that a dataset every run logged is named by version and current run."""
    run_id, _, _ = demo_run(demo_env, "hgb")
    app = open_page(WHATIF)
    app.selectbox(key="wi_run").set_value(run_id).run()
    assert not app.exception

    options = app.selectbox(key="wi_dataset").options
    assert options == ["adult-test v0 (logged by this run)"]
    runs = tracking.open_store(demo_env).runs("adult-income").set_index("run_id")
    name = runs.loc[run_id, "name"]
    captions = [caption.value for caption in app.sidebar.caption]
    assert any(
        caption.startswith(f"adult-test v0 with run {name} · 16,281 rows")
        for caption in captions
    ), captions


def test_editor_prediction_matches_model(demo_env):
    """Check the edited row's score against the model on the same edit."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    app = open_page(WHATIF)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.number_input(key="wi_row").set_value(3).run()
    app.number_input(key="wi_edit_3_age").set_value(70).run()
    app.selectbox(key="wi_edit_3_education").set_value("Doctorate").run()
    assert not app.exception

    edited = frame.iloc[[3]].copy()
    edited["age"] = 70
    edited["education"] = "Doctorate"
    expected = _scores(predictor, edited)[0]
    original = _scores(predictor, frame.iloc[[3]])[0]
    values = metric_values(app)
    assert values["Edited score of >50K"] == f"{expected:.4f}"
    assert values["Original score of >50K"] == f"{original:.4f}"
    assert any("Changed: age, education" in c.value for c in app.caption)
    # The cached dataset is never edited.
    assert app.number_input(key="wi_edit_3_age").value == 70
    assert frame.loc[3, "age"] != 70


def test_unchanged_row_has_no_delta(demo_env):
    """Check that an unedited row's score shows no delta arrow."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    app = open_page(WHATIF)
    app.selectbox(key="wi_run").set_value(run_id).run()
    assert not app.exception

    edited = next(m for m in app.metric if m.label == "Edited score of >50K")
    assert edited.value == f"{_scores(predictor, frame.iloc[[0]])[0]:.4f}"
    assert edited.delta in (None, "")

    app.number_input(key="wi_edit_0_age").set_value(70).run()
    edited = next(m for m in app.metric if m.label == "Edited score of >50K")
    assert edited.delta not in (None, "")


def test_edit_history_deltas(demo_env):
    """Check each history step's score and its change from the step before."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    app = open_page(WHATIF)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.number_input(key="wi_row").set_value(3).run()
    app.number_input(key="wi_edit_3_age").set_value(70).run()
    app.selectbox(key="wi_edit_3_education").set_value("Doctorate").run()

    history = table_with_column(app, "step", "change")
    row = frame.iloc[[3]].copy()
    original = _scores(predictor, row)[0]
    row["age"] = 70
    older = _scores(predictor, row)[0]
    row["education"] = "Doctorate"
    newest = _scores(predictor, row)[0]

    assert history["action"].tolist() == ["edit", "edit", "original"]
    assert history["score"].to_numpy() == pytest.approx([newest, older, original])
    assert history["change"].iloc[0] == pytest.approx(newest - older)
    assert history["change"].iloc[1] == pytest.approx(older - original)
    assert np.isnan(history["change"].iloc[2])
    assert history["changes"].iloc[1] == f"age: {frame.loc[3, 'age']} -> 70"


def test_duplicate_add_and_delete_rows(demo_env):
    """Check new row ids, copied edits, deletion and the history's actions."""
    run_id, _, frame = demo_run(demo_env, "logreg")
    n_rows = len(frame)
    app = open_page(WHATIF)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.number_input(key="wi_row").set_value(3).run()
    app.number_input(key="wi_edit_3_age").set_value(70).run()

    app.button(key="wi_duplicate").click().run()
    assert app.number_input(key="wi_row").value == n_rows
    assert app.number_input(key=f"wi_edit_{n_rows}_age").value == 70

    app.number_input(key="wi_row").set_value(3).run()
    app.button(key="wi_add").click().run()
    assert app.number_input(key="wi_row").value == n_rows + 1
    assert (
        app.number_input(key=f"wi_edit_{n_rows + 1}_age").value == frame.loc[3, "age"]
    )

    app.button(key="wi_delete").click().run()
    assert not app.exception
    assert app.number_input(key="wi_row").value == 3
    history = table_with_column(app, "step", "action")
    assert history["action"].tolist()[:2] == ["add", "duplicate"]


def test_counterfactual_is_nearest(demo_env):
    """Check the nearest counterfactual against the dataset-row search."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    app = open_page(WHATIF)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.number_input(key="wi_row").set_value(5).run()
    text = next(m.value for m in app.markdown if m.value.startswith("Row 5 is"))
    found = int(text.split("is row ")[1].split(" ")[0])

    predicted = np.where(_scores(predictor, frame) >= 0.5, ">50K", "<=50K")
    stats = distance_stats(frame, exclude=("income",))
    expected = nearest_counterfactual(frame, 5, predicted, stats=stats)
    assert found == expected.position
    assert f"L1 distance {expected.distance:.3f}" in text

    app.radio(key="wi_distance").set_value("l2").run()
    text = next(m.value for m in app.markdown if m.value.startswith("Row 5 is"))
    expected = nearest_counterfactual(frame, 5, predicted, stats=stats, metric="l2")
    assert f"is row {expected.position} " in text
    assert f"L2 distance {expected.distance:.3f}" in text


def test_deep_link_opens_row(demo_env):
    """Check that ?row=5 opens row 5, and the URL keeps the shared state."""
    app = open_with_params(WHATIF, {"row": "5", "thr": "0.3"})
    assert not app.exception
    assert app.number_input(key="wi_row").value == 5
    assert app.slider(key="wi_threshold").value == pytest.approx(0.3)
    assert any(m.value.startswith("Row 5 is") for m in app.markdown)
    assert app.query_params["row"] == "5"
    assert app.query_params["project"] == "adult-income"


def test_generated_counterfactuals_reach_target(demo_env):
    """Check that each generated row flips the prediction and keeps sex and race."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    app = open_page(WHATIF)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.number_input(key="wi_row").set_value(3).run()
    app.multiselect(key="wi_gcf_immutable").set_value(["sex", "race"]).run()
    app.button(key="wi_gcf_run").click().run()
    assert not app.exception

    answers = table_with_column(app, "answer", "distance").iloc[1:]
    assert len(answers) >= 1
    original = _scores(predictor, frame.iloc[[3]])[0] >= 0.5
    rows = answers[frame.columns].astype(frame.dtypes.to_dict())
    flipped = _scores(predictor, rows) >= 0.5
    assert (flipped != original).all()
    assert (rows["sex"] == frame.loc[3, "sex"]).all()
    assert (rows["race"] == frame.loc[3, "race"]).all()
    # Each answer shows the score the model gives it.
    assert answers["score"].tolist() == pytest.approx(_scores(predictor, rows).tolist())
    targets = [c.value for c in app.caption if c.value.startswith("Target")]
    assert len(targets) == 1


def test_generated_counterfactuals_blocked(demo_env):
    """Check the blocking message and the nearest real row offered instead."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    app = open_page(WHATIF)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.number_input(key="wi_row").set_value(5).run()
    frozen = [name for name in frame.columns if name not in ("income", "race")]
    app.multiselect(key="wi_gcf_immutable").set_value(frozen).run()
    app.number_input(key="wi_gcf_changes").set_value(1).run()
    app.button(key="wi_gcf_run").click().run()
    assert not app.exception

    assert "No generated counterfactual reaches the target" in app.warning[0].value
    reached = _scores(predictor, frame) >= 0.5
    stats = distance_stats(frame, exclude=("income",))
    nearest = nearest_counterfactual(frame, 5, reached, stats=stats)
    text = next(m.value for m in app.markdown if m.value.startswith("Nearest real"))
    assert text.startswith(
        f"Nearest real counterfactual instead: row {nearest.position},"
    )


def test_partial_dependence_of_row(demo_env):
    """Check the row's variation on age against predictions on the same grid."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    app = open_page(WHATIF)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.number_input(key="wi_row").set_value(3).run()
    variation = table_with_column(app, "feature", "variation").set_index("feature")

    grid = np.unique(np.round(np.quantile(frame["age"], np.linspace(0, 1, 10))))
    copies = pd.concat([frame.iloc[[3]]] * len(grid), ignore_index=True)
    copies["age"] = grid.astype("int64")
    line = _scores(predictor, copies)
    assert variation.loc["age", "variation"] == pytest.approx(
        np.abs(np.diff(line)).sum()
    )

    app.radio(key="wi_pdp_mode").set_value("global").run()
    app.toggle(key="wi_pdp_2d").set_value(True).run()
    assert not app.exception
    titles = [
        json.loads(chart.proto.spec)["title"] for chart in app.get("vega_lite_chart")
    ]
    subtitles = [title["subtitle"][0] for title in titles]
    assert subtitles[0] == "mean over a random sample of 1,000 of 16,281 rows (seed 0)"
    first = app.selectbox(key="wi_pdp_x").value
    second = app.selectbox(key="wi_pdp_y").value
    assert titles[-1]["text"] == f"{first} and {second}"


def test_second_model_side_by_side(demo_env):
    """Check both models' accuracy and the edited row's score from each."""
    run_id, first, frame = demo_run(demo_env, "logreg")
    second_id, second, _ = demo_run(demo_env, "hgb")
    app = open_page(WHATIF)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.selectbox(key="wi_run2").set_value(second_id).run()
    assert not app.exception

    actual = frame["income"] == ">50K"
    values = metric_values(app)
    name = "Accuracy (model 2)"
    second_metric = next(m for m in app.metric if m.label == name)
    # The long run name moves from the label to the help.
    assert second_metric.help.startswith("Model: hgb")
    assert (
        values["Accuracy"] == f"{np.mean((_scores(first, frame) >= 0.5) == actual):.3f}"
    )
    assert values[name] == f"{np.mean((_scores(second, frame) >= 0.5) == actual):.3f}"
    suffix = name.removeprefix("Accuracy")
    assert values[f"Edited score of >50K{suffix}"] == f"{_scores(second, frame)[0]:.4f}"


@pytest.fixture
def small_model():
    frame = pd.DataFrame(
        {"x": np.arange(40, dtype=float), "y": np.arange(40) % 3, "label": [0, 1] * 20}
    )
    model = LogisticRegression().fit(frame[["x", "y"]], frame["label"])
    return model, frame, frame.to_csv(index=False).encode()


def test_upload_skops_model_and_csv(demo_env, small_model):
    """Check that a skops model and its CSV open, with the right accuracy."""
    model, frame, csv = small_model
    app = upload(open_page(WHATIF), skops_bytes(model), csv)
    assert not app.exception
    assert [error.value for error in app.error] == []
    accuracy = np.mean(model.predict(frame[["x", "y"]]) == frame["label"])
    assert metric_values(app)["Accuracy"] == f"{accuracy:.3f}"


def test_pickle_upload_refused_by_default(demo_env, small_model):
    """Check the message that explains how to allow pickle files."""
    model, _, csv = small_model
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    app = upload(open_page(WHATIF), buffer.getvalue(), csv, name="model.joblib")
    assert not app.exception
    message = app.error[0].value
    assert "RUNLENS_ALLOW_PICKLE" in message
    assert "skops" in message


def test_pickle_upload_allowed_by_operator(demo_env, small_model, monkeypatch):
    """Check that the environment variable lets a joblib upload through."""
    monkeypatch.setenv("RUNLENS_ALLOW_PICKLE", "1")
    model, _, csv = small_model
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    app = upload(open_page(WHATIF), buffer.getvalue(), csv, name="model.joblib")
    assert [error.value for error in app.error] == []
    assert "Accuracy" in metric_values(app)


def test_malformed_model_reported(demo_env, small_model):
    """Check that a broken model file is named in the error."""
    _, _, csv = small_model
    app = upload(open_page(WHATIF), b"not a zip file", csv)
    assert not app.exception
    assert "model.skops" in app.error[0].value


def test_csv_missing_columns_reported(demo_env, small_model):
    """Check the message listing the columns the model needs."""
    model, frame, _ = small_model
    csv = frame.drop(columns=["y"]).to_csv(index=False).encode()
    app = upload(open_page(WHATIF), skops_bytes(model), csv)
    assert not app.exception
    assert "missing 1 column(s) that the model needs: y" in app.error[0].value


def test_unparsable_csv_reported(demo_env, small_model):
    """Check that a CSV with a wrong field count is reported by line."""
    model, _, _ = small_model
    app = upload(open_page(WHATIF), skops_bytes(model), b"a,b\n1,2,3\n")
    assert not app.exception
    assert "line" in app.error[0].value


def test_predictions_only_mode(demo_env):
    """Check stored scores: accuracy works; editing and the rest need a model."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, 200),
            "label": rng.choice(["no", "yes"], 200),
            "score": rng.random(200),
        }
    )
    app = open_page(WHATIF)
    app.radio(key="wi_source").set_value("predictions").run()
    csv = frame.to_csv(index=False).encode()
    app.file_uploader(key="wi_pred_csv").upload("scores.csv", csv, "text/csv").run()
    app.selectbox(key="wi_label").set_value("label").run()
    assert not app.exception
    assert [error.value for error in app.error] == []

    accuracy = np.mean((frame["score"] >= 0.5) == (frame["label"] == "yes"))
    assert metric_values(app)["Accuracy"] == f"{accuracy:.3f}"
    messages = " ".join(info.value for info in app.info)
    assert "Editing needs a model" in messages
    assert "Generated counterfactuals need a model" in messages
    assert "Partial dependence needs a model" in messages
    assert any(m.value.startswith("Row 0 is") for m in app.markdown)


def test_multiclass_editor_top_classes(demo_env):
    """Check a three-class model: prediction and its top classes' scores."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["label"] = np.select(
        [frame["a"] > 0.5, frame["b"] > 0], ["cat", "dog"], default="fox"
    )
    model = LogisticRegression().fit(frame[["a", "b"]], frame["label"])
    app = upload(
        open_page(WHATIF), skops_bytes(model), frame.to_csv(index=False).encode()
    )
    assert not app.exception
    assert [error.value for error in app.error] == []

    scores = model.predict_proba(frame[["a", "b"]].iloc[[0]])[0]
    order = np.argsort(-scores)
    expected = ", ".join(f"{model.classes_[i]} {scores[i]:.2f}" for i in order)
    assert metric_values(app)["Edited prediction"] == model.classes_[order[0]]
    assert any(m.value == f"**Top classes:** {expected}" for m in app.markdown)


@pytest.mark.parametrize(
    ("cell", "message"),
    [("", "'x' has missing values"), ("inf", "'x' has infinite values")],
)
def test_unscorable_values_reported(demo_env, small_model, cell, message):
    """Check that values the model rejects give an error naming the column."""
    model, frame, _ = small_model
    csv = frame.to_csv(index=False).replace("\n3.0,", f"\n{cell},", 1).encode()
    app = upload(open_page(WHATIF), skops_bytes(model), csv)
    assert not app.exception
    assert message in app.error[0].value
