"""The Runs page's run selection, chart defaults and media in run details."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa

import tracking
from tests.app.helpers import open_page

PAGE = "pages/1_Runs.py"
PROJECT = "adult-income"


def _chart_data(chart) -> pd.DataFrame:
    frames = [
        pa.ipc.open_stream(dataset.data.data).read_pandas()
        for dataset in chart.proto.datasets
    ]
    return pd.concat(frames, ignore_index=True)


def _run_ids(location: str, prefix: str) -> list[str]:
    runs = tracking.open_store(location).runs(PROJECT)
    return sorted(runs.loc[runs["name"].str.startswith(prefix), "run_id"])


# Selection and filters


def test_filter_limits_selected_runs(demo_env):
    hgb = _run_ids(demo_env, "hgb")
    assert len(hgb) == 2
    app = open_page(PAGE)
    assert len(app.multiselect(key="chart_runs").value) == 4

    app.text_input(key="text_filter").input("hgb").run()
    assert not app.exception
    assert sorted(app.multiselect(key="chart_runs").value) == hgb
    assert sorted(app.selectbox(key="diff_first").options) == sorted(
        f"{name} ({run_id})"
        for run_id, name in tracking.open_store(demo_env)
        .runs(PROJECT)
        .set_index("run_id")["name"]
        .items()
        if run_id in hgb
    )
    lines = _chart_data(app.get("vega_lite_chart")[0])
    assert set(lines["run_name"]) == {"hgb-lr0.1-leaves31", "hgb-lr0.05-leaves15"}


def test_filter_keeps_visible_choice(demo_env):
    hgb = _run_ids(demo_env, "hgb")
    logreg = _run_ids(demo_env, "logreg")
    app = open_page(PAGE)
    app.multiselect(key="chart_runs").set_value([hgb[0], *logreg]).run()
    app.text_input(key="text_filter").input("hgb").run()
    assert app.multiselect(key="chart_runs").value == [hgb[0]]


# Chart defaults


def test_chart_defaults_have_data(demo_env):
    app = open_page(PAGE)
    assert not app.exception
    assert "epoch" not in app.multiselect(key="metrics").value
    # config.model is the only varying key that all four runs have, and the
    # test_* metrics are on all four; ties go to the first name.
    assert app.selectbox(key="scatter_x").value == "config.model"
    assert app.selectbox(key="scatter_y").value == "summary.test_accuracy"
    # learning_rate and max_iter are on three runs, max_leaf_nodes on two;
    # C and hidden_units are on one and train_rows and quick are constant.
    assert app.multiselect(key="parcoords_columns").value == [
        "config.model",
        "config.learning_rate",
        "config.max_iter",
        "config.max_leaf_nodes",
        "summary.test_accuracy",
    ]
    specs = [json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart")]
    scatter = next(
        chart
        for chart, spec in zip(app.get("vega_lite_chart"), specs, strict=True)
        if spec.get("title") == "summary.test_accuracy against config.model"
    )
    assert len(_chart_data(scatter)) == 4


def test_scatter_pair_without_common_runs(demo_env):
    app = open_page(PAGE)
    app.selectbox(key="scatter_x").set_value("config.C").run()
    app.selectbox(key="scatter_y").set_value("summary.accuracy").run()
    assert not app.exception
    assert any(
        "No filtered run has both config.C and a number in summary.accuracy"
        in info.value
        for info in app.info
    )


# Media in run details


def _media_store() -> str:
    """Log two images, a table and a histogram to one run; return its id."""
    first = np.zeros((28, 28), dtype=np.uint8)
    second = np.full((28, 28), 200, dtype=np.uint8)
    rows = [[index, index * index, f"row {index}"] for index in range(10)]
    run = tracking.init(project="media")
    run.log({"digit": tracking.Image(first), "loss": 1.0}, step=0)
    run.log(
        {
            "digit": tracking.Image(second),
            "samples": tracking.Table(columns=["i", "square", "text"], data=rows),
            "weights": tracking.Histogram(
                np_histogram=([1.0, 3.0, 2.0], [0.0, 1.0, 2.0, 3.0])
            ),
            "loss": 0.5,
        },
        step=1,
    )
    run.finish()
    return run.id


def test_media_section_shows_logged_media(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNLENS_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("RUNLENS_ARTIFACTS", raising=False)
    run_id = _media_store()

    app = open_page(PAGE)
    assert not app.exception
    summary = next(
        json.loads(element.proto.body)
        for element in app.json
        if "samples" in json.loads(element.proto.body)
    )
    assert summary["digit"] == "image 28x28"
    assert summary["samples"] == "table 10x3"
    assert summary["weights"] == "histogram 3 bins"

    slider = app.select_slider(key=f"media_step_{run_id}_digit")
    assert slider.value == 1
    images = app.get("image")
    assert len(images) == 1
    latest_url = images[0].value[0]
    table = next(
        frame.value for frame in app.dataframe if "square" in frame.value.columns
    )
    assert table["square"].tolist() == [index * index for index in range(10)]
    histogram = next(
        chart
        for chart in app.get("vega_lite_chart")
        if json.loads(chart.proto.spec).get("title") == "weights"
    )
    assert _chart_data(histogram)["count"].tolist() == [1.0, 3.0, 2.0]

    slider.set_value(0).run()
    assert not app.exception
    assert any("step 0 · image 28x28" in caption.value for caption in app.caption)
    # The step 0 image differs from the latest one, so it is another file.
    assert app.get("image")[0].value[0] != latest_url
