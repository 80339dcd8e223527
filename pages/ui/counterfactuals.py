"""Counterfactual views of the What-If page: the nearest real row and generated rows."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analysis.counterfactual_search import (
    CounterfactualSearch,
    generate_counterfactuals,
)
from analysis.edited_counterfactual import (
    candidate_mask,
    default_min_difference,
    nearest_to_row,
)
from analysis.editor import is_numeric_feature
from analysis.predictions_only import ModelRequiredError
from pages.ui.editor import ROW_KEY, SelectedRow
from pages.ui.loaders import stats_for
from pages.ui.state import json_param, keep, kept, remember, restore
from pages.ui.whatif import WhatIf

logger = logging.getLogger(__name__)

METRICS = ("l1", "l2")
_SEARCH = "generated_counterfactuals"


def distance_options(context: WhatIf) -> tuple[str, list[str] | None]:
    """Draw the distance metric and feature subset; return them (None = all)."""
    stats = stats_for(
        context.data_key, (context.label, *context.score_columns), context.frame
    )
    cells = st.columns([1, 3])
    restore("wi_distance", options=list(METRICS), default="l1")
    metric = cells[0].radio(
        "Distance",
        list(METRICS),
        horizontal=True,
        key="wi_distance",
        format_func=str.upper,
    )
    remember("wi_distance")
    usable = list(stats.features)
    restore(
        "wi_cf_features", valid=lambda chosen: set(chosen) <= set(usable), default=[]
    )
    chosen = cells[1].multiselect(
        "Features in the distance (all when empty)", usable, key="wi_cf_features"
    )
    remember("wi_cf_features")
    return metric, (chosen or None)


def nearest_view(
    context: WhatIf,
    row: SelectedRow,
    thresholds: Any,
    metric: str,
    features: list[str] | None,
) -> None:
    """Draw the nearest row of the edited dataset that the model predicts differently.

    ``context`` is the selection over the edited dataset (see
    :mod:`pages.ui.edits`) and ``thresholds`` its rows' thresholds, so edited and
    added rows are candidates and deleted rows are not.
    """
    stats = stats_for(
        context.data_key, (context.label, *context.score_columns), context.frame
    )
    predictions = context.predictions(thresholds=thresholds)
    anchor_prediction = row.predictions[0].prediction

    min_difference = None
    if context.task == "regression":
        default = default_min_difference(predictions)
        restore("wi_cf_min_diff", valid=lambda value: value >= 0, default=default)
        min_difference = st.number_input(
            "A prediction differs when it is at least this far away",
            min_value=0.0,
            key="wi_cf_min_diff",
            help=f"Starts at the standard deviation of the predictions, {default:.4g}.",
        )
        remember("wi_cf_min_diff")

    candidates = candidate_mask(
        context.task, predictions, anchor_prediction, min_difference=min_difference
    )
    row_ids = context.ids()
    found = nearest_to_row(
        context.frame,
        row.frame.iloc[0],
        candidates,
        stats=stats,
        metric=metric,
        features=features,
        exclude=row_ids == row.row_id,
    )
    if found is None:
        st.info(
            f"No loaded row is predicted differently from row {row.row_id} "
            f"({_prediction_text(context, anchor_prediction)})."
        )
        return

    other = predictions[found.position]
    other_id = int(row_ids[found.position])
    anchor_text = _prediction_text(context, anchor_prediction)
    st.markdown(
        f"Row {row.row_id} is predicted **{anchor_text}**"
        f"{_score_text(context, row.predictions[0].score)}; the nearest row predicted "
        f"**{_prediction_text(context, other)}** is row {other_id}"
        f"{_score_text(context, _score(context, found.position))}, at "
        f"{metric.upper()} distance {found.distance:.3f}."
    )
    columns = list(context.frame.columns)
    comparison = pd.DataFrame(
        {
            "feature": columns,
            f"row {row.row_id}": row.frame.iloc[0].astype(str).tolist(),
            f"row {other_id}": context.frame.iloc[found.position].astype(str).tolist(),
            "differs": [name in set(found.differing_features) for name in columns],
        }
    )
    st.dataframe(comparison, hide_index=True, key="wi_counterfactual")
    st.caption("differs = True marks the features that differ. The label is not used.")
    st.button(
        f"Open row {other_id} in the editor",
        key="wi_cf_open",
        on_click=_open_row,
        args=(other_id,),
    )


def generated_view(
    context: WhatIf, row: SelectedRow, metric: str, thresholds: Any
) -> None:
    """Draw the constraints of generated counterfactuals, the search and its results."""
    if context.predictions_only:
        st.info(
            "Generated counterfactuals need a model: they change feature values "
            "and predict again. Load a model to use them."
        )
        return
    features = list(context.features)
    target = _target_widgets(context, row)
    cells = st.columns(2)
    restore("wi_gcf_immutable", valid=lambda v: set(v) <= set(features), default=[])
    immutable = cells[0].multiselect(
        "Features that must not change", features, key="wi_gcf_immutable"
    )
    remember("wi_gcf_immutable")
    limitable = [name for name in features if name not in immutable]
    restore("wi_gcf_limited", valid=lambda v: set(v) <= set(limitable), default=[])
    limited = cells[1].multiselect(
        "Limit the values of", limitable, key="wi_gcf_limited"
    )
    remember("wi_gcf_limited")
    ranges = {name: _range_widget(context, name) for name in limited}

    cells = st.columns(3)
    restore("wi_gcf_k", valid=lambda v: 1 <= v <= 10, default=3)
    k = cells[0].number_input("Answers", min_value=1, max_value=10, key="wi_gcf_k")
    remember("wi_gcf_k")
    restore("wi_gcf_changes", valid=lambda v: 1 <= v <= 5, default=3)
    max_changes = cells[1].number_input(
        "Most features changed", min_value=1, max_value=5, key="wi_gcf_changes"
    )
    remember("wi_gcf_changes")

    settings = {
        "row": row.row_id,
        "values": row.frame.astype(str).iloc[0].tolist(),
        "target": target,
        "immutable": immutable,
        "ranges": {name: _plain_range(value) for name, value in ranges.items()},
        "k": int(k),
        "max_changes": int(max_changes),
        "metric": metric,
        "threshold": row.threshold,
        "models": [model.key for model in context.models],
    }
    signature = json_param(settings)
    if cells[2].button("Generate counterfactuals", key="wi_gcf_run", type="primary"):
        search = _search(context, row, settings, ranges)
        keep(_SEARCH, {"signature": signature, "search": search})
    stored = kept(_SEARCH)
    if not stored or stored["signature"] != signature:
        st.caption("Set the constraints, then generate.")
        return
    _show_search(context, row, stored["search"])


def _target_widgets(context: WhatIf, row: SelectedRow) -> Any:
    prediction = row.predictions[0]
    if context.task == "binary":
        st.caption(
            f"Target: the other class than {str(prediction.prediction)!r} at this "
            f"row's threshold {row.threshold:g}."
        )
        return None
    if context.task == "multiclass":
        options = ["(any other class)", *[str(name) for name in context.classes]]
        restore("wi_gcf_class", options=options, default=options[0])
        chosen = st.selectbox("Target class", options, key="wi_gcf_class")
        remember("wi_gcf_class")
        return None if chosen == options[0] else chosen
    spread = default_min_difference(context.model.scores)
    cells = st.columns(2)
    restore("wi_gcf_low", default=float(prediction.score + spread))
    low = cells[0].number_input("Target prediction from", key="wi_gcf_low")
    remember("wi_gcf_low")
    restore("wi_gcf_high", default=float(prediction.score + 3 * spread))
    high = cells[1].number_input("to", key="wi_gcf_high")
    remember("wi_gcf_high")
    return [float(low), float(high)]


def _range_widget(context: WhatIf, name: str) -> Any:
    column = context.frame[name]
    key = f"wi_gcf_range_{name}"
    if is_numeric_feature(column):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        if not low < high:
            st.caption(f"{name} has a single value, {low:g}; it cannot change.")
            return (low, high)
        restore(
            key,
            valid=lambda v: isinstance(v, tuple | list) and len(v) == 2,
            default=(low, high),
        )
        chosen = st.slider(f"{name} between", low, high, key=key)
        remember(key)
        return tuple(float(value) for value in chosen)
    options = [str(value) for value in column.dropna().value_counts().index[:100]]
    restore(key, valid=lambda v: set(v) <= set(options), default=options)
    chosen = st.multiselect(f"{name} among", options, key=key)
    remember(key)
    return [value for value in column.dropna().unique() if str(value) in set(chosen)]


def _plain_range(value: Any) -> Any:
    return [str(item) for item in value]


def _search(
    context: WhatIf, row: SelectedRow, settings: dict[str, Any], ranges: dict[str, Any]
) -> CounterfactualSearch | str:
    target = settings["target"]
    frame, position, scores = context.frame, row.row_id, context.model.scores
    if row.edited or row.row_id >= len(context.frame):
        # NOTE: an edited row is searched from a copy of the data with the row
        # first, which copies the whole dataset once per search.
        frame = pd.concat([row.frame, context.frame], ignore_index=True)
        scores = np.concatenate([_row_scores(row, scores), scores])
        position = 0
    try:
        with st.spinner("Searching"):
            return generate_counterfactuals(
                frame,
                context.model.predictor,
                position,
                desired_class=target if context.task == "multiclass" else None,
                desired_range=tuple(target) if context.task == "regression" else None,
                threshold=row.threshold,
                pos_label=context.positive,
                immutable=settings["immutable"],
                permitted_ranges=ranges,
                k=settings["k"],
                max_changes=settings["max_changes"],
                metric=settings["metric"],
                label=context.label,
                scores=scores,
            )
    except (ModelRequiredError, ValueError) as exc:
        return str(exc)


def _row_scores(row: SelectedRow, scores: np.ndarray) -> np.ndarray:
    """Return the selected row's scores in the layout of the dataset's scores."""
    first = row.predictions[0]
    values = np.asarray(first.scores or (first.score,), dtype=float)
    return values.reshape((1, *scores.shape[1:]))


def _show_search(
    context: WhatIf, row: SelectedRow, search: CounterfactualSearch | str
) -> None:
    if isinstance(search, str):
        st.error(f"The search failed: {search}")
        return
    # A binary target is already in the caption above the constraints.
    target = "" if context.task == "binary" else f"Target: {search.target}. "
    st.caption(
        f"{target}{search.n_predicted:,} rows predicted"
        + ("" if search.exhaustive else "; some levels were sampled, not exhaustive")
        + "."
    )
    if search.found:
        table = search.to_frame(_original(context, row))
        table.insert(
            0, "answer", ["selected row"] + [str(i + 1) for i in range(len(table) - 1)]
        )
        if context.task != "regression":
            scores = [row.predictions[0].score]
            scores += [answer.score for answer in search.counterfactuals]
            table.insert(table.columns.get_loc("prediction") + 1, "score", scores)
        st.dataframe(table, hide_index=True, key="wi_gcf_table")
        for index, answer in enumerate(search.counterfactuals, start=1):
            changes = "; ".join(
                f"{change.feature}: {change.old} -> {change.new}"
                for change in answer.changes
            )
            new_score = (
                "" if answer.score is None else _score_text(context, answer.score)
            )
            st.markdown(f"**{index}.** {changes} → **{answer.prediction}**{new_score}")
        return

    st.warning(search.message or "No counterfactual was found.")
    for constraint in search.blocking:
        st.markdown(f"- {constraint.message}")
    nearest = search.nearest_real
    if nearest is None:
        st.info("No loaded row reaches the target either.")
        return
    searched_copy = row.edited or row.row_id >= len(context.frame)
    position = nearest.position - (1 if searched_copy else 0)
    st.markdown(
        f"Nearest real counterfactual instead: row {position}, at distance "
        f"{nearest.distance:.3f}, differing in {', '.join(nearest.differing_features)}."
    )
    st.dataframe(
        pd.concat([row.frame, context.frame.iloc[[position]]], ignore_index=True),
        hide_index=True,
        key="wi_gcf_nearest",
    )


def _original(context: WhatIf, row: SelectedRow) -> pd.DataFrame:
    """Return the frame the search ran on, as far as ``to_frame`` reads it."""
    if row.edited or row.row_id >= len(context.frame):
        return row.frame
    return context.frame


def _prediction_text(context: WhatIf, prediction: Any) -> str:
    if context.task == "regression":
        return f"{float(prediction):.4g}"
    return str(prediction)


def _score_text(context: WhatIf, score: float) -> str:
    return "" if context.task == "regression" else f" (score {score:.3f})"


def _score(context: WhatIf, position: int) -> float:
    scores = context.model.scores
    if context.task == "binary":
        return float(scores[position, context.pos_index])
    if context.task == "multiclass":
        return float(scores[position].max())
    return float(scores[position])


def _open_row(position: int) -> None:
    st.session_state[ROW_KEY] = int(position)
