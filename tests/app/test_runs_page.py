"""The Runs page against the quick demo's store."""

from __future__ import annotations

import tracking
from tests.app.helpers import open_page

PAGE = "pages/1_Runs.py"


def _table(app):
    return app.dataframe[0].value


def test_runs_table_lists_demo_runs(demo_env):
    app = open_page(PAGE)
    assert not app.exception
    table = _table(app)
    expected = tracking.open_store(demo_env).runs("adult-income")
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


def test_charts_drawn_for_selected_runs(demo_env):
    app = open_page(PAGE)
    assert not app.exception
    charts = app.get("vega_lite_chart")
    assert len(charts) == len(app.multiselect(key="metrics").value) > 0


def test_run_details_list_artifacts(demo_env):
    app = open_page(PAGE)
    details = app.dataframe[-1].value
    assert sorted(details["type"]) == ["dataset", "model"]
