"""The explorer chart never sends more than a few thousand marks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.explorer import OTHER_LABEL, category_labels, explorer_chart


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    n_rows = 20_000
    return pd.DataFrame(
        {
            "row": np.arange(n_rows),
            "age": rng.integers(17, 90, n_rows),
            "score": rng.random(n_rows),
            "sex": rng.choice(["Female", "Male"], n_rows),
            "city": [f"c{i}" for i in rng.integers(0, 80, n_rows)],
        }
    )


def _marks(view) -> int:
    return len(view.chart.data)


def test_scatter_sampled_with_highlight(data):
    """Check the sample size, its seed and that the selected row is in it."""
    view = explorer_chart(data, x="age", y="score", color="sex", highlight=12_345)
    assert view.kind == "scatter"
    assert view.sampled
    assert _marks(view) == 3000
    points = view.chart.data
    assert 12_345 in set(points["row"])
    assert points.loc[points["row"] == 12_345, "selected"].all()
    again = explorer_chart(data, x="age", y="score", color="sex", highlight=12_345)
    assert points["row"].tolist() == again.chart.data["row"].tolist()


def test_histogram_counts(data):
    """Check that histogram bars add up to the rows, per colour."""
    view = explorer_chart(data, x="score", color="sex")
    counts = view.chart.data
    assert view.kind == "histogram"
    assert len(counts) <= 60
    totals = counts.groupby("sex")["count"].sum()
    assert totals.to_dict() == data["sex"].value_counts().to_dict()


def test_bars_of_bucketed_number(data):
    """Check that 4 buckets of a numeric axis give 4 bars over every row."""
    view = explorer_chart(data, x="age", x_buckets=4)
    counts = view.chart.data.set_index("age")["count"]
    assert view.kind == "bars"
    assert counts.sum() == len(data)
    assert len(counts) == 4


def test_grid_of_two_categories(data):
    """Check one circle per pair of values, sized by its rows."""
    view = explorer_chart(data, x="sex", y="city")
    cells = view.chart.data
    assert view.kind == "grid"
    assert len(cells) <= 2 * 31
    assert cells["count"].sum() == len(data)


def test_grid_majority_colour():
    """Check each cell's most common colour and its share, counted by hand."""
    data = pd.DataFrame(
        {
            "row": range(4),
            "x": ["A", "A", "A", "B"],
            "y": ["u", "u", "u", "u"],
            "c": ["red", "red", "green", "green"],
        }
    )
    cells = explorer_chart(data, x="x", y="y", color="c").chart.data.set_index("x")
    assert cells.loc["A", "c"] == "red"
    assert cells.loc["A", "share"] == pytest.approx(2 / 3)
    assert cells.loc["A", "count"] == 3
    assert cells.loc["B", "c"] == "green"
    assert cells.loc["B", "share"] == 1.0


def test_category_labels_other_and_missing():
    """Check the most frequent values kept, the rest "(other)", missing last."""
    series = pd.Series(["a", "a", "a", "b", "b", "c", None])
    labels = category_labels(series, limit=2)
    assert list(labels.cat.categories) == ["a", "b", OTHER_LABEL, "(missing)"]
    assert labels.astype(str).tolist() == [
        "a",
        "a",
        "a",
        "b",
        "b",
        OTHER_LABEL,
        "(missing)",
    ]


def test_unknown_column_rejected(data):
    """Check the message naming a missing column."""
    with pytest.raises(ValueError, match="'height'"):
        explorer_chart(data, x="height")
