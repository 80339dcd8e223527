"""Partial dependence view of the What-If page: the selected row's ICE or the mean."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from analysis.pdp import (
    GRID_METHODS,
    PartialDependence,
    PartialDependence2D,
    feature_grid,
    partial_dependence_2d,
    partial_dependence_all,
)
from analysis.pdp_charts import partial_dependence_chart, partial_dependence_heatmap
from pages.ui.editor import SelectedRow
from pages.ui.state import json_param, remember, restore
from pages.ui.whatif import WhatIf

logger = logging.getLogger(__name__)

MODES = {"row": "Selected row (ICE line)", "global": "All rows (mean, with ICE lines)"}
SHOWN_FEATURES = 4


def partial_dependence_view(context: WhatIf, row: SelectedRow) -> None:
    """Draw partial dependence lines per feature and an optional two-feature heatmap."""
    if context.predictions_only:
        st.info(
            "Partial dependence needs a model: it sets a feature to other values "
            "and predicts again. Load a model to use it."
        )
        return
    options = _options(context)
    models = {model.name: model.predictor for model in context.models}
    model_keys = [model.key for model in context.models]
    values_key = json_param(row.frame.astype(str).iloc[0].tolist())
    with st.spinner("Computing partial dependence"):
        results = _all_features(
            json_param(
                [model_keys, context.data_key, context.label, _key_options(options)]
            ),
            values_key if options["mode"] == "row" else "",
            context.frame,
            row.frame,
            models,
            context.label,
            tuple(context.features),
            options,
        )
    if options["mode"] == "row":
        results = [replace(result, position=row.row_id) for result in results]

    names = [result.feature for result in results]
    restore(
        "wi_pdp_features",
        valid=lambda chosen: set(chosen) <= set(names),
        default=names[:SHOWN_FEATURES],
    )
    shown = st.multiselect(
        "Features" + (", by how much the output varies" if options["sort"] else ""),
        names,
        key="wi_pdp_features",
    )
    remember("wi_pdp_features")
    by_name = {result.feature: result for result in results}
    columns = st.columns(2)
    for index, name in enumerate(shown):
        chart = partial_dependence_chart(
            by_name[name],
            show_ice=options["ice"],
            current_value=_row_value(row, name),
        )
        columns[index % 2].altair_chart(chart, width="stretch")
    variation = pd.DataFrame(
        {"feature": names, "variation": [result.variation for result in results]}
    )
    with st.expander("Variation of every feature"):
        st.dataframe(variation, hide_index=True, key="wi_pdp_variation")
    _heatmap(context, row, models, model_keys, values_key, options, names)


def _row_value(row: SelectedRow, feature: str) -> object | None:
    """Return the selected row's value of a feature, or None when it has none."""
    if feature not in row.frame.columns:
        return None
    return row.frame[feature].iloc[0]


def _options(context: WhatIf) -> dict[str, Any]:
    cells = st.columns(4)
    restore("wi_pdp_mode", options=list(MODES), default="row")
    mode = cells[0].radio("Rows", list(MODES), format_func=MODES.get, key="wi_pdp_mode")
    remember("wi_pdp_mode")
    restore("wi_pdp_grid", options=list(GRID_METHODS), default="quantile")
    method = cells[1].selectbox(
        "Grid of numbers",
        list(GRID_METHODS),
        key="wi_pdp_grid",
        help="quantile: values at evenly spaced quantiles of the whole column; "
        "uniform: evenly spaced between its minimum and maximum.",
    )
    remember("wi_pdp_grid")
    restore("wi_pdp_points", valid=lambda v: 2 <= v <= 50, default=10)
    n_points = cells[2].number_input(
        "Grid points", min_value=2, max_value=50, key="wi_pdp_points"
    )
    remember("wi_pdp_points")
    restore("wi_pdp_sample", valid=lambda v: 10 <= v <= 100_000, default=1000)
    sample = cells[3].number_input(
        "Rows averaged",
        min_value=10,
        max_value=100_000,
        key="wi_pdp_sample",
        disabled=mode == "row",
        help="A seeded random sample of the rows for the mean line.",
    )
    remember("wi_pdp_sample")

    cells = st.columns(4)
    restore("wi_pdp_centered", default=False)
    centered = cells[0].toggle("Centred", key="wi_pdp_centered")
    remember("wi_pdp_centered")
    restore("wi_pdp_ice", default=True)
    ice = cells[1].toggle("ICE lines", key="wi_pdp_ice", disabled=mode == "row")
    remember("wi_pdp_ice")
    restore("wi_pdp_sort", default=True)
    sort = cells[2].toggle("Sort by variation", key="wi_pdp_sort")
    remember("wi_pdp_sort")
    target = None
    if context.task == "multiclass":
        classes = [str(name) for name in context.classes]
        restore("wi_pdp_class", options=classes, default=classes[0])
        target = cells[3].selectbox("Score of class", classes, key="wi_pdp_class")
        remember("wi_pdp_class")
        target = context.classes[classes.index(target)]
    elif context.task == "binary":
        target = context.positive
    return {
        "mode": mode,
        "method": method,
        "n_points": int(n_points),
        "sample": int(sample),
        "centered": bool(centered),
        "ice": bool(ice),
        "sort": bool(sort),
        "target": None if target is None else str(target),
        "target_value": target,
    }


@st.cache_data(max_entries=16, show_spinner=False)
def _all_features(
    key: str,
    row_key: str,
    _frame: pd.DataFrame,
    _row: pd.DataFrame,
    _models: dict[str, Any],
    _label: str,
    _features: tuple[str, ...],
    _options: dict[str, Any],
) -> list[PartialDependence]:
    """Compute every feature's partial dependence, once per models, data and options."""
    options = _options
    common = {
        "method": options["method"],
        "n_points": options["n_points"],
        "centered": options["centered"],
        "target_class": options["target_value"],
        "label": _label,
        "sort_by_variation": options["sort"],
    }
    if options["mode"] == "row":
        grids = _row_grids(_frame, _row, _features, options)
        return partial_dependence_all(
            _row, _models, list(_features), position=0, grids=grids, **common
        )
    return partial_dependence_all(
        _frame,
        _models,
        list(_features),
        sample_size=options["sample"],
        **common,
    )


def _heatmap(
    context: WhatIf,
    row: SelectedRow,
    models: dict[str, Any],
    model_keys: list[str],
    values_key: str,
    options: dict[str, Any],
    names: list[str],
) -> None:
    st.subheader("Two features together")
    if len(names) < 2:
        st.caption("Two-feature partial dependence needs two features.")
        return

    cells = st.columns([2, 2, 1])
    restore("wi_pdp_x", options=names, default=names[0])
    first = cells[0].selectbox("x feature", names, key="wi_pdp_x")
    remember("wi_pdp_x")
    others = [name for name in names if name != first]
    restore("wi_pdp_y", options=others, default=others[0])
    second = cells[1].selectbox("y feature", others, key="wi_pdp_y")
    remember("wi_pdp_y")
    if not cells[2].toggle("Show heatmap", key="wi_pdp_2d"):
        return

    key = json_param(
        [model_keys, context.data_key, context.label, _key_options(options)]
        + [first, second]
    )
    with st.spinner("Computing the heatmap"):
        result = _two_features(
            key,
            values_key if options["mode"] == "row" else "",
            context.frame,
            row.frame,
            models,
            context.label,
            (first, second),
            options,
        )
    if options["mode"] == "row":
        result = replace(result, position=row.row_id)
    for name in models:
        st.altair_chart(partial_dependence_heatmap(result, name), width="stretch")


@st.cache_data(max_entries=8, show_spinner=False)
def _two_features(
    key: str,
    row_key: str,
    _frame: pd.DataFrame,
    _row: pd.DataFrame,
    _models: dict[str, Any],
    _label: str,
    _features: tuple[str, str],
    _options: dict[str, Any],
) -> PartialDependence2D:
    """Compute the two-feature partial dependence, once per models, data and options."""
    options = _options
    common = {
        "method": options["method"],
        "n_points": options["n_points"],
        "target_class": options["target_value"],
        "label": _label,
    }
    if options["mode"] == "row":
        grids = _row_grids(_frame, _row, _features, options)
        return partial_dependence_2d(
            _row, _models, _features, position=0, grids=grids, **common
        )
    return partial_dependence_2d(
        _frame, _models, _features, sample_size=options["sample"], **common
    )


def _key_options(options: dict[str, Any]) -> dict[str, Any]:
    """Return the options that go into a cache key (the class as text)."""
    return {name: value for name, value in options.items() if name != "target_value"}


def _row_grids(frame: pd.DataFrame, row: pd.DataFrame, features, options: dict) -> dict:
    """Return each feature's grid over the whole column, with the row's own value."""
    return {
        name: feature_grid(
            frame[name],
            method=options["method"],
            n_points=options["n_points"],
            include=(row[name].iloc[0],),
        )
        for name in features
    }
