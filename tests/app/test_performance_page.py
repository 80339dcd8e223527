"""The Performance and Fairness page: thresholds, slices, strategies, other tasks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    auc,
    average_precision_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    precision_recall_curve,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

from analysis.fairness import optimize_thresholds
from analysis.slices import slice_labels
from pages.ui.binary_performance import format_cost
from tests.app.helpers import metric_values, open_page
from tests.app.whatif_helpers import (
    PERFORMANCE,
    demo_run,
    open_with_params,
    skops_bytes,
    table_with_column,
    upload,
)


def _scores(predictor, frame):
    return predictor.predict_scores(frame, label="income")[:, 1]


def _confusion(app) -> dict[str, int]:
    table = table_with_column(app, "outcome", "count")
    return table.set_index("outcome")["count"].to_dict()


def _expected_confusion(actual, scores, threshold) -> dict[str, int]:
    tn, fp, fn, tp = confusion_matrix(
        actual, scores >= threshold, labels=[0, 1]
    ).ravel()
    return {"TN": tn, "FP": fp, "FN": fn, "TP": tp}


def _slice_table(app) -> pd.DataFrame:
    return table_with_column(app, "slice", "threshold", "tp").set_index("slice")


def test_threshold_changes_confusion_matrix(demo_env):
    """Check the confusion matrix and accuracy at two thresholds against sklearn."""
    run_id, predictor, frame = demo_run(demo_env, "hgb")
    scores = _scores(predictor, frame)
    actual = (frame["income"] == ">50K").to_numpy()
    app = open_page(PERFORMANCE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    assert not app.exception
    assert _confusion(app) == _expected_confusion(actual, scores, 0.5)

    app.slider(key="wi_threshold").set_value(0.2).run()
    at_low = _confusion(app)
    assert at_low == _expected_confusion(actual, scores, 0.2)
    accuracy = (at_low["TP"] + at_low["TN"]) / len(frame)
    assert metric_values(app)["Accuracy"] == f"{accuracy:.3f}"
    assert app.query_params["thr"] == "0.2"


def test_confusion_matrix_square_and_rounded(demo_env):
    """Check the matrix chart's shape and labels, and the percent column's rounding."""
    run_id, predictor, frame = demo_run(demo_env, "hgb")
    app = open_page(PERFORMANCE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    charts = [json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart")]
    (matrix,) = [spec for spec in charts if spec.get("title") == "Confusion matrix"]
    assert matrix["width"] == matrix["height"]
    assert matrix["config"]["axisX"]["labelAngle"] == 0

    table = table_with_column(app, "outcome", "count", "percent")
    expected = (100 * table["count"] / len(frame)).round(1)
    assert table["percent"].tolist() == expected.tolist()
    (element,) = [
        element for element in app.dataframe if "outcome" in element.value.columns
    ]
    columns = json.loads(element.proto.columns)
    assert columns["percent"]["type_config"]["format"] == "%.1f%%"


def test_slice_metrics_match_sklearn(demo_env):
    """Check counts, rates, curve areas and selection rate per slice of sex."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    scores = _scores(predictor, frame)
    actual = (frame["income"] == ">50K").to_numpy()
    app = open_page(PERFORMANCE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.selectbox(key="wi_slice_feature").set_value("sex").run()
    table = _slice_table(app)
    assert table.index.tolist() == ["All rows", "Female", "Male"]
    assert table["count"].tolist() == [16281, 5421, 10860]

    predicted = scores >= 0.5
    rates = MetricFrame(
        metrics=selection_rate,
        y_true=actual,
        y_pred=predicted,
        sensitive_features=frame["sex"],
    ).by_group
    for name in ("Female", "Male"):
        rows = (frame["sex"] == name).to_numpy()
        y, p, s = actual[rows], predicted[rows], scores[rows]
        row = table.loc[name]
        assert row["precision"] == pytest.approx(precision_score(y, p))
        assert row["recall"] == pytest.approx(recall_score(y, p))
        assert row["f1"] == pytest.approx(f1_score(y, p))
        assert row["roc_auc"] == pytest.approx(roc_auc_score(y, s))
        precision, recall, _ = precision_recall_curve(y, s)
        assert row["pr_auc"] == pytest.approx(auc(recall, precision))
        assert row["average_precision"] == pytest.approx(average_precision_score(y, s))
        assert (row["tp"] + row["fp"]) / row["count"] == pytest.approx(rates[name])


def test_slice_threshold_moves_only_that_slice(demo_env):
    """Check that a slice's slider changes its confusion counts and nothing else."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    scores = _scores(predictor, frame)
    actual = (frame["income"] == ">50K").to_numpy()
    app = open_page(PERFORMANCE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.selectbox(key="wi_slice_feature").set_value("sex").run()
    before = _slice_table(app)

    app.slider(key="wi_slice_thr_0").set_value(0.3).run()
    after = _slice_table(app)
    female = (frame["sex"] == "Female").to_numpy()
    expected = _expected_confusion(actual[female], scores[female], 0.3)
    counts = after.loc["Female", ["tn", "fp", "fn", "tp"]].tolist()
    assert counts == [expected[name] for name in ("TN", "FP", "FN", "TP")]
    assert after.loc["Female", "threshold"] == pytest.approx(0.3)
    pd.testing.assert_series_equal(after.loc["Male"], before.loc["Male"])
    assert json.loads(app.query_params["slice_thr"]) == {"Female": 0.3}

    app.selectbox(key="wi_detail_slice").set_value("Female").run()
    assert _confusion(app) == expected


def test_strategy_thresholds_equal_analysis(demo_env):
    """Check demographic parity against optimize_thresholds, then its button."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    scores = _scores(predictor, frame)
    actual = (frame["income"] == ">50K").to_numpy()
    app = open_page(PERFORMANCE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.selectbox(key="wi_slice_feature").set_value("sex").run()
    app.number_input(key="wi_cost_ratio").set_value(2.0).run()
    app.selectbox(key="wi_strategy").set_value("demographic_parity").run()
    assert not app.exception

    expected = optimize_thresholds(
        actual, scores, frame["sex"], "demographic_parity", cost_ratio=2.0
    )
    values = metric_values(app)
    assert values["Cost at strategy thresholds"] == format_cost(expected.total_cost)
    assert values["Cost at slider thresholds"] == format_cost(
        expected.total_cost_before
    )
    strategy = table_with_column(app, "policy", "selection_rate_before")
    assert strategy["selection_rate"].tolist() == pytest.approx(
        expected.table["selection_rate"].tolist()
    )
    # Choosing a strategy leaves the sliders alone.
    assert _slice_table(app)["threshold"].tolist() == pytest.approx([0.5] * 3)

    app.button(key="wi_strategy_apply").click().run()
    table = _slice_table(app)
    for name, threshold in expected.thresholds.items():
        assert table.loc[name, "threshold"] == pytest.approx(threshold)
    assert app.selectbox(key="wi_strategy").value == "custom"

    # Moving a slice's slider keeps custom thresholds.
    app.slider(key="wi_slice_thr_1").set_value(0.6).run()
    assert app.selectbox(key="wi_strategy").value == "custom"


def test_strategy_before_ignores_earlier_strategy(demo_env):
    """Check that "before" is the slider thresholds whatever was chosen first."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    scores = _scores(predictor, frame)
    actual = (frame["income"] == ">50K").to_numpy()
    app = open_page(PERFORMANCE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.selectbox(key="wi_slice_feature").set_value("sex").run()
    app.selectbox(key="wi_strategy").set_value("group_thresholds").run()
    app.selectbox(key="wi_strategy").set_value("equalized_odds").run()
    assert not app.exception

    at_sliders = optimize_thresholds(actual, scores, frame["sex"], "custom")
    cost = int(np.sum((scores >= 0.5) != actual))
    assert at_sliders.total_cost == cost
    values = metric_values(app)
    assert values["Cost at slider thresholds"] == format_cost(cost)
    # The metric row above uses the same slider thresholds.
    assert values["Cost"] == format_cost(cost)


def test_equal_accuracy_gap_explained(demo_env):
    """Check that a gap above the tolerance is explained with its value."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    scores = _scores(predictor, frame)
    actual = (frame["income"] == ">50K").to_numpy()
    app = open_page(PERFORMANCE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.selectbox(key="wi_slice_feature").set_value("sex").run()
    app.selectbox(key="wi_strategy").set_value("equal_accuracy").run()
    assert not app.exception

    expected = optimize_thresholds(actual, scores, frame["sex"], "equal_accuracy")
    gap = expected.gap["accuracy"]
    values = metric_values(app)
    assert values["Gap at strategy thresholds"] == f"accuracy {gap:.3f}"
    notes = [c.value for c in app.caption if "smallest gap" in c.value]
    if gap > 0:
        assert notes == [notes[0]]
        assert f"{gap:.3f}" in notes[0]
    else:
        assert notes == []


def test_deep_link_slice_thresholds(demo_env):
    """Check that a link with a slice and its thresholds reopens that view."""
    run_id, predictor, frame = demo_run(demo_env, "logreg")
    scores = _scores(predictor, frame)
    actual = (frame["income"] == ">50K").to_numpy()
    app = open_with_params(
        PERFORMANCE,
        {"run": run_id, "slice": "sex", "slice_thr": '{"Male":0.7}', "thr": "0.4"},
    )
    assert not app.exception
    table = _slice_table(app)
    male = (frame["sex"] == "Male").to_numpy()
    assert table.loc["Male", "threshold"] == pytest.approx(0.7)
    assert table.loc["Female", "threshold"] == pytest.approx(0.4)
    expected = _expected_confusion(actual[male], scores[male], 0.7)
    assert table.loc["Male", "tp"] == expected["TP"]


def test_two_feature_slices_and_small_flag(demo_env):
    """Check intersections of sex and bucketed age, and the few-rows flag."""
    run_id, _, frame = demo_run(demo_env, "logreg")
    app = open_page(PERFORMANCE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.selectbox(key="wi_slice_feature").set_value("race").run()
    app.selectbox(key="wi_slice_feature2").set_value("sex").run()
    table = _slice_table(app)
    counts = frame.groupby(["race", "sex"]).size()
    for (race, sex), count in counts.items():
        assert table.loc[f"{race} / {sex}", "count"] == count
        assert table.loc[f"{race} / {sex}", "few rows"] == (count < 30)

    app.selectbox(key="wi_slice_feature").set_value("age").run()
    app.selectbox(key="wi_slice_feature2").set_value("(none)").run()
    app.number_input(key="wi_buckets").set_value(3).run()
    labels = slice_labels(frame["age"], n_buckets=3).astype(str).value_counts()
    table = _slice_table(app)
    assert table.loc[labels.index, "count"].tolist() == labels.tolist()


@pytest.fixture
def three_classes():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    frame["group"] = rng.choice(["g1", "g2"], 400)
    frame["label"] = np.select(
        [frame["a"] > 0.5, frame["b"] > 0], ["cat", "dog"], default="fox"
    )
    model = LogisticRegression().fit(frame[["a", "b"]], frame["label"])
    return model, frame


def test_multiclass_view(demo_env, three_classes):
    """Check a three-class model's accuracy, confusion counts and slice accuracy."""
    model, frame = three_classes
    csv = frame.to_csv(index=False).encode()
    app = upload(open_page(PERFORMANCE), skops_bytes(model), csv)
    assert not app.exception
    assert [error.value for error in app.error] == []

    predicted = model.predict(frame[["a", "b"]])
    accuracy = np.mean(predicted == frame["label"])
    assert metric_values(app)["Accuracy"] == f"{accuracy:.3f}"
    cells = table_with_column(app, "actual", "predicted", "row_percent")
    matrix = cells.pivot(index="actual", columns="predicted", values="count")
    expected = confusion_matrix(frame["label"], predicted, labels=model.classes_)
    assert matrix.loc[model.classes_, model.classes_].to_numpy().tolist() == (
        expected.tolist()
    )

    app.selectbox(key="wi_slice_feature").set_value("group").run()
    table = table_with_column(app, "slice", "accuracy", "macro_f1").set_index("slice")
    for name, part in frame.groupby("group"):
        rows = frame["group"] == name
        assert table.loc[name, "accuracy"] == pytest.approx(
            np.mean(predicted[rows] == part["label"])
        )


def test_regression_view(demo_env):
    """Check MAE, R-squared and the median error of an odd and even slice."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=201), "part": ["a"] * 101 + ["b"] * 100})
    frame["y"] = 3 * frame["x"] + rng.normal(size=201)
    model = LinearRegression().fit(frame[["x"]], frame["y"])
    csv = frame.to_csv(index=False).encode()
    app = upload(open_page(PERFORMANCE), skops_bytes(model), csv)
    app.selectbox(key="wi_label").set_value("y").run()
    assert not app.exception
    assert [error.value for error in app.error] == []

    predicted = model.predict(frame[["x"]])
    values = metric_values(app)
    assert values["MAE"] == f"{mean_absolute_error(frame['y'], predicted):.4g}"
    assert values["R²"] == f"{r2_score(frame['y'], predicted):.4g}"

    app.selectbox(key="wi_slice_feature").set_value("part").run()
    table = table_with_column(app, "slice", "median_error").set_index("slice")
    errors = predicted - frame["y"]
    for name in ("a", "b"):
        rows = (frame["part"] == name).to_numpy()
        assert table.loc[name, "median_error"] == pytest.approx(np.median(errors[rows]))


def test_task_override_and_two_models(demo_env):
    """Check a binary run read as multi-class, and the rows two models disagree on."""
    run_id, first, frame = demo_run(demo_env, "logreg")
    second_id, second, _ = demo_run(demo_env, "hgb")
    app = open_page(PERFORMANCE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.selectbox(key="wi_run2").set_value(second_id).run()
    disagree = (_scores(first, frame) >= 0.5) != (_scores(second, frame) >= 0.5)
    values = metric_values(app)
    assert values["Rows where they disagree"] == f"{int(disagree.sum()):,}"
    listed = table_with_column(app, "row", "income")
    assert listed["row"].tolist() == np.flatnonzero(disagree)[:1000].tolist()

    app.selectbox(key="wi_task").set_value("multiclass").run()
    assert not app.exception
    predicted = np.where(_scores(first, frame) > 0.5, ">50K", "<=50K")
    accuracy = np.mean(predicted == frame["income"])
    assert metric_values(app)["Accuracy"] == f"{accuracy:.3f}"


def test_slice_column_wide(demo_env):
    """Check the wide slice column and the caption naming the thresholds."""
    run_id, _, _ = demo_run(demo_env, "logreg")
    app = open_page(PERFORMANCE)
    app.selectbox(key="wi_run").set_value(run_id).run()
    app.selectbox(key="wi_slice_feature").set_value("sex").run()
    assert not app.exception

    table = next(
        frame for frame in app.dataframe if "slice" in json.loads(frame.proto.columns)
    )
    assert json.loads(table.proto.columns)["slice"]["width"] == "large"
    assert any(
        c.value.startswith("All rows at the slider thresholds") for c in app.caption
    )
