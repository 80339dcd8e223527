"""Filtering and shaping the runs table that the store returns."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

# Columns shown before the config and summary columns, in this order.
RUN_TABLE_COLUMNS = ["name", "state", "created_at", "duration", "tags", "run_id"]


def filter_runs(
    runs: pd.DataFrame,
    *,
    states: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
    text: str | None = None,
) -> pd.DataFrame:
    """Keep the runs that match every filter given.

    Parameters
    ----------
    runs : DataFrame
        As returned by :meth:`tracking.RunStore.runs`.
    states : iterable of str, optional
        Keep runs in any of these states; empty or None keeps all.
    tags : iterable of str, optional
        Keep runs carrying every one of these tags.
    text : str, optional
        Keep runs whose name, id, notes, group or tags contain it, ignoring case.
    """
    keep = pd.Series(True, index=runs.index)
    states = list(states or [])
    if states:
        keep &= runs["state"].isin(states)

    wanted = set(tags or [])
    if wanted:
        keep &= runs["tags"].map(lambda run_tags: wanted.issubset(run_tags or []))

    if text:
        needle = text.strip().lower()
        haystack = (
            runs["name"].astype(str)
            + " "
            + runs["run_id"].astype(str)
            + " "
            + runs["notes"].fillna("").astype(str)
            + " "
            + runs["group"].fillna("").astype(str)
            + " "
            + runs["tags"].map(lambda run_tags: " ".join(run_tags or []))
        ).str.lower()
        keep &= haystack.str.contains(needle, regex=False)
    return runs[keep]


def all_tags(runs: pd.DataFrame) -> list[str]:
    """Return every tag used by the runs, sorted."""
    return sorted({tag for run_tags in runs["tags"] for tag in (run_tags or [])})


def run_table(runs: pd.DataFrame, sort_by: str | None = None, ascending: bool = True):
    """Return the runs table for display: main columns, then config and summary.

    ``duration`` is in seconds. ``sort_by`` names any column of the result.
    """
    config_columns = sorted(c for c in runs.columns if c.startswith("config."))
    summary_columns = sorted(c for c in runs.columns if c.startswith("summary."))
    table = runs[RUN_TABLE_COLUMNS + config_columns + summary_columns].copy()
    table["tags"] = table["tags"].map(lambda run_tags: ", ".join(run_tags or []))
    for column in config_columns + summary_columns:
        table[column] = _displayable(table[column])
    if sort_by is not None:
        if sort_by not in table.columns:
            raise ValueError(
                f"cannot sort by {sort_by!r}; choose one of {list(table.columns)}"
            )
        table = table.sort_values(sort_by, ascending=ascending, na_position="last")
    return table.reset_index(drop=True)


def _displayable(column: pd.Series) -> pd.Series:
    """Return a column that Arrow can show: mixed or oversized values become text.

    A column of numbers that fit a float stays numeric. Anything else (lists,
    dicts, mixed types, integers too large for int64) is shown as its text.
    """
    if column.dtype != object:
        return column
    values = column.dropna()
    if values.map(lambda value: isinstance(value, bool)).all():
        return column
    numbers = values.map(lambda value: isinstance(value, int | float))
    if numbers.all():
        try:
            return pd.to_numeric(column, errors="raise").astype("float64")
        except (OverflowError, ValueError, TypeError):
            pass
    return column.map(lambda value: None if _is_missing(value) else str(value))


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)
