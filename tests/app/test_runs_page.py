"""The Runs page against the quick demo's store and generated stores."""

from __future__ import annotations

import json
import time

import pandas as pd
import pyarrow as pa

import tracking
from tests.app.helpers import open_page
from tracking import schema
from tracking.filter_expr import apply_filter
from tracking.run_diff import diff_runs

PAGE = "pages/1_Runs.py"
PROJECT = "adult-income"


def _table(app):
    return app.dataframe[0].value


def _chart_specs(app) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart")]


def _chart_data(chart) -> pd.DataFrame:
    """Read the data that Streamlit sent beside a chart's spec, as Arrow."""
    frames = [
        pa.ipc.open_stream(dataset.data.data).read_pandas()
        for dataset in chart.proto.datasets
    ]
    return pd.concat(frames, ignore_index=True)


def _title(spec: dict) -> str:
    title = spec.get("title")
    return title["text"] if isinstance(title, dict) else title


def _bulk_store(location: str, count: int, *, running: int = 0) -> None:
    """Write ``count`` finished runs (and ``running`` live ones) in one insert."""
    store = tracking.open_store(location)
    now = time.time()
    rows = []
    with store.write() as conn, conn.begin():
        project_pk = store.ensure_project(conn, "bulk")
        for index in range(count + running):
            config = {"lr": 10 ** -(1 + index % 4), "seed": index}
            summary = {"val_accuracy": (index % 100) / 100}
            is_running = index >= count
            rows.append(
                {
                    "project_pk": project_pk,
                    "run_id": f"run{index:05d}",
                    "name": f"=run-{index}" if index == 0 else f"run-{index}",
                    "state": "running" if is_running else "finished",
                    "created_at": now - count + index,
                    "heartbeat_at": now,
                    "finished_at": None if is_running else now,
                    "config": json.dumps(config),
                    "summary": json.dumps(summary),
                    "tags": "[]",
                    "metrics": "{}",
                }
            )
        conn.execute(schema.runs.insert(), rows)


# The table


def test_runs_table_lists_demo_runs(demo_env):
    app = open_page(PAGE)
    assert not app.exception
    table = _table(app)
    expected = tracking.open_store(demo_env).runs(PROJECT)
    assert sorted(table["run_id"]) == sorted(expected["run_id"])
    assert "summary.test_accuracy" in table.columns
    assert "config.max_iter" in table.columns


def test_sort_by_summary_column(demo_env):
    app = open_page(PAGE)
    app.selectbox(key="sort_by").set_value("summary.test_accuracy").run()
    accuracies = _table(app)["summary.test_accuracy"].tolist()
    assert accuracies == sorted(accuracies, reverse=True)
    app.toggle(key="sort_desc").set_value(False).run()
    accuracies = _table(app)["summary.test_accuracy"].tolist()
    assert accuracies == sorted(accuracies)


def test_text_filter_narrows_table(demo_env):
    app = open_page(PAGE)
    app.text_input(key="text_filter").input("mlp").run()
    assert _table(app)["name"].tolist() == ["mlp-64-32"]
    app.multiselect(key="state_filter").select("finished").run()
    assert len(_table(app)) == 1


def test_filter_expression_matches_reference(demo_env):
    runs = tracking.open_store(demo_env).runs(PROJECT)
    text = 'summary.test_accuracy > 0.85 and config.model != "KerasMLP"'
    expected = apply_filter(runs, text)["run_id"]
    assert 0 < len(expected) < len(runs)

    app = open_page(PAGE)
    app.text_input(key="filter_expr").input(text).run()
    assert not app.exception
    assert not app.error
    assert sorted(_table(app)["run_id"]) == sorted(expected)
    assert app.query_params["filter"] == text


def test_linked_filter_replaces_typed_one(demo_env):
    runs = tracking.open_store(demo_env).runs(PROJECT)
    target = runs["run_id"].iloc[0]
    app = open_page(PAGE)
    app.text_input(key="filter_expr").input('config.model == "KerasMLP"').run()

    linked = f'run_id == "{target}"'
    app.query_params["filter"] = linked
    app.run()
    assert app.text_input(key="filter_expr").value == linked
    assert _table(app)["run_id"].tolist() == [target]


def test_run_link_opens_run_details(demo_env):
    runs = tracking.open_store(demo_env).runs(PROJECT)
    target = runs["run_id"].iloc[-1]
    app = open_page(PAGE)
    app.query_params["run"] = target
    app.run()
    assert not app.exception
    assert app.selectbox(key="detail_run").value == target


def test_filter_expression_errors_shown(demo_env):
    app = open_page(PAGE)
    app.text_input(key="filter_expr").input("__import__('os').system('ls')").run()
    assert not app.exception
    assert "function calls are not supported" in app.error[0].value
    assert "at character 11" in app.error[0].value
    # The table stays unfiltered.
    assert len(_table(app)) == 4

    app.text_input(key="filter_expr").input("config.lrr < 1").run()
    assert "unknown column 'config.lrr'" in app.error[0].value


def test_column_chooser_keeps_chosen_columns(demo_env):
    app = open_page(PAGE)
    app.multiselect(key="columns").set_value(["state", "summary.test_accuracy"]).run()
    assert list(_table(app).columns) == [
        "name",
        "state",
        "run_id",
        "summary.test_accuracy",
    ]


def test_ten_thousand_runs_open_in_pages(tmp_path, monkeypatch):
    location = str(tmp_path / "store")
    monkeypatch.setenv("RUNLENS_STORE", location)
    _bulk_store(location, 10_000)

    app = open_page(PAGE)
    assert not app.exception
    assert len(_table(app)) == 25
    assert "10,000 of 10,000 runs · page 1 of 400" in app.caption[0].value

    app.selectbox(key="page_size").set_value(250).run()
    app.number_input(key="page").set_value(40).run()
    table = _table(app)
    assert len(table) == 250
    # Newest first: page 40 of 250 rows contains runs 249 down to 0.
    assert table["run_id"].iloc[0] == "run00249"
    assert table["run_id"].iloc[-1] == "run00000"

    app.text_input(key="filter_expr").input("config.lr == 0.001").run()
    assert "2,500 of 10,000 runs · page 1 of 10" in app.caption[0].value


def test_csv_download_offered(demo_env):
    app = open_page(PAGE)
    buttons = app.get("download_button")
    assert [button.proto.label for button in buttons] == [
        "Download the filtered table as CSV"
    ]


# Charts


def test_charts_drawn_for_selected_runs(demo_env):
    app = open_page(PAGE)
    assert not app.exception
    metrics = app.multiselect(key="metrics").value
    titles = [_title(spec) for spec in _chart_specs(app)]
    # Metric charts fill two columns, so they come column by column.
    assert sorted(titles[: len(metrics)]) == sorted(metrics)
    assert len(metrics) > 0
    assert any(title.startswith("summary.") for title in titles)
    assert "Parallel coordinates" in titles[-1]


def test_chart_options_change_specs(demo_env):
    app = open_page(PAGE)
    app.multiselect(key="metrics").set_value(["val_loss"]).run()
    app.selectbox(key="x_axis").set_value("runtime").run()
    app.slider(key="smoothing").set_value(0.6).run()
    app.toggle(key="log_y").set_value(True).run()
    assert not app.exception

    spec = _chart_specs(app)[0]
    raw, smoothed = spec["layer"]
    assert raw["encoding"]["x"]["title"] == "Relative time (s)"
    assert raw["encoding"]["y"]["scale"]["type"] == "log"
    assert smoothed["encoding"]["y"]["field"] == "smoothed"

    app.selectbox(key="group_by").set_value("config.model").run()
    spec = _chart_specs(app)[0]
    band, mean = spec["layer"]
    assert band["mark"]["type"] == "area"
    assert mean["encoding"]["color"]["title"] == "config.model"
    groups = set(_chart_data(app.get("vega_lite_chart")[0])["group"])
    # The logistic regression run logs no val_loss, so it has no group line.
    assert groups == {"HistGradientBoostingClassifier", "KerasMLP"}


def test_x_axis_by_other_metric(demo_env):
    app = open_page(PAGE)
    app.multiselect(key="metrics").set_value(["accuracy"]).run()
    app.selectbox(key="x_axis").set_value("epoch").run()
    assert not app.exception
    spec = _chart_specs(app)[0]
    assert spec["layer"][0]["encoding"]["x"]["title"] == "epoch"


# Diff, edits and deletion


def test_run_diff_lists_differing_keys(demo_env):
    store = tracking.open_store(demo_env)
    app = open_page(PAGE)
    first = app.selectbox(key="diff_first").value
    second = app.selectbox(key="diff_second").value
    expected = diff_runs(store.run(PROJECT, first), store.run(PROJECT, second))
    diff = next(
        frame.value
        for frame in app.dataframe
        if list(frame.value.columns) == ["section", "key", "first", "second"]
    )
    assert diff["key"].tolist() == expected["key"].tolist()
    assert "config.model" not in diff["key"].tolist()
    assert "model" in diff["key"].tolist()


def test_edit_tags_notes_and_group(demo_copy):
    app = open_page(PAGE)
    run_id = app.selectbox(key="detail_run").value
    # Form fields are sent with the submit button, as in a browser.
    app.text_input(key=f"edit_tags_{run_id}").input("best, keep")
    app.text_area(key=f"edit_notes_{run_id}").input("the one to ship")
    app.text_input(key=f"edit_group_{run_id}").input("finalists")
    app.button(key=f"edit_save_{run_id}").click().run()
    assert not app.exception
    assert not app.error

    record = tracking.open_store(demo_copy).run(PROJECT, run_id)
    assert record["tags"] == ["best", "keep"]
    assert record["notes"] == "the one to ship"
    assert record["group"] == "finalists"
    assert "Saved tags, notes and group" in app.success[0].value


def test_delete_restore_and_purge(demo_copy):
    store = tracking.open_store(demo_copy)
    app = open_page(PAGE)
    victim = _table(app)["run_id"].iloc[0]
    app.multiselect(key="chart_runs").set_value([victim]).run()
    app.button(key="delete_runs").click().run()
    assert not app.exception
    assert "Deleted 1 run(s)" in app.success[0].value
    assert victim not in _table(app)["run_id"].tolist()
    assert store.runs(PROJECT, deleted=True)["run_id"].tolist() == [victim]

    app.toggle(key="show_deleted").set_value(True).run()
    app.multiselect(key="deleted_runs").set_value([victim]).run()
    app.button(key="restore_runs").click().run()
    assert "Restored 1 run(s)" in app.success[0].value
    assert victim in store.runs(PROJECT)["run_id"].tolist()

    app.toggle(key="show_deleted").set_value(False).run()
    app.multiselect(key="chart_runs").set_value([victim]).run()
    app.button(key="delete_runs").click().run()
    app.toggle(key="show_deleted").set_value(True).run()
    app.multiselect(key="deleted_runs").set_value([victim]).run()
    assert app.button(key="purge_runs").disabled
    app.checkbox(key="confirm_purge").check().run()
    app.button(key="purge_runs").click().run()
    assert not app.exception
    assert "Purged 1 run(s)" in app.success[0].value
    assert victim not in store.runs(PROJECT, deleted=None)["run_id"].tolist()
    assert store.history(PROJECT, [victim]).empty


def test_running_runs_refresh(tmp_path, monkeypatch):
    location = str(tmp_path / "store")
    monkeypatch.setenv("RUNLENS_STORE", location)
    _bulk_store(location, 3, running=2)
    app = open_page(PAGE)
    assert not app.exception
    assert any(
        "2 run(s) running: the table and charts reload every 5 s" in caption.value
        for caption in app.caption
    )


def test_run_details_list_artifacts(demo_env):
    app = open_page(PAGE)
    details = app.dataframe[-1].value
    assert sorted(details["type"]) == ["dataset", "model"]
