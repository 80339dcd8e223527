"""Tables with a CSV download whose formula cells are escaped."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import streamlit as st

from analysis.export import to_csv_bytes

logger = logging.getLogger(__name__)

# Percentages from 0 to 100, shown as "45.6%".
PERCENT_FORMAT = st.column_config.NumberColumn(format="%.1f%%")
# Slice names of two features, such as "Female / Black", need more than the
# default width, which cut them after "Female /".
SLICE_COLUMN = st.column_config.TextColumn(width="large")


def rounded_percents(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Return a copy with percentage ``columns`` rounded to one decimal, as shown.

    The rounding also applies to the CSV download, so it matches the table.
    """
    return frame.assign(**{name: frame[name].round(1) for name in columns})


def table_with_download(
    frame: pd.DataFrame, *, key: str, file_name: str, **dataframe_options: Any
) -> None:
    """Draw ``frame`` and a button that downloads it as formula-safe CSV.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table small enough to send to the browser: aggregated results, or a
        page of rows.
    key : str
        Key of the table; the button's key is ``key + "_csv"``.
    file_name : str
        Name of the downloaded file.
    **dataframe_options
        Passed to ``st.dataframe``, such as ``column_config``. A ``slice``
        column is drawn wide unless ``column_config`` sets it.
    """
    dataframe_options.setdefault("hide_index", True)
    if "slice" in frame.columns:
        config = dict(dataframe_options.get("column_config") or {})
        config.setdefault("slice", SLICE_COLUMN)
        dataframe_options["column_config"] = config
    st.dataframe(frame, key=key, **dataframe_options)
    st.download_button(
        "Download CSV",
        to_csv_bytes(frame),
        file_name=file_name,
        mime="text/csv",
        key=f"{key}_csv",
        on_click="ignore",
    )
