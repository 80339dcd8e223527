"""CSV export of tables, safe to open in a spreadsheet.

A spreadsheet that opens a CSV runs a cell that begins with ``=``, ``+``, ``-`` or
``@`` as a formula, so a crafted value in an uploaded dataset could run a command
on the machine of the person who opens the export (CSV or formula injection, as
described by OWASP). Text cells that begin with one of those characters get a leading
apostrophe, which spreadsheets read as "show as text". Numeric columns are left
as they are: a negative number is not a formula.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

FORMULA_PREFIXES = ("=", "+", "-", "@")
ESCAPE_PREFIX = "'"


def escape_cell(value: Any) -> Any:
    """Prefix a text value that a spreadsheet would run as a formula.

    Parameters
    ----------
    value : object
        One cell. Only ``str`` values are changed.

    Returns
    -------
    object
        ``"'" + value`` when ``value`` is text that begins with ``=``, ``+``,
        ``-`` or ``@``, else ``value`` unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return ESCAPE_PREFIX + value
    return value


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` whose text cells and header are formula-safe.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any table. Columns of a numeric, boolean or datetime dtype are copied
        unchanged. Every other column is escaped cell by cell with
        :func:`escape_cell`, and so are the column names.

    Returns
    -------
    pandas.DataFrame
    """
    columns = []
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if not _is_plain_data(column):
            # Object dtype, so categorical and string columns accept the escaped text.
            column = column.astype(object).map(escape_cell)
        columns.append(column.reset_index(drop=True))
    escaped = pd.concat(columns, axis=1, ignore_index=True) if columns else frame.copy()
    escaped.index = frame.index
    escaped.columns = [escape_cell(str(name)) for name in frame.columns]
    return escaped


def to_csv_bytes(frame: pd.DataFrame, *, index: bool = False) -> bytes:
    """Write ``frame`` as UTF-8 CSV with formula cells escaped.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to export.
    index : bool, default False
        Write the index as the first column; its values are escaped too.

    Returns
    -------
    bytes
    """
    table = frame.reset_index() if index else frame
    return escape_formulas(table).to_csv(index=False).encode("utf-8")


def _is_plain_data(column: pd.Series) -> bool:
    dtype = column.dtype
    return (
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
    )
