"""Paging and column choice for the runs table."""

from __future__ import annotations

import pandas as pd
import pytest

from tracking.table_view import page_count, page_rows, select_columns


def test_page_count():
    assert page_count(0, 25) == 1
    assert page_count(25, 25) == 1
    assert page_count(26, 25) == 2
    assert page_count(10_000, 100) == 100
    with pytest.raises(ValueError, match="page_size must be at least 1"):
        page_count(5, 0)


def test_pages_cover_every_row_once():
    table = pd.DataFrame({"run_id": [f"r{i}" for i in range(103)]})
    pages = [page_rows(table, page, 25) for page in range(1, page_count(103, 25) + 1)]
    assert [len(page) for page in pages] == [25, 25, 25, 25, 3]
    assert pd.concat(pages)["run_id"].tolist() == table["run_id"].tolist()
    with pytest.raises(ValueError, match="page must be between 1 and 5, got 6"):
        page_rows(table, 6, 25)


def test_select_columns_keeps_keys_and_order():
    table = pd.DataFrame(
        columns=["name", "state", "run_id", "config.lr", "summary.acc"]
    )
    chosen = select_columns(table, ["summary.acc", "state", "config.missing"])
    assert list(chosen.columns) == ["name", "state", "run_id", "summary.acc"]
    assert list(select_columns(table, None).columns) == list(table.columns)
