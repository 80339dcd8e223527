"""The explorer chart never sends more than a few thousand marks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.chart_palette import CATEGORY_SCHEME, WIDE_CATEGORY_SCHEME
from analysis.explorer import (
    HISTOGRAM_BINS,
    MAX_COLOR_CATEGORIES,
    OTHER_LABEL,
    category_labels,
    explorer_chart,
)
from analysis.slices import MISSING_LABEL


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


@pytest.fixture
def outputs():
    """Model outputs as the explorer gets them: Categorical and nullable boolean."""
    rng = np.random.default_rng(7)
    n_rows = 5_000
    score = rng.random(n_rows)
    score[:40] = np.nan
    correct = pd.array(rng.random(n_rows) < 0.8, dtype="boolean")
    correct[rng.random(n_rows) < 0.05] = pd.NA
    return pd.DataFrame(
        {
            "row": np.arange(n_rows),
            "score": score,
            "prediction": pd.Categorical(
                rng.choice(["no", "yes", "maybe"], n_rows),
                categories=["no", "yes", "maybe", "never"],
            ),
            "correct": correct,
            "city": [f"c{i}" for i in rng.integers(0, 45, n_rows)],
        }
    )


def as_text(series: pd.Series) -> pd.Series:
    """Each value as text, and a missing value as the "(missing)" label."""
    return series.astype(object).map(str, na_action="ignore").fillna(MISSING_LABEL)


def test_histogram_matches_numpy_per_colour(outputs):
    """Check every bar against numpy's histogram of the rows of its colour."""
    counts = explorer_chart(outputs, x="score", color="correct").chart.data
    finite = outputs["score"].notna()
    edges = np.linspace(
        outputs["score"].min(), outputs["score"].max(), HISTOGRAM_BINS + 1
    )

    labels = as_text(outputs["correct"])
    for name in ("True", "False", MISSING_LABEL):
        values = outputs.loc[finite & (labels == name), "score"]
        expected, _ = np.histogram(values, bins=edges)
        drawn = counts[counts["correct"] == name].set_index("bin")["count"]
        result = drawn.reindex(range(HISTOGRAM_BINS), fill_value=0).to_numpy()
        np.testing.assert_array_equal(result, expected)
    assert counts["start"].tolist() == edges[counts["bin"]].tolist()


def test_bars_match_crosstab(outputs):
    """Check the stacked bars against pandas' crosstab of the two fields."""
    counts = explorer_chart(outputs, x="prediction", color="correct").chart.data

    expected = pd.crosstab(
        outputs["prediction"].astype(str), as_text(outputs["correct"])
    )
    result = counts.pivot(index="prediction", columns="correct", values="count")
    result = result.fillna(0).astype(int).loc[expected.index, expected.columns]
    np.testing.assert_array_equal(result.to_numpy(), expected.to_numpy())
    assert "never" not in set(counts["prediction"])


def test_bars_coloured_by_own_field(outputs):
    """Check one bar per value when the colour is the x axis itself."""
    counts = explorer_chart(outputs, x="city", color="city").chart.data

    # 45 cities: the 30 most frequent keep their name, the rest are "(other)".
    expected = category_labels(outputs["city"]).astype(str).value_counts()
    assert counts["city"].is_unique
    assert counts.set_index("city")["count"].to_dict() == expected.to_dict()
    assert len(counts) == 31


def test_grid_counts_and_top_colour_match_pandas(outputs):
    """Check each cell's rows, most common colour and share against pandas."""
    cells = explorer_chart(outputs, x="prediction", y="correct", color="city")
    data = cells.chart.data.set_index(["prediction", "correct"])

    # The colour keeps the 10 most frequent cities; the rest are "(other)".
    colours = category_labels(outputs["city"], limit=MAX_COLOR_CATEGORIES)
    colour_order = list(colours.cat.categories)
    frame = pd.DataFrame(
        {
            "prediction": outputs["prediction"].astype(str),
            "correct": as_text(outputs["correct"]),
            "city": colours.astype(str),
        }
    )
    assert len(data) == frame.groupby(["prediction", "correct"]).ngroups
    for (prediction, right), group in frame.groupby(["prediction", "correct"]):
        city_counts = group["city"].value_counts()
        tied = city_counts[city_counts == city_counts.max()].index
        first = min(tied, key=colour_order.index)
        cell = data.loc[(prediction, right)]
        assert cell["count"] == len(group)
        assert cell["city"] == first
        assert cell["share"] == pytest.approx(city_counts.max() / len(group))


def test_grid_tie_goes_to_first_colour():
    """Check that a tied cell takes the colour listed first, the most frequent."""
    data = pd.DataFrame(
        {
            "row": range(7),
            "x": ["A", "A", "A", "A", "B", "B", "B"],
            "c": ["red", "red", "blue", "blue", "blue", "blue", "blue"],
        }
    )

    cells = explorer_chart(data, x="x", y="x", color="c").chart.data.set_index("x")

    # blue has 5 rows in all and red 2, so blue comes first in colour order.
    assert cells.loc["A", "c"] == "blue"
    assert cells.loc["A", "share"] == 0.5


def test_scatter_points_are_the_sampled_rows(outputs):
    """Check each drawn point's values against its row in the data."""
    view = explorer_chart(
        outputs, x="city", y="score", color="prediction", max_points=500
    )
    points = view.chart.data.set_index("row")
    rows = points.index.to_numpy()

    city = category_labels(outputs["city"]).astype(str).to_numpy()
    np.testing.assert_array_equal(points["city"].to_numpy(), city[rows])
    np.testing.assert_array_equal(
        points["score"].to_numpy(), outputs["score"].to_numpy()[rows]
    )
    assert points["prediction"].tolist() == (
        outputs["prediction"].astype(str).to_numpy()[rows].tolist()
    )
    assert view.n_marks == 500


@pytest.mark.parametrize(
    "fields",
    [
        {"x": "score", "y": "city", "color": "correct"},
        {"x": "score", "color": "city"},
        {"x": "city", "color": "prediction"},
        {"x": "city", "y": "score", "y_buckets": 50, "color": "city"},
    ],
)
def test_marks_bounded_at_many_rows(fields):
    """Check that 200,000 rows give at most a few thousand marks."""
    rng = np.random.default_rng(0)
    n_rows = 200_000
    data = pd.DataFrame(
        {
            "row": np.arange(n_rows),
            "score": rng.random(n_rows),
            "city": rng.integers(0, 5_000, n_rows).astype(str),
            "prediction": pd.Categorical(rng.choice(["a", "b"], n_rows)),
            "correct": pd.array(rng.random(n_rows) < 0.5, dtype="boolean"),
        }
    )

    view = explorer_chart(data, **fields)

    assert view.n_marks == len(view.chart.data)
    assert view.n_marks <= 3_000


def test_category_colours_contrast(data):
    """Check the categorical scheme for a nominal colour and its wide variant."""
    spec = explorer_chart(data, x="age", y="score", color="sex").chart.to_dict()
    assert spec["encoding"]["color"]["scale"] == {"scheme": CATEGORY_SCHEME}
    wide = explorer_chart(data, x="age", y="score", color="city").chart.to_dict()
    assert wide["encoding"]["color"]["scale"] == {"scheme": WIDE_CATEGORY_SCHEME}
