"""Paging and column choice for the runs table shown in the app."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import pandas as pd

logger = logging.getLogger(__name__)

PAGE_SIZES = (25, 50, 100, 250)
# Shown whatever columns are chosen, so that every row can be identified.
KEY_COLUMNS = ("name", "run_id")


def page_count(rows: int, page_size: int) -> int:
    """Return how many pages ``rows`` fill; an empty table has one page."""
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, got {page_size}")
    return max(1, math.ceil(rows / page_size))


def page_rows(table: pd.DataFrame, page: int, page_size: int) -> pd.DataFrame:
    """Return page ``page`` (1-based) of ``table``.

    Raises
    ------
    ValueError
        When ``page`` is not between 1 and :func:`page_count`.
    """
    pages = page_count(len(table), page_size)
    if not 1 <= page <= pages:
        raise ValueError(f"page must be between 1 and {pages}, got {page}")
    start = (page - 1) * page_size
    return table.iloc[start : start + page_size]


def select_columns(table: pd.DataFrame, columns: Sequence[str] | None) -> pd.DataFrame:
    """Keep the key columns and the chosen ones, in the table's order.

    ``None`` keeps every column. Names the table lacks are ignored, so a saved
    choice survives switching to a project without those keys.
    """
    if columns is None:
        return table
    keep = set(columns) | set(KEY_COLUMNS)
    return table[[column for column in table.columns if column in keep]]
