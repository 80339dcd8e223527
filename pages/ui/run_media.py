"""The Media section of the Runs page's run details.

Images are shown as images, tables as dataframes and histograms as bar
charts, one key after another, with a step slider for keys logged at several
steps.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.run_charts import histogram_chart
from analysis.run_media import histogram_frame, media_by_key, pointer_label
from tracking import RunStore, StoreError
from tracking.media import Histogram, Image, Table, load_media


def media_section(store: RunStore, project: str, run_id: str) -> None:
    """Draw each media key of a run at its latest step, or the step chosen."""
    by_key = media_by_key(store.media(project, run_id))
    if not by_key:
        st.write("This run logged no images, tables or histograms.")
        return
    for key, rows in by_key.items():
        st.markdown(f"**{key}**")
        row = _chosen_row(rows, f"media_step_{run_id}_{key}")
        pointer = row["pointer"]
        st.caption(f"step {int(row['step'])} · {pointer_label(pointer)}")
        try:
            media = load_media(store.artifact_root, pointer)
        except (StoreError, OSError, ValueError) as exc:
            st.error(
                f"The {pointer_label(pointer)} logged as {key!r} was not read: {exc}"
            )
            continue
        _show(media, key)


def _chosen_row(rows: pd.DataFrame, widget_key: str) -> pd.Series:
    """Return the latest row, or the one of the step picked on a slider."""
    steps = [int(step) for step in rows["step"]]
    if len(steps) == 1:
        return rows.iloc[0]
    step = st.select_slider("Step", options=steps, value=steps[-1], key=widget_key)
    return rows.iloc[steps.index(step)]


def _show(media: Histogram | Image | Table, key: str) -> None:
    if isinstance(media, Image):
        st.image(media.image, caption=media.caption)
    elif isinstance(media, Table):
        st.dataframe(media.get_dataframe(), hide_index=True)
    else:
        st.altair_chart(histogram_chart(histogram_frame(media), key), width="stretch")
