"""Reports: blocks, storage and block data, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pandas as pd
import pytest

import tracking
from tracking.downsample import downsampled_history
from tracking.reports import (
    ChartBlock,
    MarkdownBlock,
    Report,
    ReportError,
    RunTableBlock,
    block_from_dict,
    block_to_dict,
    chart_block_data,
    delete_report,
    list_reports,
    load_report,
    report_url,
    save_report,
    table_block_data,
)

PROJECT = "reports"


def _make_runs(store, count: int = 6) -> None:
    for index in range(count):
        optimizer = "adam" if index % 2 else "sgd"
        pk = store.create_run(
            project=PROJECT,
            run_id=f"run-{index}",
            name=f"run-{index}",
            config={"lr": 0.1 / (index + 1), "optimizer": optimizer},
            tags=[],
            notes=None,
            group=None,
            job_type=None,
        )
        now = time.time()
        points = []
        for step in range(30):
            points.append((pk, "loss", step, 1.0 / (step + 1 + index), now + step))
            points.append((pk, "epoch", step, float(step // 10), now + step))
        store.save_batch(pk, points, last_step=29)
        store.finish_run(
            pk,
            exit_code=0 if index != 5 else 1,
            summary={"val_accuracy": 0.5 + index / 20},
            config={"lr": 0.1 / (index + 1), "optimizer": optimizer},
        )


def _report() -> Report:
    return Report(
        "Learning rate study",
        [
            MarkdownBlock("# Findings\n\nSmaller **lr** wins."),
            ChartBlock(PROJECT, ["loss"], filter='config.optimizer == "adam"'),
            RunTableBlock(PROJECT, filter="summary.val_accuracy > 0.6", limit=3),
        ],
    )


def test_save_load_roundtrip(store_location):
    store = tracking.open_store()
    saved = save_report(store, _report())
    assert saved.report_id is not None
    loaded = load_report(store, saved.report_id)
    assert loaded.title == "Learning rate study"
    assert loaded.blocks == _report().blocks
    assert loaded.created_at == saved.created_at


def test_update_and_list(store_location):
    store = tracking.open_store()
    first = save_report(store, Report("First", [MarkdownBlock("a")]))
    second = save_report(store, Report("Second", []))
    first.title = "First, edited"
    first.blocks.append(MarkdownBlock("b"))
    updated = save_report(store, first)

    assert updated.report_id == first.report_id
    assert [block.text for block in load_report(store, first.report_id).blocks] == [
        "a",
        "b",
    ]
    listed = list_reports(store)
    assert listed["report_id"].tolist() == [first.report_id, second.report_id]
    assert listed["title"].tolist() == ["First, edited", "Second"]


def test_delete_and_missing(store_location):
    store = tracking.open_store()
    saved = save_report(store, Report("Gone soon", []))
    delete_report(store, saved.report_id)
    assert list_reports(store).empty
    with pytest.raises(ReportError, match="not found in the store"):
        load_report(store, saved.report_id)
    with pytest.raises(ReportError, match="not found; it may be deleted already"):
        delete_report(store, saved.report_id)
    saved.title = "Back?"
    with pytest.raises(ReportError, match="not found; it may be deleted"):
        save_report(store, saved)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"type": "video"}, "block 1 has type 'video'; use one of markdown"),
        ({"type": "chart", "project": PROJECT, "metrics": []}, "metrics must be"),
        (
            {"type": "chart", "project": PROJECT, "metrics": ["a"], "smoothing": 1.5},
            r"smoothing must be in \[0, 1\)",
        ),
        (
            {"type": "run_table", "project": PROJECT, "filter": "open('x')"},
            "function calls are not supported",
        ),
        ({"type": "run_table", "project": ""}, "project must be a project name"),
        ({"type": "markdown", "text": "x", "colour": "red"}, "unexpected keyword"),
        ({"type": "run_table", "project": PROJECT, "limit": 0}, "limit must be"),
    ],
)
def test_invalid_blocks_rejected(block, message):
    with pytest.raises(ReportError, match=message):
        block_from_dict(block)


def test_block_dict_roundtrip():
    for block in _report().blocks:
        assert block_from_dict(block_to_dict(block)) == block


def test_blank_title_rejected(store_location):
    with pytest.raises(ReportError, match="needs a title"):
        save_report(tracking.open_store(), Report("   ", []))


def test_table_block_filters_sorts_and_limits(store_location):
    store = tracking.open_store()
    _make_runs(store)
    runs = store.runs(PROJECT)
    block = RunTableBlock(
        PROJECT,
        filter='summary.val_accuracy > 0.6 and state == "finished"',
        columns=["summary.val_accuracy", "config.lr"],
        sort_by="summary.val_accuracy",
        descending=True,
        limit=2,
    )
    table = table_block_data(store, block)

    kept = runs[(runs["summary.val_accuracy"] > 0.6) & (runs["state"] == "finished")]
    expected = kept.sort_values("summary.val_accuracy", ascending=False).head(2)
    assert table["name"].tolist() == expected["name"].tolist()
    assert list(table.columns) == ["name", "summary.val_accuracy", "config.lr"]


def test_chart_block_uses_filtered_runs(store_location):
    store = tracking.open_store()
    _make_runs(store)
    block = ChartBlock(
        PROJECT, ["loss"], filter='config.optimizer == "adam"', max_runs=2
    )
    frames = chart_block_data(store, block)
    loss = frames["loss"]
    # Newest first, adam runs are run-5, run-3 and run-1; max_runs keeps two.
    assert sorted(loss["run_id"].unique()) == ["run-3", "run-5"]
    reference = downsampled_history(store, PROJECT, ["run-5", "run-3"], ["loss"])
    merged = loss.merge(reference, on=["run_id", "step"], suffixes=("", "_ref"))
    assert len(merged) == len(reference) == 60
    assert (merged["value"] == merged["value_ref"]).all()
    assert (loss["run_name"] == loss["run_id"]).all()


def test_chart_block_groups_and_other_x(store_location):
    store = tracking.open_store()
    _make_runs(store)
    block = ChartBlock(PROJECT, ["loss"], group_by="config.optimizer", x_axis="epoch")
    grouped = chart_block_data(store, block)["loss"]
    assert set(grouped["group"]) == {"adam", "sgd"}
    assert sorted(grouped["x"].unique()) == [0.0, 1.0, 2.0]
    assert grouped["runs"].max() == 3


def test_chart_block_without_runs_is_empty(store_location):
    store = tracking.open_store()
    _make_runs(store, 2)
    frames = chart_block_data(
        store, ChartBlock(PROJECT, ["loss"], filter="config.lr > 5")
    )
    assert frames["loss"].empty
    assert isinstance(frames["loss"], pd.DataFrame)


def test_report_url(monkeypatch):
    monkeypatch.delenv("RUNLENS_APP_URL", raising=False)
    assert report_url("abc123") == "http://localhost:8501/Reports?report=abc123"
    monkeypatch.setenv("RUNLENS_APP_URL", "https://runlens.example.org/")
    assert report_url("abc123") == "https://runlens.example.org/Reports?report=abc123"
