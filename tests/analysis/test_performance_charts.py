"""Tests for analysis.performance_charts: data, encodings and mark counts."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pytest

from analysis.curves import curve_marker, pr_curve, roc_curve
from analysis.fairness import optimize_thresholds
from analysis.multiclass import (
    multiclass_confusion,
    one_vs_rest_curves,
    one_vs_rest_rates_by_slice,
)
from analysis.performance_charts import (
    multiclass_confusion_chart,
    one_vs_rest_rate_chart,
    pr_curve_chart,
    predicted_actual_chart,
    residual_chart,
    roc_curve_chart,
    slice_error_chart,
    square_matrix_chart,
    threshold_strategy_chart,
)
from analysis.regression import (
    prediction_bins,
    regression_metrics_by_slice,
    residual_bins,
)


@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(41)
    n = 100_000
    y_true = rng.random(n) < 0.3
    y_score = np.clip(rng.normal(0.35 + 0.3 * y_true, 0.2), 0, 1)
    groups = rng.choice(["a", "b"], n)
    return y_true, y_score, groups


def layer_data(chart: alt.LayerChart, index: int) -> list[dict]:
    """Return the rows embedded in one layer of a chart specification."""
    spec = chart.to_dict()
    layer = spec["layer"][index]
    name = layer["data"]["name"] if "data" in layer else spec["data"]["name"]
    return spec["datasets"][name]


def test_roc_chart_draws_thinned_curve_and_marker(scored):
    y_true, y_score, _ = scored
    curve = roc_curve(y_true, y_score, max_points=300)
    marker = curve_marker(y_true, y_score, 0.5)

    chart = roc_curve_chart(curve.points, marker=marker)

    assert isinstance(chart, alt.LayerChart)
    spec = chart.to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == [
        "line",
        "line",
        "point",
    ]
    assert len(layer_data(chart, 0)) <= 300
    point = layer_data(chart, 2)[0]
    assert point["fpr"] == pytest.approx(marker["fpr"])
    assert point["tpr"] == pytest.approx(marker["tpr"])
    assert spec["layer"][0]["encoding"]["order"]["field"] == "order"


def test_pr_chart_has_no_diagonal(scored):
    y_true, y_score, _ = scored

    chart = pr_curve_chart(pr_curve(y_true, y_score).points)

    spec = chart.to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line"]
    assert spec["layer"][0]["encoding"]["x"]["field"] == "recall"


def test_curves_by_class_coloured():
    rng = np.random.default_rng(2)
    y_true = rng.choice(["x", "y", "z"], 5_000)
    y_proba = rng.dirichlet([1, 1, 1], 5_000)
    curves = one_vs_rest_curves(y_true, y_proba, ["x", "y", "z"], max_points=100)

    chart = roc_curve_chart(curves.roc, color="class")

    spec = chart.to_dict()
    assert spec["layer"][0]["encoding"]["color"]["field"] == "class"
    assert len(layer_data(chart, 0)) <= 300


def test_curve_chart_requires_columns():
    with pytest.raises(ValueError, match="missing column"):
        roc_curve_chart(pd.DataFrame({"fpr": [0.0]}))


def test_strategy_chart_pairs_before_and_after(scored):
    y_true, y_score, groups = scored
    result = optimize_thresholds(y_true, y_score, groups, "demographic_parity")

    chart = threshold_strategy_chart(result.table, "selection_rate")

    rows = chart.to_dict()["datasets"]
    data = pd.DataFrame(next(iter(rows.values())))
    assert len(data) == 2 * len(result.table)
    after = data[data["when"] == "after"].set_index("slice")["value"]
    expected = result.table.set_index("slice")["selection_rate"]
    pd.testing.assert_series_equal(after, expected, check_names=False)


def test_strategy_chart_rejects_unknown_rate(scored):
    y_true, y_score, groups = scored
    result = optimize_thresholds(y_true, y_score, groups, "group_thresholds")

    with pytest.raises(ValueError, match="rate must be one of"):
        threshold_strategy_chart(result.table, "recall")


def test_multiclass_confusion_chart_labels():
    frame = multiclass_confusion(["a", "a", "b"], ["a", "b", "b"], ["a", "b"])

    chart = multiclass_confusion_chart(frame)

    assert chart.data["label"].tolist() == ["1 (50%)", "1 (50%)", "0 (0%)", "1 (100%)"]
    spec = chart.to_dict()
    assert spec["layer"][0]["encoding"]["x"]["sort"] == ["a", "b"]


@pytest.mark.parametrize(
    ("n_classes", "side"), [(2, 300), (5, 300), (7, 420), (10, 600), (30, 600)]
)
def test_square_matrix_chart_sides(n_classes, side):
    """Check square sides of 60 pixels per class, from 300 to 600."""
    names = [f"class {index}" for index in range(n_classes)]
    frame = multiclass_confusion(names, names, names)

    spec = square_matrix_chart(multiclass_confusion_chart(frame), n_classes).to_dict()

    assert spec["width"] == side
    assert spec["height"] == side
    assert spec["config"]["axisX"]["labelAngle"] == 0


def test_square_matrix_chart_needs_a_class():
    frame = multiclass_confusion(["a"], ["a"], ["a"])
    with pytest.raises(ValueError, match="n_classes must be at least 1, got 0"):
        square_matrix_chart(multiclass_confusion_chart(frame), 0)


def test_one_vs_rest_rate_chart_cells():
    table = one_vs_rest_rates_by_slice(
        ["a", "b", "a", "b"], ["a", "a", "a", "b"], ["s", "s", "t", "t"], ["a", "b"]
    )

    chart = one_vs_rest_rate_chart(table, "tpr")

    assert len(chart.data) == len(table)
    assert set(chart.data.columns) == {"slice", "class", "count", "value"}


def test_regression_charts_stay_small():
    rng = np.random.default_rng(3)
    y_true = rng.normal(size=200_000)
    y_pred = y_true + rng.normal(size=200_000)

    residuals = residual_chart(residual_bins(y_true, y_pred))
    diagonal = predicted_actual_chart(prediction_bins(y_true, y_pred))

    assert len(layer_data(residuals, 0)) <= 60 * 60
    assert len(layer_data(diagonal, 0)) <= 60 * 60
    assert diagonal.to_dict()["layer"][1]["mark"]["type"] == "line"


def test_slice_error_chart_has_mae_and_bias():
    table = regression_metrics_by_slice(
        [0, 0, 1, 1], [1, 2, 1, 0], ["a", "a", "b", "b"]
    )

    chart = slice_error_chart(table)

    data = chart.data
    assert set(data["statistic"]) == {"MAE", "Bias (mean error)"}
    assert len(data) == 4
    bias = data[data["statistic"] == "Bias (mean error)"].set_index("slice")["value"]
    assert bias.to_dict() == {"a": 1.5, "b": -0.5}
