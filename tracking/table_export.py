"""CSV export of the runs table, safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula, so a run name or config value such as ``=HYPERLINK(...)`` could act
when the file is opened (CSV injection). Such text cells get a leading single
quote, which spreadsheets show as text. Tab and carriage return, which some
spreadsheets also read as a formula start, are escaped the same way. Numbers
stay numbers: ``-0.5`` in a numeric column is written as it is.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    """Prefix text that a spreadsheet would read as a formula with ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def table_to_csv(table: pd.DataFrame) -> str:
    """Return the table as CSV text with formula-like text cells escaped.

    Column names are escaped too, since a config key can start with ``-``.
    Lists (such as tags) are written joined by ``", "``.
    """
    data = table.copy()
    for column in data.columns:
        if data[column].dtype == object or pd.api.types.is_string_dtype(data[column]):
            data[column] = data[column].map(_cell_text)
    data.columns = [escape_cell(str(column)) for column in data.columns]
    return data.to_csv(index=False)


def _cell_text(value: Any) -> Any:
    if isinstance(value, list | tuple):
        value = ", ".join(str(item) for item in value)
    return escape_cell(value)
