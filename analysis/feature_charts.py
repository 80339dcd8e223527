"""Altair charts of the features overview: histograms, value bars, two datasets.

Each builder takes the aggregated tables of :mod:`analysis.overview` (one row per
bin or value), so a chart has at most a few dozen marks whatever the row count.
None of them calls Streamlit.
"""

from __future__ import annotations

import logging

import altair as alt
import pandas as pd

from analysis.chart_palette import category_scale

logger = logging.getLogger(__name__)


def histogram_chart(histogram: pd.DataFrame, feature: str) -> alt.Chart:
    """Draw a numeric feature's histogram.

    Parameters
    ----------
    histogram : pandas.DataFrame
        ``FeaturesOverview.histograms[feature]``: ``bin_start``, ``bin_end`` and
        ``count``.
    feature : str
        The feature's name, for the titles.

    Returns
    -------
    altair.Chart
    """
    _require(histogram, ("bin_start", "bin_end", "count"))
    return (
        alt.Chart(histogram)
        .mark_bar()
        .encode(
            x=alt.X("bin_start:Q", bin="binned", title=feature),
            x2="bin_end:Q",
            y=alt.Y("count:Q", title="Rows"),
            tooltip=[
                alt.Tooltip("bin_start:Q", title="from", format=",.4g"),
                alt.Tooltip("bin_end:Q", title="to", format=",.4g"),
                alt.Tooltip("count:Q", title="Rows", format=","),
            ],
        )
        .properties(title=_title(feature), height=160)
    )


def value_bar_chart(bars: pd.DataFrame, feature: str) -> alt.Chart:
    """Draw a categorical feature's most frequent values.

    Parameters
    ----------
    bars : pandas.DataFrame
        ``FeaturesOverview.bars[feature]``: ``value``, ``count`` and ``share``.
    feature : str
        The feature's name, for the titles.

    Returns
    -------
    altair.Chart
    """
    _require(bars, ("value", "count", "share"))
    data = bars.assign(value=bars["value"].astype(str))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("count:Q", title="Rows"),
            y=alt.Y(
                "value:N",
                title=feature,
                sort=list(data["value"]),
                axis=alt.Axis(labelOverlap=False, labelLimit=160),
            ),
            tooltip=[
                alt.Tooltip("value:N", title=feature),
                alt.Tooltip("count:Q", title="Rows", format=","),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )
        .properties(title=_title(feature), height=alt.Step(18))
    )


def distribution_comparison_chart(
    distribution: pd.DataFrame,
    feature: str,
    names: tuple[str, str] = ("reference", "current"),
) -> alt.Chart:
    """Draw the share of rows per bin in two datasets, side by side.

    Parameters
    ----------
    distribution : pandas.DataFrame
        ``DatasetComparison.distributions[feature]``: ``bin``,
        ``reference_share`` and ``current_share``.
    feature : str
        The feature's name, for the titles.
    names : tuple of str, default ("reference", "current")
        Display names of the two datasets.

    Returns
    -------
    altair.Chart
        Paired bars per bin, in the bins' order.
    """
    _require(distribution, ("bin", "reference_share", "current_share"))
    order = [str(name) for name in distribution["bin"]]
    data = pd.concat(
        [
            pd.DataFrame({"bin": order, "dataset": name, "share": distribution[column]})
            for name, column in zip(
                names, ("reference_share", "current_share"), strict=True
            )
        ],
        ignore_index=True,
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", title="Share of rows", axis=alt.Axis(format="%")),
            y=alt.Y("bin:N", title=feature, sort=order),
            yOffset=alt.YOffset("dataset:N", sort=list(names)),
            color=alt.Color(
                "dataset:N", title="Dataset", sort=list(names), scale=category_scale()
            ),
            tooltip=[
                alt.Tooltip("bin:N", title=feature),
                alt.Tooltip("dataset:N", title="Dataset"),
                alt.Tooltip("share:Q", title="Share", format=".1%"),
            ],
        )
        .properties(title=f"{feature}: share of rows per bin")
    )


def _title(feature: str) -> alt.TitleParams:
    """Return a left-aligned chart title without Vega's length limit.

    In a narrow column the centred default title lost its start ("fnlwgt"
    showed as "wgt").
    """
    return alt.TitleParams(text=feature, anchor="start", frame="bounds", limit=0)


def _require(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ValueError(
            f"the table is missing column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, frame.columns))}"
        )
