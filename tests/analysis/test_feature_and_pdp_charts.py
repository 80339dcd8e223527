"""Charts of the features overview and of partial dependence stay small."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from analysis.chart_palette import CATEGORY_SCHEME
from analysis.feature_charts import (
    distribution_comparison_chart,
    histogram_chart,
    value_bar_chart,
)
from analysis.models import make_predictor
from analysis.overview import compare_datasets, features_overview
from analysis.pdp import partial_dependence, partial_dependence_2d
from analysis.pdp_charts import partial_dependence_chart, partial_dependence_heatmap


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n_rows = 500
    return pd.DataFrame(
        {
            "x": rng.normal(size=n_rows),
            "z": rng.normal(size=n_rows),
            "kind": rng.choice(["a", "b", "c"], n_rows),
            "label": rng.integers(0, 2, n_rows),
        }
    )


def test_feature_charts_use_aggregates(frame):
    """Check that each chart has one mark per bin or value, not per row."""
    overview = features_overview(frame, ["x", "kind"], bins=12)
    histogram = histogram_chart(overview.histograms["x"], "x")
    assert len(histogram.data) == 12
    assert histogram.to_dict()["encoding"]["x"]["bin"] == "binned"
    bars = value_bar_chart(overview.bars["kind"], "kind")
    assert sorted(bars.data["value"]) == ["a", "b", "c"]

    comparison = compare_datasets(frame.iloc[:250], frame.iloc[250:], ["kind"])
    chart = distribution_comparison_chart(comparison.distributions["kind"], "kind")
    assert len(chart.data) == 2 * len(comparison.distributions["kind"])
    assert set(chart.data["dataset"]) == {"reference", "current"}


def test_missing_column_named():
    """Check the message when the table lacks a column."""
    with pytest.raises(ValueError, match="bin_end"):
        histogram_chart(pd.DataFrame({"bin_start": [0.0], "count": [1]}), "x")


def test_partial_dependence_chart_layers(frame):
    """Check the mean lines per model over the ICE lines of the sample."""
    features = ["x", "z"]
    model = make_predictor(LogisticRegression().fit(frame[features], frame["label"]))
    result = partial_dependence(
        frame, {"A": model, "B": model}, "x", sample_size=100, n_ice=20, label="label"
    )
    spec = partial_dependence_chart(result, show_ice=True)
    ice, lines = spec.layer
    assert len(lines.data) == 2 * len(result.grid)
    assert len(ice.data) == 2 * 20 * len(result.grid)
    assert len(partial_dependence_chart(result, show_ice=False).layer) == 1


def test_heatmap_cells(frame):
    """Check one cell per pair of grid values, for the chosen model."""
    features = ["x", "z"]
    model = make_predictor(LogisticRegression().fit(frame[features], frame["label"]))
    result = partial_dependence_2d(
        frame, {"A": model}, ("x", "z"), n_points=5, sample_size=50, label="label"
    )
    chart = partial_dependence_heatmap(result)
    # Layers that share one frame keep it on the layered chart.
    cells = chart.data
    assert len(cells) == len(result.grids[0]) * len(result.grids[1])
    assert cells["output"].to_numpy() == pytest.approx(result.values["A"].reshape(-1))


def test_two_models_get_contrasting_colours(frame):
    """Check that model lines use the categorical scheme, not the theme's blues."""
    features = ["x", "z"]
    model = make_predictor(LogisticRegression().fit(frame[features], frame["label"]))
    result = partial_dependence(
        frame, {"A": model, "B": model}, "x", sample_size=100, n_ice=5, label="label"
    )
    spec = partial_dependence_chart(result).to_dict()
    for layer in spec["layer"]:
        assert layer["encoding"]["color"]["scale"] == {"scheme": CATEGORY_SCHEME}
    assert CATEGORY_SCHEME == "tableau10"


def test_current_value_rule_numeric(frame):
    """Check the dashed rule at the selected row's value on a numeric axis."""
    features = ["x", "z"]
    model = make_predictor(LogisticRegression().fit(frame[features], frame["label"]))
    result = partial_dependence(frame, {"A": model}, "x", sample_size=100, n_ice=5)
    chart = partial_dependence_chart(result, current_value=0.25)
    rule = chart.layer[-1]
    assert rule.to_dict()["mark"]["type"] == "rule"
    assert rule.data["value"].tolist() == [0.25]
    assert len(partial_dependence_chart(result, current_value=float("nan")).layer) == 2


def test_current_value_rule_categorical(frame):
    """Check the rule on the category axis of a categorical feature."""
    model = make_predictor(
        LogisticRegression().fit(pd.get_dummies(frame[["kind"]]), frame["label"])
    )
    encoded = frame.assign(**pd.get_dummies(frame[["kind"]]))
    result = partial_dependence(
        encoded, {"A": model}, "kind", sample_size=50, n_ice=5, label="label"
    )
    rule = partial_dependence_chart(result, current_value="b").layer[-1]
    encoding = rule.to_dict()["encoding"]
    assert "y" in encoding
    assert "x" not in encoding
    assert rule.data["value"].tolist() == ["b"]


def test_feature_titles_and_labels_whole():
    """Check uncut titles and a label for every category of a bar chart."""
    bars = pd.DataFrame(
        {"value": list("abcdefgh"), "count": range(8, 0, -1), "share": [0.1] * 8}
    )
    spec = value_bar_chart(bars, "fnlwgt").to_dict()
    assert spec["title"]["text"] == "fnlwgt"
    assert spec["title"]["limit"] == 0
    assert spec["title"]["anchor"] == "start"
    assert spec["encoding"]["y"]["axis"]["labelOverlap"] is False
    histogram = pd.DataFrame({"bin_start": [0.0], "bin_end": [1.0], "count": [3]})
    assert histogram_chart(histogram, "fnlwgt").to_dict()["title"]["limit"] == 0
