"""Labels and plot frames for a run's logged images, tables and histograms."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.run_media import (
    histogram_frame,
    media_by_key,
    pointer_label,
    summary_for_display,
)
from tracking.media import Histogram


def test_pointer_labels_give_shape():
    image = {"_type": "image-file", "path": "p", "width": 28, "height": 14}
    table = {"_type": "table-file", "path": "p", "nrows": 10, "ncols": 3}
    histogram = {"_type": "histogram", "path": "p", "num_bins": 64}
    assert pointer_label(image) == "image 28x14"
    assert pointer_label(table) == "table 10x3"
    assert pointer_label(histogram) == "histogram 64 bins"
    assert pointer_label({"_type": "image-file"}) == "image"


def test_summary_display_replaces_pointers():
    summary = {
        "loss": 0.5,
        "samples": {"_type": "table-file", "path": "p", "nrows": 10, "ncols": 3},
        "nested": {"pic": {"_type": "image-file", "width": 2, "height": 3}},
        "plain": {"a": 1},
    }
    assert summary_for_display(summary) == {
        "loss": 0.5,
        "samples": "table 10x3",
        "nested": {"pic": "image 2x3"},
        "plain": {"a": 1},
    }


def test_media_by_key_orders_steps_keeps_last():
    media = pd.DataFrame(
        {
            "key": ["img", "hist", "img", "img"],
            "step": [2, 0, 0, 2],
            "type": ["image-file", "histogram", "image-file", "image-file"],
            "pointer": [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}],
            "timestamp": [1.0, 2.0, 3.0, 4.0],
        }
    )
    by_key = media_by_key(media)
    assert list(by_key) == ["hist", "img"]
    assert by_key["img"]["step"].tolist() == [0, 2]
    assert by_key["img"]["pointer"].tolist() == [{"n": 3}, {"n": 4}]
    assert media_by_key(media.iloc[0:0]) == {}


def test_histogram_frame_matches_numpy():
    values = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 4.0])
    counts, edges = np.histogram(values, bins=4)
    frame = histogram_frame(Histogram(values, num_bins=4))
    assert frame["count"].tolist() == counts.tolist()
    assert frame["start"].tolist() == edges[:-1].tolist()
    assert frame["end"].tolist() == edges[1:].tolist()
