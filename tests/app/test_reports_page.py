"""The Reports page: compose, save, open by link, edit, export and delete."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

import tracking
from tests.app.helpers import APP, TIMEOUT, open_page
from tracking.reports import (
    ChartBlock,
    MarkdownBlock,
    Report,
    RunTableBlock,
    list_reports,
    load_report,
    save_report,
)

PAGE = "pages/4_Reports.py"
PROJECT = "adult-income"


def _open_report(report_id: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params["report"] = report_id
    app.run()
    app.switch_page(PAGE).run()
    return app


def _saved_report(location: str) -> Report:
    return save_report(
        tracking.open_store(location),
        Report(
            "Demo study",
            [
                MarkdownBlock("Gradient boosting **wins**."),
                ChartBlock(PROJECT, ["val_loss"], filter='state == "finished"'),
                RunTableBlock(PROJECT, columns=["summary.test_accuracy"], limit=2),
            ],
        ),
    )


def test_compose_and_save_report(demo_copy):
    app = open_page(PAGE)
    assert not app.exception
    assert app.selectbox(key="report_choice").value == "__new__"

    app.text_input(key="report_title").input("Adult income study").run()
    app.text_area(key="new_markdown").input("## Summary\n\nAll runs.").run()
    app.button(key="add_block").click().run()

    app.selectbox(key="new_block_type").set_value("chart").run()
    app.selectbox(key="new_block_project").set_value(PROJECT).run()
    app.text_input(key="new_block_filter").input("config.model != 'KerasMLP'").run()
    app.multiselect(key="new_chart_metrics").set_value(["val_loss", "train_loss"]).run()
    app.button(key="add_block").click().run()

    app.selectbox(key="new_block_type").set_value("run_table").run()
    app.multiselect(key="new_table_columns").set_value(["summary.test_accuracy"]).run()
    app.button(key="add_block").click().run()
    assert not app.error
    block_titles = [
        element.value for element in app.markdown if element.value.startswith("**")
    ]
    assert block_titles == [
        "**1. Markdown: ## Summary**",
        "**2. Chart of val_loss, train_loss in adult-income, filter "
        "config.model != 'KerasMLP'**",
        # The project and filter fields stay filled for the next block.
        "**3. Run table of adult-income, filter config.model != 'KerasMLP'**",
    ]

    app.button(key="save_report").click().run()
    assert not app.exception
    assert "Saved report 'Adult income study'" in app.success[0].value

    store = tracking.open_store(demo_copy)
    report_id = list_reports(store)["report_id"].iloc[0]
    report = load_report(store, report_id)
    assert [block.type for block in report.blocks] == ["markdown", "chart", "run_table"]
    assert report.blocks[1].metrics == ["val_loss", "train_loss"]
    assert report.blocks[1].filter == "config.model != 'KerasMLP'"
    assert app.query_params["report"] == report_id
    # The saved report opens in view mode with its charts.
    assert app.header[0].value == "Adult income study"
    assert len(app.get("vega_lite_chart")) == 2


def test_link_opens_report(demo_copy):
    report = _saved_report(demo_copy)
    app = _open_report(report.report_id)
    assert not app.exception
    assert app.selectbox(key="report_choice").value == report.report_id
    assert app.header[0].value == "Demo study"
    assert "Gradient boosting **wins**." in [element.value for element in app.markdown]
    assert f"/Reports?report={report.report_id}" in app.code[0].value

    specs = [json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart")]
    assert [spec["title"] for spec in specs] == ["val_loss"]
    table = app.dataframe[0].value
    assert list(table.columns) == ["name", "summary.test_accuracy"]
    assert len(table) == 2
    labels = [button.proto.label for button in app.get("download_button")]
    assert labels == ["Export as HTML", "Export as Markdown"]


def test_unknown_report_link_reported(demo_copy):
    app = _open_report("nosuchreport")
    assert not app.exception
    assert "Report 'nosuchreport' was not found" in app.error[0].value


def test_invalid_filter_not_added(demo_copy):
    app = open_page(PAGE)
    app.selectbox(key="new_block_type").set_value("run_table").run()
    app.text_input(key="new_block_filter").input("__import__('os')").run()
    app.button(key="add_block").click().run()
    assert not app.exception
    assert "The block was not added" in app.error[0].value
    assert "function calls are not supported" in app.error[0].value


def test_edit_removes_block(demo_copy):
    report = _saved_report(demo_copy)
    app = _open_report(report.report_id)
    app.toggle(key="edit_report").set_value(True).run()
    assert app.text_input(key="report_title").value == "Demo study"
    app.button(key="block_remove_0").click().run()
    app.button(key="block_up_1").click().run()
    app.text_input(key="report_title").input("Demo study, edited").run()
    app.button(key="save_report").click().run()
    assert not app.exception

    saved = load_report(tracking.open_store(demo_copy), report.report_id)
    assert saved.title == "Demo study, edited"
    assert [block.type for block in saved.blocks] == ["run_table", "chart"]
    assert app.toggle(key="edit_report").value is False


def test_delete_report(demo_copy):
    report = _saved_report(demo_copy)
    app = _open_report(report.report_id)
    assert app.button(key="delete_report").disabled
    app.checkbox(key="confirm_delete_report").check().run()
    app.button(key="delete_report").click().run()
    assert not app.exception
    assert list_reports(tracking.open_store(demo_copy)).empty
    assert app.selectbox(key="report_choice").value == "__new__"
