"""The datapoint editor: typed edits of one row, kept apart from the dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

# Categorical widgets list at most this many values, by count; the row's own
# value is always added.
MAX_CATEGORY_OPTIONS = 200


def is_numeric_feature(series: pd.Series) -> bool:
    """Return True for int and float columns (booleans count as categorical)."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(
        series
    )


def category_options(series: pd.Series, current: Any) -> list[Any]:
    """Return the values a categorical widget offers: top values plus ``current``."""
    counts = series.value_counts(dropna=True)
    options = counts.index[:MAX_CATEGORY_OPTIONS].tolist()
    if not _is_missing(current) and current not in options:
        options.append(current)
    return options


def edited_row(
    frame: pd.DataFrame, position: int, edits: Mapping[str, Any]
) -> pd.DataFrame:
    """Return row ``position`` as a one-row frame with ``edits`` applied.

    Each column keeps the dataset's dtype, so the model receives the same types
    as in the dataset: an integer column gets an integer, a text column text.
    ``None`` or NaN in ``edits`` makes the value missing. Raises ``ValueError``
    naming the column when a value does not fit its type.
    """
    if not 0 <= position < len(frame):
        raise IndexError(
            f"row {position} is out of range: the data has {len(frame)} rows"
        )
    row = frame.iloc[[position]].reset_index(drop=True)
    for column, value in edits.items():
        if column not in row.columns:
            raise KeyError(f"cannot edit {column!r}: it is not a column of the data")
        row[column] = _typed_value(frame[column], column, value)
    return row


def _typed_value(series: pd.Series, column: str, value: Any) -> pd.Series:
    if _is_missing(value):
        if pd.api.types.is_integer_dtype(series):
            return pd.Series([np.nan], dtype="float64")
        return pd.Series([None], dtype=series.dtype)
    if is_numeric_feature(series):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"column {column!r} contains numbers; {value!r} is not a number"
            ) from None
        if pd.api.types.is_integer_dtype(series):
            if not number.is_integer():
                raise ValueError(
                    f"column {column!r} contains whole numbers; {value!r} is not one"
                )
            return pd.Series([int(number)], dtype=series.dtype)
        return pd.Series([number], dtype=series.dtype)
    return pd.Series([value], dtype=series.dtype)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def changed_features(
    frame: pd.DataFrame, position: int, row: pd.DataFrame
) -> list[str]:
    """Return the columns whose value in ``row`` differs from the dataset's row."""
    original = frame.iloc[position]
    edited = row.iloc[0]
    changed = []
    for column in frame.columns:
        before, after = original[column], edited[column]
        if _is_missing(before) and _is_missing(after):
            continue
        if pd.isna(before) != pd.isna(after) or before != after:
            changed.append(column)
    return changed
