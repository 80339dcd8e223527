"""Run comparison charts: their Vega-Lite specifications and data."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pytest

from analysis.run_charts import (
    chart_spec,
    grouped_metric_chart,
    histogram_chart,
    metric_lines_chart,
    parallel_coordinates_chart,
    parallel_coordinates_frame,
    parameter_scatter_chart,
)


def _layer_data(chart, index=0):
    data = chart.layer[index].data
    return chart.data if data is alt.Undefined else data


def _lines(n=3, length=10):
    return pd.DataFrame(
        {
            "run_name": np.repeat([f"run-{i}" for i in range(n)], length),
            "x": np.tile(np.arange(length, dtype=float), n),
            "value": np.linspace(-1, 2, n * length),
        }
    )


def test_metric_lines_log_scale_drops_nonpositive():
    chart = metric_lines_chart(_lines(), "loss", log_y=True)
    spec = chart.to_dict()
    assert spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
    data = _layer_data(chart)
    assert (data["value"] > 0).all()
    dropped = int((_lines()["value"] <= 0).sum())
    assert spec["title"]["subtitle"] == [
        f"{dropped} point(s) at or below 0 not drawn on the log scale"
    ]


def test_metric_lines_smoothed_draws_two_layers():
    data = _lines().assign(smoothed=lambda frame: frame["value"] * 0.5)
    spec = metric_lines_chart(data, "loss", smoothed=True).to_dict()
    assert len(spec["layer"]) == 2
    assert spec["layer"][0]["mark"]["opacity"] == 0.25
    assert spec["layer"][1]["encoding"]["y"]["field"] == "smoothed"


def test_metric_lines_wall_time_is_temporal():
    data = _lines().assign(x=lambda frame: pd.to_datetime(frame["x"], unit="s"))
    spec = metric_lines_chart(data, "loss", x_title="Wall time").to_dict()
    assert spec["layer"][0]["encoding"]["x"]["type"] == "temporal"


def test_metric_lines_drop_nan():
    data = _lines()
    data.loc[3, "value"] = np.nan
    chart = metric_lines_chart(data, "loss")
    assert len(_layer_data(chart)) == len(data) - 1
    assert chart.to_dict()["title"]["subtitle"] == [
        "1 NaN or infinite value(s) not drawn"
    ]


def test_grouped_chart_has_band_and_mean():
    grouped = pd.DataFrame(
        {
            "group": ["adam", "adam", "sgd", "sgd"],
            "key": "loss",
            "x": [0.0, 1.0, 0.0, 1.0],
            "mean": [1.0, 0.5, 2.0, 1.5],
            "min": [0.8, 0.4, 1.5, 1.0],
            "max": [1.2, 0.6, 2.5, 2.0],
            "runs": [2, 2, 3, 3],
        }
    )
    spec = grouped_metric_chart(
        grouped, "loss", group_title="config.optimizer"
    ).to_dict()
    band, line = spec["layer"]
    assert band["mark"]["type"] == "area"
    assert band["encoding"]["y"]["field"] == "min"
    assert band["encoding"]["y2"]["field"] == "max"
    assert line["encoding"]["y"]["field"] == "mean"
    assert line["encoding"]["color"]["title"] == "config.optimizer"


def test_parameter_scatter_numeric_and_categorical():
    runs = pd.DataFrame(
        {
            "name": ["a", "b", "c", "d"],
            "config.lr": [0.1, 0.01, None, 0.001],
            "config.optimizer": ["adam", "sgd", "adam", None],
            "summary.acc": [0.8, 0.9, 0.7, 0.85],
            "state": ["finished", "finished", "failed", "finished"],
        }
    )
    chart = parameter_scatter_chart(
        runs, "config.lr", "summary.acc", color="state", log_x=True
    )
    assert chart.data["name"].tolist() == ["a", "b", "d"]
    spec = chart.to_dict()
    assert spec["encoding"]["x"]["type"] == "quantitative"
    assert spec["encoding"]["x"]["scale"]["type"] == "log"
    assert spec["encoding"]["color"]["title"] == "state"

    categorical = parameter_scatter_chart(runs, "config.optimizer", "summary.acc")
    assert categorical.to_dict()["encoding"]["x"]["type"] == "nominal"
    assert categorical.data["parameter"].tolist() == ["adam", "sgd", "adam"]


def test_parallel_coordinates_positions_by_hand():
    runs = pd.DataFrame(
        {
            "name": ["a", "b", "c"],
            "config.lr": [0.1, 0.3, 0.2],
            "config.optimizer": ["sgd", "adam", "rmsprop"],
            "config.seed": [7, 7, 7],
            "summary.acc": [0.5, None, 1.0],
        }
    )
    columns = ["config.lr", "config.optimizer", "config.seed", "summary.acc"]
    frame = parallel_coordinates_frame(runs, columns)
    positions = frame.set_index(["run_name", "axis"])["position"]
    assert positions[("a", "config.lr")] == pytest.approx(0.0)
    assert positions[("c", "config.lr")] == pytest.approx(0.5)
    assert positions[("b", "config.lr")] == pytest.approx(1.0)
    # Categories in sorted order: adam, rmsprop, sgd.
    assert positions[("b", "config.optimizer")] == 0.0
    assert positions[("c", "config.optimizer")] == 0.5
    assert positions[("a", "config.optimizer")] == 1.0
    assert positions[("a", "config.seed")] == 0.5
    assert ("b", "summary.acc") not in positions.index

    spec = parallel_coordinates_chart(runs, columns, color="summary.acc").to_dict()
    rules, lines, labels = spec["layer"]
    assert lines["encoding"]["x"]["sort"] == columns
    assert lines["encoding"]["color"]["field"] == "color_value"


def test_parallel_coordinates_need_two_columns():
    runs = pd.DataFrame({"name": ["a"], "config.lr": [0.1]})
    with pytest.raises(ValueError, match="at least 2 columns"):
        parallel_coordinates_chart(runs, ["config.lr"])


def test_chart_spec_inlines_large_data():
    data = _lines(n=10, length=1000)
    spec = chart_spec(metric_lines_chart(data, "loss"))
    datasets = spec["datasets"]
    assert sum(len(rows) for rows in datasets.values()) == 10_000


def test_run_and_group_colours_use_tableau10():
    grouped = pd.DataFrame(
        {
            "group": ["adam", "sgd"],
            "x": [0.0, 0.0],
            "mean": [1.0, 2.0],
            "min": [0.8, 1.5],
            "max": [1.2, 2.5],
            "runs": [2, 3],
        }
    )
    runs = pd.DataFrame(
        {
            "name": ["a", "b"],
            "config.lr": [0.1, 0.01],
            "summary.loss": [1.0, 2.0],
            "state": ["finished", "crashed"],
        }
    )
    lines = metric_lines_chart(_lines(), "loss").to_dict()["layer"][0]
    grouped_spec = grouped_metric_chart(grouped, "loss", group_title="g").to_dict()
    band, mean = grouped_spec["layer"]
    scatter = parameter_scatter_chart(
        runs, "config.lr", "summary.loss", color="state"
    ).to_dict()
    parallel = parallel_coordinates_chart(runs, ["config.lr", "state"]).to_dict()
    assert lines["encoding"]["color"]["scale"] == {"scheme": "tableau10"}
    assert band["encoding"]["color"]["scale"] == {"scheme": "tableau10"}
    assert mean["encoding"]["color"]["scale"] == {"scheme": "tableau10"}
    assert scatter["encoding"]["color"]["scale"] == {"scheme": "tableau10"}
    assert parallel["layer"][1]["encoding"]["color"]["scale"] == {"scheme": "tableau10"}


def test_histogram_chart_bars_span_bins():
    counts, edges = np.histogram([0.0, 0.1, 0.2, 0.9, 1.0], bins=2)
    bins = pd.DataFrame({"start": edges[:-1], "end": edges[1:], "count": counts})
    spec = histogram_chart(bins, "weights").to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["field"] == "start"
    assert spec["encoding"]["x2"]["field"] == "end"
    assert spec["title"] == "weights"
    assert histogram_chart(bins, "weights").data["count"].tolist() == [3, 2]
