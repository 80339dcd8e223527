"""The datapoints explorer: every row as a point, sampled or binned for the browser.

An Altair chart embeds its data, and inside Streamlit nothing caps its size, so the
builder here never sends more than about ``max_points`` marks:

* two numeric axes, or one numeric and one categorical axis: a scatter plot of a
  seeded random sample of at most ``max_points`` rows, the selected row always
  among them. A categorical axis spreads its points with a seeded jitter.
* one numeric axis alone: a histogram of ``HISTOGRAM_BINS`` equal-width bins;
* one categorical axis alone: one bar per category;
* two categorical axes: one circle per pair of categories, sized by its row count
  and coloured by its most common colour value.

Bars are stacked by the colour field. A numeric axis becomes categorical when it
is cut into buckets, and a categorical field keeps its ``MAX_CATEGORIES`` most
frequent values, the rest joining ``"(other)"``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd

from analysis.chart_palette import category_scale
from analysis.editor import is_numeric_feature
from analysis.slices import MISSING_LABEL, slice_labels

logger = logging.getLogger(__name__)

MAX_POINTS = 3000
MAX_CATEGORIES = 30
MAX_COLOR_CATEGORIES = 10
HISTOGRAM_BINS = 30
COLOR_BUCKETS = 5
OTHER_LABEL = "(other)"
ROW_COLUMN = "row"
SELECTION_NAME = "picked"


@dataclass(frozen=True)
class ExplorerView:
    """A chart of the explorer and what it shows.

    Attributes
    ----------
    chart : altair.Chart
        The chart, with a point selection named ``"picked"`` on the row id
        when it is a scatter plot.
    kind : {"scatter", "histogram", "bars", "grid"}
    n_rows : int
        Rows in the data.
    n_marks : int
        Rows of the chart's data, one per mark.
    sampled : bool
        Whether a scatter plot shows a sample of the rows.
    note : str
        A sentence saying what each mark is.
    """

    chart: alt.Chart
    kind: str
    n_rows: int
    n_marks: int
    sampled: bool
    note: str


def explorer_chart(
    data: pd.DataFrame,
    *,
    x: str,
    y: str | None = None,
    color: str | None = None,
    x_buckets: int | None = None,
    y_buckets: int | None = None,
    highlight: int | None = None,
    max_points: int = MAX_POINTS,
    random_state: int = 0,
) -> ExplorerView:
    """Build the explorer chart of ``x`` against ``y``, coloured by ``color``.

    Parameters
    ----------
    data : pandas.DataFrame
        One line per row, with a ``row`` column (the row id) and the columns
        named by ``x``, ``y`` and ``color``.
    x : str
        Column on the x axis.
    y : str, optional
        Column on the y axis; None draws counts.
    color : str, optional
        Column that colours the marks.
    x_buckets, y_buckets : int, optional
        Cut a numeric axis into this many equal-width buckets, as slices are.
    highlight : int, optional
        Row id drawn larger, such as the row open in the datapoint editor.
    max_points : int, default 3000
        Largest number of scatter points.
    random_state : int, default 0
        Seed of the sample and the jitter.

    Returns
    -------
    ExplorerView
    """
    needed = [ROW_COLUMN, x, *(name for name in (y, color) if name)]
    missing = [name for name in needed if name not in data.columns]
    if missing:
        raise ValueError(
            f"the explorer data has no column(s) {', '.join(map(repr, missing))}"
        )
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points}")

    x_numeric = is_numeric_feature(data[x]) and x_buckets is None
    y_numeric = y is not None and is_numeric_feature(data[y]) and y_buckets is None
    if y is None:
        if x_numeric:
            return _histogram(data, x, color)
        return _bars(data, x, x_buckets, color)
    if not x_numeric and not y_numeric:
        return _grid(data, x, x_buckets, y, y_buckets, color)
    return _scatter(
        data,
        x,
        y,
        color,
        x_buckets=None if x_numeric else x_buckets,
        y_buckets=None if y_numeric else y_buckets,
        x_numeric=x_numeric,
        y_numeric=y_numeric,
        highlight=highlight,
        max_points=max_points,
        random_state=random_state,
    )


def category_labels(
    series: pd.Series, *, n_buckets: int | None = None, limit: int = MAX_CATEGORIES
) -> pd.Series:
    """Label each value for a categorical axis or colour.

    Parameters
    ----------
    series : pandas.Series
        The column.
    n_buckets : int, optional
        Cut a numeric column into this many equal-width buckets.
    limit : int, default 30
        Keep this many most frequent labels; the others become ``"(other)"``.
        Buckets are never merged.

    Returns
    -------
    pandas.Series
        Ordered categorical labels with the index of ``series``: buckets in
        value order, or values by decreasing count, then ``"(other)"`` and
        ``"(missing)"``.
    """
    if n_buckets is not None and is_numeric_feature(series):
        return slice_labels(series, n_buckets=n_buckets)

    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    by_count = np.argsort(-counts, kind="stable")
    names: dict[str, int] = {}
    unique_codes = np.empty(len(uniques), dtype=np.int64)
    for rank, unique in enumerate(by_count):
        # Values whose text is equal, such as 1 and "1", share one label.
        name = str(uniques[unique]) if rank < limit else OTHER_LABEL
        unique_codes[unique] = names.setdefault(name, len(names))

    label_codes = np.where(codes >= 0, unique_codes[np.maximum(codes, 0)], -1)
    categories = list(names)
    if (codes < 0).any():
        categories.append(MISSING_LABEL)
        label_codes = np.where(codes >= 0, label_codes, len(categories) - 1)
    labels = pd.Categorical.from_codes(label_codes, categories=categories, ordered=True)
    return pd.Series(labels, index=series.index, name=series.name)


@dataclass(frozen=True)
class _Labels:
    """Category labels of every row as codes into their names, in axis order."""

    codes: np.ndarray
    names: list[str]

    def at(self, positions: np.ndarray) -> np.ndarray:
        """Return the label names of the rows at ``positions``."""
        return np.asarray(self.names, dtype=object)[self.codes[positions]]


def _labels(
    series: pd.Series, *, n_buckets: int | None = None, limit: int = MAX_CATEGORIES
) -> _Labels:
    labels = category_labels(series, n_buckets=n_buckets, limit=limit)
    # category_labels gives every row a category, "(missing)" included, so no
    # code is -1.
    return _Labels(
        codes=labels.cat.codes.to_numpy(dtype=np.int64),
        names=[str(name) for name in labels.cat.categories],
    )


def _color_labels(
    data: pd.DataFrame, color: str | None, axes: dict[str, _Labels] | None = None
) -> _Labels | None:
    """Label the colour field, reusing an axis's labels when it is that field."""
    if color is None:
        return None
    if axes and color in axes:
        return axes[color]
    numeric = is_numeric_feature(data[color])
    return _labels(
        data[color],
        n_buckets=COLOR_BUCKETS if numeric else None,
        limit=MAX_COLOR_CATEGORIES,
    )


def _color_encoding(color: str | None, labels: _Labels | None) -> alt.Color:
    if color is None:
        return alt.Undefined
    if labels is None:
        return alt.Color(f"{color}:Q", title=color)
    return alt.Color(
        f"{color}:N",
        title=color,
        sort=labels.names,
        scale=category_scale(labels.names),
    )


def _count_combinations(
    codes: list[np.ndarray], sizes: list[int]
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Count the rows of each combination of codes that occurs.

    Returns the codes of each occurring combination, one array per input, in
    lexicographic order, and the row count of each.
    """
    flat = np.zeros(len(codes[0]), dtype=np.int64)
    for column, size in zip(codes, sizes, strict=True):
        flat = flat * size + column
    counts = np.bincount(flat, minlength=int(np.prod(sizes)))
    occurring = np.flatnonzero(counts)
    return np.unravel_index(occurring, sizes), counts[occurring]


def _histogram(data: pd.DataFrame, x: str, color: str | None) -> ExplorerView:
    values = data[x].to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(values)
    if finite.any():
        low, high = float(values[finite].min()), float(values[finite].max())
    else:
        low, high = 0.0, 1.0
    if low == high:
        high = low + 1.0
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    bins = np.clip(
        np.searchsorted(edges, values[finite], side="right") - 1,
        0,
        HISTOGRAM_BINS - 1,
    )

    labels = _color_labels(data, color)
    if labels is None:
        (bin_codes,), row_counts = _count_combinations([bins], [HISTOGRAM_BINS])
        counts = pd.DataFrame({"bin": bin_codes})
    else:
        (bin_codes, color_codes), row_counts = _count_combinations(
            [bins, labels.codes[finite]], [HISTOGRAM_BINS, len(labels.names)]
        )
        counts = pd.DataFrame(
            {
                "bin": bin_codes,
                color: np.asarray(labels.names, dtype=object)[color_codes],
            }
        )
    counts["count"] = row_counts
    counts["start"] = edges[bin_codes]
    counts["end"] = edges[bin_codes + 1]

    tooltip = [
        alt.Tooltip("start:Q", title=f"{x} from", format=",.4g"),
        alt.Tooltip("end:Q", title="to", format=",.4g"),
        alt.Tooltip("count:Q", title="Rows", format=","),
    ]
    if color:
        tooltip.insert(0, alt.Tooltip(f"{color}:N", title=color))
    chart = (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("start:Q", bin="binned", title=x),
            x2="end:Q",
            y=alt.Y("count:Q", title="Rows", stack=True),
            color=_color_encoding(color, labels),
            tooltip=tooltip,
        )
    )
    skipped = int((~finite).sum())
    note = f"Rows per bin of {x}"
    if skipped:
        note += f"; {skipped:,} rows with a missing or infinite {x} are not drawn"
    return ExplorerView(chart, "histogram", len(data), len(counts), False, note + ".")


def _bars(
    data: pd.DataFrame, x: str, x_buckets: int | None, color: str | None
) -> ExplorerView:
    x_labels = _labels(data[x], n_buckets=x_buckets)
    names = np.asarray(x_labels.names, dtype=object)
    labels = _color_labels(data, color, {x: x_labels})
    if labels is None:
        (x_codes,), row_counts = _count_combinations(
            [x_labels.codes], [len(x_labels.names)]
        )
        counts = pd.DataFrame({x: names[x_codes]})
    else:
        (x_codes, color_codes), row_counts = _count_combinations(
            [x_labels.codes, labels.codes], [len(x_labels.names), len(labels.names)]
        )
        counts = pd.DataFrame(
            {
                x: names[x_codes],
                color: np.asarray(labels.names, dtype=object)[color_codes],
            }
        )
    counts["count"] = row_counts

    tooltip = [alt.Tooltip(f"{x}:N", title=x), alt.Tooltip("count:Q", format=",")]
    if color:
        tooltip.insert(1, alt.Tooltip(f"{color}:N", title=color))
    chart = (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:N", title=x, sort=x_labels.names),
            y=alt.Y("count:Q", title="Rows", stack=True),
            color=_color_encoding(color, labels),
            tooltip=tooltip,
        )
    )
    return ExplorerView(
        chart, "bars", len(data), len(counts), False, f"Rows per value of {x}."
    )


def _grid(
    data: pd.DataFrame,
    x: str,
    x_buckets: int | None,
    y: str,
    y_buckets: int | None,
    color: str | None,
) -> ExplorerView:
    x_labels = _labels(data[x], n_buckets=x_buckets)
    y_labels = _labels(data[y], n_buckets=y_buckets)
    x_names = np.asarray(x_labels.names, dtype=object)
    y_names = np.asarray(y_labels.names, dtype=object)
    shape = [len(x_labels.names), len(y_labels.names)]
    labels = _color_labels(data, color, {x: x_labels, y: y_labels})

    if labels is None:
        (x_codes, y_codes), row_counts = _count_combinations(
            [x_labels.codes, y_labels.codes], shape
        )
        counts = pd.DataFrame({x: x_names[x_codes], y: y_names[y_codes]})
        counts["count"] = row_counts
    else:
        counts = _cells_by_color(x_labels, y_labels, labels, (x, y, color))
    tooltip = [
        alt.Tooltip(f"{x}:N", title=x),
        alt.Tooltip(f"{y}:N", title=y),
        alt.Tooltip("count:Q", title="Rows", format=","),
    ]
    if color:
        tooltip += [
            alt.Tooltip(f"{color}:N", title=f"most common {color}"),
            alt.Tooltip("share:Q", title="its share", format=".0%"),
        ]
    chart = (
        alt.Chart(counts)
        .mark_circle()
        .encode(
            x=alt.X(f"{x}:N", title=x, sort=x_labels.names),
            y=alt.Y(f"{y}:N", title=y, sort=y_labels.names),
            size=alt.Size("count:Q", title="Rows"),
            color=_color_encoding(color, labels),
            tooltip=tooltip,
        )
    )
    note = f"One circle per value pair of {x} and {y}, sized by its rows"
    if color:
        note += f" and coloured by its most common {color}"
    return ExplorerView(chart, "grid", len(data), len(counts), False, note + ".")


def _cells_by_color(
    x_labels: _Labels,
    y_labels: _Labels,
    labels: _Labels,
    names: tuple[str, str, str],
) -> pd.DataFrame:
    """Count the rows of each grid cell, with its most common colour and share.

    On a tie the first colour in colour order wins.
    """
    x, y, color = names
    shape = (len(x_labels.names), len(y_labels.names), len(labels.names))
    flat = (x_labels.codes * shape[1] + y_labels.codes) * shape[2] + labels.codes
    per_color = np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape)
    totals = per_color.sum(axis=2)
    # argmax returns the first maximum, the first colour in colour order.
    top = per_color.argmax(axis=2)

    x_codes, y_codes = np.nonzero(totals)
    top_codes = top[x_codes, y_codes]
    cell_totals = totals[x_codes, y_codes]
    return pd.DataFrame(
        {
            x: np.asarray(x_labels.names, dtype=object)[x_codes],
            y: np.asarray(y_labels.names, dtype=object)[y_codes],
            color: np.asarray(labels.names, dtype=object)[top_codes],
            "count": cell_totals,
            "share": per_color[x_codes, y_codes, top_codes] / cell_totals,
        }
    )


def _scatter(
    data: pd.DataFrame,
    x: str,
    y: str,
    color: str | None,
    *,
    x_buckets: int | None,
    y_buckets: int | None,
    x_numeric: bool,
    y_numeric: bool,
    highlight: int | None,
    max_points: int,
    random_state: int,
) -> ExplorerView:
    rng = np.random.default_rng(random_state)
    n_rows = len(data)
    positions = np.arange(n_rows)
    sampled = n_rows > max_points
    if sampled:
        positions = np.sort(rng.choice(n_rows, size=max_points, replace=False))
        if highlight is not None:
            hits = np.flatnonzero(data[ROW_COLUMN].to_numpy() == highlight)
            if hits.size and hits[0] not in positions:
                positions = np.sort(np.append(positions[1:], hits[0]))

    points = pd.DataFrame({ROW_COLUMN: data[ROW_COLUMN].to_numpy()[positions]})
    orders = {}
    for name, numeric, buckets in (
        (x, x_numeric, x_buckets),
        (y, y_numeric, y_buckets),
    ):
        if name in points.columns:
            continue
        if numeric:
            points[name] = data[name].to_numpy(dtype=float, na_value=np.nan)[positions]
        else:
            axis_labels = _labels(data[name], n_buckets=buckets)
            orders[name] = axis_labels.names
            points[name] = axis_labels.at(positions)

    labels = None
    if color is not None and not is_numeric_feature(data[color]):
        labels = _color_labels(data, color)
    if color and color not in points.columns:
        values = data[color].to_numpy() if labels is None else None
        points[color] = values[positions] if labels is None else labels.at(positions)
    points["jitter"] = rng.uniform(-0.8, 0.8, len(points))
    points["selected"] = points[ROW_COLUMN] == highlight

    picked = alt.selection_point(name=SELECTION_NAME, fields=[ROW_COLUMN], on="click")
    x_encoding = alt.X(f"{x}:Q" if x_numeric else f"{x}:N", title=x)
    y_encoding = alt.Y(f"{y}:Q" if y_numeric else f"{y}:N", title=y)
    offsets = {}
    if not x_numeric:
        x_encoding = alt.X(f"{x}:N", title=x, sort=_order(data, x, x_buckets, orders))
        offsets["xOffset"] = alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-1, 1]))
    if not y_numeric:
        y_encoding = alt.Y(f"{y}:N", title=y, sort=_order(data, y, y_buckets, orders))
        offsets["yOffset"] = alt.YOffset("jitter:Q", scale=alt.Scale(domain=[-1, 1]))

    tooltip = [alt.Tooltip(f"{ROW_COLUMN}:Q", title="Row")]
    tooltip += [alt.Tooltip(f"{name}", title=name) for name in dict.fromkeys([x, y])]
    if color and color not in (x, y):
        tooltip.append(alt.Tooltip(color, title=color))
    chart = (
        alt.Chart(points)
        .mark_circle(opacity=0.7)
        .encode(
            x=x_encoding,
            y=y_encoding,
            color=_color_encoding(color, labels),
            size=alt.condition(alt.datum.selected, alt.value(220), alt.value(30)),
            stroke=alt.condition(
                alt.datum.selected, alt.value("black"), alt.value(None)
            ),
            tooltip=tooltip,
            **offsets,
        )
        .add_params(picked)
    )
    note = "One point per row"
    if sampled:
        note += (
            f", a random sample of {len(points):,} of {n_rows:,} rows "
            f"(seed {random_state})"
        )
    if highlight is not None and bool(points["selected"].any()):
        note += f"; row {highlight} is drawn larger"
    return ExplorerView(chart, "scatter", n_rows, len(points), sampled, note + ".")


def _order(
    data: pd.DataFrame, name: str, buckets: int | None, orders: dict[str, list[str]]
) -> list[str]:
    """Return the axis order of ``name``, labelling it only if no axis did yet."""
    if name in orders:
        return orders[name]
    return _labels(data[name], n_buckets=buckets).names
