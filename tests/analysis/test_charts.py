"""Tests for analysis.charts: the data and encodings of each chart."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pytest

from analysis.charts import (
    confusion_matrix_chart,
    metric_history_chart,
    slice_metric_chart,
)
from analysis.metrics import confusion_frame
from analysis.slices import ALL_ROWS_LABEL, metrics_by_slice


def test_confusion_matrix_chart_layers_and_labels():
    frame = confusion_frame({"tp": 5, "fp": 3, "tn": 10, "fn": 2}, ("no", "yes"))

    chart = confusion_matrix_chart(frame)

    assert isinstance(chart, alt.LayerChart)
    # alt.layer moves the shared data up to the layered chart.
    assert chart.data["label"].tolist() == [
        "TN: 10 (50.0%)",
        "FP: 3 (15.0%)",
        "FN: 2 (10.0%)",
        "TP: 5 (25.0%)",
    ]
    spec = chart.to_dict()
    assert spec["layer"][0]["mark"]["type"] == "rect"
    assert spec["layer"][1]["mark"]["type"] == "text"
    assert spec["layer"][0]["encoding"]["x"]["sort"] == ["no", "yes"]
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["no", "yes"]


def test_confusion_matrix_chart_requires_columns():
    with pytest.raises(ValueError, match="missing column"):
        confusion_matrix_chart(pd.DataFrame({"count": [1]}))


def history_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_name": ["a", "a", "a", "b", "b", "b"],
            "step": [0, 1, 2, 0, 1, 2],
            "value": [1.0, np.nan, 0.5, np.inf, 0.8, -np.inf],
        }
    )


def test_history_drops_non_finite_values_with_note():
    chart = metric_history_chart(history_frame(), "loss")

    assert chart.data["value"].tolist() == [1.0, 0.5, 0.8]
    assert chart.data["run_name"].tolist() == ["a", "a", "b"]
    spec = chart.to_dict()
    assert spec["title"]["text"] == "loss"
    assert spec["title"]["subtitle"] == ["3 NaN or infinite value(s) not drawn"]
    assert spec["encoding"]["color"]["field"] == "run_name"
    assert spec["encoding"]["y"]["title"] == "loss"


def test_history_without_problems_has_plain_title():
    history = history_frame().dropna()
    history = history[np.isfinite(history["value"])]

    spec = metric_history_chart(history, "loss").to_dict()

    assert spec["title"] == "loss"


def test_history_thinned_by_averaging():
    history = pd.DataFrame(
        {"run_name": "a", "step": np.arange(10), "value": np.arange(10.0) * 2}
    )

    chart = metric_history_chart(history, "acc", max_points=4)

    # ceil(10 / 4) = 3 points per chunk: steps 0-2, 3-5, 6-8 and 9.
    assert chart.data["step"].tolist() == [1.0, 4.0, 7.0, 9.0]
    assert chart.data["value"].tolist() == [2.0, 8.0, 14.0, 18.0]
    assert "mean of up to 3" in chart.to_dict()["title"]["subtitle"][0]


def test_history_points_capped_across_runs():
    rng = np.random.default_rng(0)
    history = pd.DataFrame(
        {
            "run_name": np.repeat(["a", "b", "c"], 4000),
            "step": np.tile(np.arange(4000), 3),
            "value": rng.random(12000),
        }
    )

    chart = metric_history_chart(history, "loss", max_points=3000)

    assert len(chart.data) <= 3000
    assert chart.data.groupby("run_name").size().tolist() == [1000, 1000, 1000]


def test_history_requires_columns():
    with pytest.raises(ValueError, match="run_name"):
        metric_history_chart(pd.DataFrame({"step": [1], "value": [1.0]}), "loss")


@pytest.fixture
def slice_frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    slices = ["a"] * 50 + ["b"] * 10 + ["c"] * 40
    return metrics_by_slice(rng.random(100) < 0.5, rng.random(100), slices, 0.5)


def test_slice_chart_bars_and_overall_rule(slice_frame):
    chart = slice_metric_chart(slice_frame, "accuracy")

    bars, rule = chart.layer
    assert bars.data["slice"].tolist() == ["a", "b", "c"]
    assert bars.data["value"].tolist() == slice_frame["accuracy"].iloc[1:].tolist()
    assert bars.data["small"].tolist() == [False, True, False]
    overall = slice_frame.loc[slice_frame["slice"] == ALL_ROWS_LABEL, "accuracy"]
    assert rule.data["value"].tolist() == overall.tolist()
    spec = chart.to_dict()
    assert spec["layer"][0]["encoding"]["x"]["scale"]["domain"] == [0, 1]


def test_slice_chart_for_counts_has_no_fixed_domain(slice_frame):
    spec = slice_metric_chart(slice_frame, "fp").to_dict()

    assert "scale" not in spec["layer"][0]["encoding"]["x"]


def test_slice_chart_unknown_metric(slice_frame):
    with pytest.raises(ValueError, match="auc"):
        slice_metric_chart(slice_frame, "auc")
