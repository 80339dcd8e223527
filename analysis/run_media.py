"""Short labels and plot frames for the media a run logged.

``run.log`` stores images, tables and histograms as files and keeps a pointer
dict in the summary and the media table; see :mod:`tracking.media`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from tracking.media import HISTOGRAM, IMAGE, TABLE, Histogram, is_pointer


def pointer_label(pointer: Mapping[str, Any]) -> str:
    """Describe a media pointer in a few words, such as ``image 28x28``.

    Images give width x height, tables rows x columns and histograms their
    bin count; a pointer missing those fields gives only its kind.
    """
    kind = pointer.get("_type")
    if kind == IMAGE and "width" in pointer and "height" in pointer:
        return f"image {pointer['width']}x{pointer['height']}"
    if kind == TABLE and "nrows" in pointer and "ncols" in pointer:
        return f"table {pointer['nrows']}x{pointer['ncols']}"
    if kind == HISTOGRAM and "num_bins" in pointer:
        return f"histogram {pointer['num_bins']} bins"
    return {IMAGE: "image", TABLE: "table", HISTOGRAM: "histogram"}.get(kind, str(kind))


def summary_for_display(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``summary`` with every media pointer, nested ones too, as its label."""
    shown: dict[str, Any] = {}
    for key, value in summary.items():
        if is_pointer(value):
            shown[key] = pointer_label(value)
        elif isinstance(value, Mapping):
            shown[key] = summary_for_display(value)
        else:
            shown[key] = value
    return shown


def media_by_key(media: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split a run's media rows by key, one row a step in step order.

    ``media`` is the frame of :meth:`tracking.RunStore.media`. When a key was
    logged twice at one step, the later row is kept, as the history does.
    """
    if media.empty:
        return {}
    rows = media.drop_duplicates(["key", "step"], keep="last")
    return {
        str(key): group.sort_values("step").reset_index(drop=True)
        for key, group in rows.groupby("key", sort=True)
    }


def histogram_frame(histogram: Histogram) -> pd.DataFrame:
    """Return one row a bin: ``start``, ``end`` and ``count``."""
    return pd.DataFrame(
        {
            "start": histogram.bins[:-1],
            "end": histogram.bins[1:],
            "count": histogram.histogram,
        }
    )
