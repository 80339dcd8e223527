"""The binary classifier views of the Performance and Fairness page.

Everything that depends on a threshold runs in one fragment, so moving a slider
reruns only the fragment, while the model, the dataset and the scores stay cached
above it. A slice without its own threshold uses the global one. Every metric
outside the strategy section uses the slider thresholds. A threshold strategy
compares its thresholds with the slider thresholds, so its "before" never
depends on which strategy was chosen earlier. A button copies a strategy's
thresholds to the sliders, and moving a slice's slider switches back to custom.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analysis.charts import confusion_matrix_chart
from analysis.curves import PrCurve, RocCurve, curve_marker, pr_curve, roc_curve
from analysis.fairness import (
    PARITY_RATES,
    STRATEGIES,
    ThresholdResult,
    optimize_thresholds,
)
from analysis.metrics import binary_metrics, confusion_frame
from analysis.performance_charts import (
    STRATEGY_RATE_TITLES,
    pr_curve_chart,
    roc_curve_chart,
    square_matrix_chart,
    threshold_strategy_chart,
)
from analysis.slices import (
    ALL_ROWS_LABEL,
    metrics_by_slice_at_thresholds,
    slice_codes,
    sort_slices,
)
from pages.ui.slicing import (
    Slicing,
    kept_slice_thresholds,
    set_slice_thresholds,
    threshold_slider,
)
from pages.ui.state import keep, remember, restore
from pages.ui.tables import PERCENT_FORMAT, rounded_percents, table_with_download
from pages.ui.whatif import LoadedModel, WhatIf

logger = logging.getLogger(__name__)

STRATEGY_LABELS = {
    "custom": "Custom thresholds",
    "single_threshold": "Single threshold (lowest cost)",
    "group_thresholds": "Group thresholds (lowest cost per slice)",
    "demographic_parity": "Demographic parity",
    "equal_opportunity": "Equal opportunity",
    "equal_accuracy": "Equal accuracy",
    "equalized_odds": "Equalized odds (randomized)",
}
# Up to this many slices get a slider each. With more, one slider edits a chosen slice.
MAX_SLIDERS = 12
RATE_FORMAT = st.column_config.NumberColumn(format="%.3f")
TABLE_ORDER = [
    "model",
    "slice",
    "count",
    "few rows",
    "threshold",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "fpr",
    "fnr",
    "fp_share",
    "fn_share",
    "roc_auc",
    "pr_auc",
    "average_precision",
    "tp",
    "fp",
    "tn",
    "fn",
    "cost",
]


def binary_performance(context: WhatIf, slicing: Slicing) -> None:
    """Draw thresholds, per-slice metrics, curves, confusion matrix and strategies."""
    _threshold_views(context, slicing)


@st.fragment
def _threshold_views(context: WhatIf, slicing: Slicing) -> None:
    controls = st.columns([4, 2, 3])
    with controls[0]:
        threshold = threshold_slider("Threshold (all rows)")
    cost_ratio = _cost_ratio(controls[1])
    model = _model_choice(context, controls[2])
    y_true = context.y_true()
    scores = context.positive_scores(model)

    result = None
    if slicing.active:
        result = _strategy(context, slicing, y_true, scores, threshold, cost_ratio)
        _slice_sliders(slicing, threshold)
    thresholds = kept_slice_thresholds(slicing)

    tables = [
        _metrics_table(context, slicing, loaded, thresholds, threshold, cost_ratio)
        for loaded in context.models
    ]
    chosen = tables[context.models.index(model)]
    _overall_strip(chosen, thresholds, threshold)
    _slice_table(context, slicing, tables)
    _slice_detail(context, slicing, model, chosen, thresholds, threshold)
    if result is not None:
        _strategy_result(result, slicing)


def _cost_ratio(container: Any) -> float:
    restore("wi_cost_ratio", valid=lambda v: v >= 0, default=1.0)
    value = container.number_input(
        "Cost ratio (FP / FN)",
        min_value=0.0,
        step=0.5,
        key="wi_cost_ratio",
        help="Cost of a false positive over the cost of a false negative. The "
        "cost of a threshold is ratio x FP + FN.",
    )
    remember("wi_cost_ratio")
    return float(value)


def _model_choice(context: WhatIf, container: Any) -> LoadedModel:
    if len(context.models) == 1:
        return context.model
    names = [model.name for model in context.models]
    restore("wi_perf_model", options=names, default=names[0])
    name = container.radio("Model for details", names, key="wi_perf_model")
    remember("wi_perf_model")
    return context.models[names.index(name)]


def _strategy(
    context: WhatIf,
    slicing: Slicing,
    y_true: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    cost_ratio: float,
) -> ThresholdResult | None:
    cells = st.columns([3, 2])
    restore("wi_strategy", options=list(STRATEGIES), default="custom")
    strategy = cells[0].selectbox(
        "Threshold strategy",
        list(STRATEGIES),
        format_func=STRATEGY_LABELS.get,
        key="wi_strategy",
    )
    remember("wi_strategy")
    tolerance = 0.0
    if strategy in PARITY_RATES:
        restore("wi_tolerance", valid=lambda v: 0 <= v <= 1, default=0.0)
        tolerance = cells[1].number_input(
            "Tolerance",
            min_value=0.0,
            max_value=1.0,
            step=0.01,
            key="wi_tolerance",
            help=f"Largest gap allowed between the slices' {PARITY_RATES[strategy]}.",
        )
        remember("wi_tolerance")
    if strategy == "custom":
        return None

    # "Before" is always the slider thresholds, never an earlier strategy's.
    before = _effective_thresholds(slicing, threshold)
    return optimize_thresholds(
        y_true,
        scores,
        slicing.labels,
        strategy,
        cost_ratio=cost_ratio,
        tolerance=float(tolerance),
        current_thresholds=before,
    )


def _apply_strategy(slicing: Slicing, thresholds: dict[str, float]) -> None:
    set_slice_thresholds(slicing, thresholds)
    st.session_state["wi_strategy"] = "custom"
    keep("wi_strategy", "custom")


def _effective_thresholds(slicing: Slicing, threshold: float) -> dict[str, float]:
    own = kept_slice_thresholds(slicing)
    return {name: own.get(name, threshold) for name in slicing.slice_names()}


def _slice_sliders(slicing: Slicing, threshold: float) -> None:
    names = slicing.slice_names()
    own = kept_slice_thresholds(slicing)
    with st.expander(
        f"Threshold per slice of {slicing.name}", expanded=len(names) <= 4
    ):
        if len(names) > MAX_SLIDERS:
            restore("wi_slice_pick", options=names, default=names[0])
            name = st.selectbox("Slice", names, key="wi_slice_pick")
            remember("wi_slice_pick")
            sliders = [(name, "wi_slice_thr_pick")]
        else:
            sliders = [(name, f"wi_slice_thr_{i}") for i, name in enumerate(names)]
        for name, key in sliders:
            # The slider only shows the kept thresholds, which are the truth.
            st.session_state[key] = min(own.get(name, threshold), 1.0)
            st.slider(
                name,
                0.0,
                1.0,
                step=0.001,
                format="%.3f",
                key=key,
                on_change=_slice_threshold_moved,
                args=(slicing, name, key),
            )
        if own:
            st.button(
                "Use the global threshold for every slice",
                key="wi_slice_thr_reset",
                on_click=_reset_slice_thresholds,
                args=(slicing,),
            )


def _slice_threshold_moved(slicing: Slicing, name: str, key: str) -> None:
    values = {**kept_slice_thresholds(slicing), name: float(st.session_state[key])}
    set_slice_thresholds(slicing, values)
    st.session_state["wi_strategy"] = "custom"
    keep("wi_strategy", "custom")


def _reset_slice_thresholds(slicing: Slicing) -> None:
    set_slice_thresholds(slicing, {})
    st.session_state["wi_strategy"] = "custom"
    keep("wi_strategy", "custom")


def _metrics_table(
    context: WhatIf,
    slicing: Slicing,
    model: LoadedModel,
    thresholds: dict[str, float],
    threshold: float,
    cost_ratio: float,
) -> pd.DataFrame:
    y_true = context.y_true()
    scores = context.positive_scores(model)
    if slicing.active:
        table = metrics_by_slice_at_thresholds(
            y_true,
            scores,
            slicing.labels,
            thresholds,
            default_threshold=threshold,
            cost_ratio=cost_ratio,
        )
    else:
        metrics = binary_metrics(y_true, scores, threshold)
        table = pd.DataFrame([{"slice": ALL_ROWS_LABEL, **metrics}])
        table["small"] = False
        table["threshold"] = threshold
        table["cost"] = cost_ratio * table["fp"] + table["fn"]
    areas = _curve_areas(
        model.key,
        context.data_key,
        context.label,
        str(context.positive),
        str(slicing.config),
        y_true,
        scores,
        slicing.labels,
    )
    table = table.merge(areas, on="slice", how="left").rename(
        columns={"small": "few rows"}
    )
    table.insert(0, "model", model.name)
    return table[TABLE_ORDER]


@st.cache_data(max_entries=32, show_spinner=False)
def _curve_areas(
    model_key: str,
    data_key: str,
    label: str,
    positive: str,
    slicing_config: str,
    _y_true: np.ndarray,
    _scores: np.ndarray,
    _labels: pd.Series | None,
) -> pd.DataFrame:
    """Return ROC AUC, PR area and average precision for all rows and each slice."""
    parts = [(ALL_ROWS_LABEL, np.ones(len(_scores), dtype=bool))]
    if _labels is not None:
        codes, names = slice_codes(_labels, len(_scores))
        parts += [(name, codes == code) for code, name in enumerate(names)]
    records = []
    for name, rows in parts:
        roc = roc_curve(_y_true[rows], _scores[rows], max_points=4)
        pr = pr_curve(_y_true[rows], _scores[rows], max_points=4)
        records.append(
            {
                "slice": name,
                "roc_auc": roc.auc,
                "pr_auc": pr.auc,
                "average_precision": pr.average_precision,
            }
        )
    return pd.DataFrame(records)


@st.cache_data(max_entries=32, show_spinner=False)
def _slice_curves(
    model_key: str,
    data_key: str,
    label: str,
    positive: str,
    slicing_config: str,
    slice_name: str,
    _y_true: np.ndarray,
    _scores: np.ndarray,
) -> tuple[RocCurve, PrCurve]:
    """Return the ROC and PR curves of one slice, so a threshold change reuses them."""
    return roc_curve(_y_true, _scores), pr_curve(_y_true, _scores)


def format_cost(cost: float) -> str:
    """Format a cost short enough for a metric: no decimals unless it has any."""
    if float(cost).is_integer():
        return f"{cost:,.0f}"
    return f"{cost:,.1f}"


def _overall_strip(
    table: pd.DataFrame, thresholds: dict[str, float], threshold: float
) -> None:
    overall = table.iloc[0]
    own = f", own thresholds for {len(thresholds)} slice(s)" if thresholds else ""
    st.caption(f"All rows at the slider thresholds: global {threshold:.3f}{own}.")
    names = {
        "Accuracy": "accuracy",
        "Precision": "precision",
        "Recall": "recall",
        "F1": "f1",
        "FPR": "fpr",
        "FNR": "fnr",
        "ROC AUC": "roc_auc",
    }
    cells = st.columns(len(names) + 1)
    for cell, (title, column) in zip(cells, names.items(), strict=False):
        cell.metric(title, f"{overall[column]:.3f}")
    cells[-1].metric(
        "Cost",
        format_cost(overall["cost"]),
        help=f"{overall['cost']:,.2f}, that is cost ratio x FP + FN.",
    )


def _slice_table(context: WhatIf, slicing: Slicing, tables: list[pd.DataFrame]) -> None:
    st.subheader(f"Metrics by slice of {slicing.name}")

    sortable = [
        "slice",
        *[name for name in TABLE_ORDER if name not in ("model", "slice")],
    ]
    cells = st.columns([3, 1])
    restore("wi_slice_sort", options=sortable, default="slice")
    sort_by = cells[0].selectbox("Sort slices by", sortable, key="wi_slice_sort")
    remember("wi_slice_sort")
    descending = cells[1].toggle(
        "Descending", key="wi_slice_desc", value=sort_by != "slice"
    )

    table = pd.concat(
        [sort_slices(part, sort_by, ascending=not descending) for part in tables],
        ignore_index=True,
    )
    if len(context.models) == 1:
        table = table.drop(columns="model")

    few = int(table["few rows"].sum())
    if few:
        st.caption(
            f"{few} slice(s) have fewer than 30 rows (few rows = True): their rates "
            "are too noisy to compare."
        )

    formats = {name: RATE_FORMAT for name in TABLE_ORDER[5:16]}
    table_with_download(
        table,
        key="wi_slice_table",
        file_name="metrics_by_slice.csv",
        column_config=formats,
    )


def _slice_detail(
    context: WhatIf,
    slicing: Slicing,
    model: LoadedModel,
    table: pd.DataFrame,
    thresholds: dict[str, float],
    threshold: float,
) -> None:
    names = table["slice"].astype(str).tolist()
    restore("wi_detail_slice", options=names, default=names[0])
    name = st.selectbox("Details of slice", names, key="wi_detail_slice")
    remember("wi_detail_slice")
    row = table.loc[table["slice"].astype(str) == name].iloc[0]

    rows = np.ones(len(context.frame), dtype=bool)
    slice_threshold = float(row["threshold"])
    if name != ALL_ROWS_LABEL and slicing.labels is not None:
        codes, all_names = slice_codes(slicing.labels, len(context.frame))
        rows = codes == all_names.index(name)

    matrix = confusion_frame(
        row, class_names=(str(context.negative), str(context.positive))
    )
    left, right = st.columns([3, 2])
    left.altair_chart(
        square_matrix_chart(confusion_matrix_chart(matrix), 2), width="content"
    )
    right.dataframe(
        rounded_percents(matrix, ["percent"]),
        hide_index=True,
        key="wi_confusion",
        column_config={"percent": PERCENT_FORMAT},
    )

    y_true = context.y_true()[rows]
    scores = context.positive_scores(model)[rows]
    roc, pr = _slice_curves(
        model.key,
        context.data_key,
        context.label,
        str(context.positive),
        str(slicing.config),
        name,
        y_true,
        scores,
    )
    marker = None
    if not math.isnan(slice_threshold):
        marker = curve_marker(y_true, scores, slice_threshold)
    left, right = st.columns(2)
    left.altair_chart(
        roc_curve_chart(
            roc.points, marker=marker, title=f"ROC curve, AUC {roc.auc:.3f}"
        ),
        width="stretch",
    )
    right.altair_chart(
        pr_curve_chart(
            pr.points,
            marker=marker,
            title=f"PR curve, area {pr.auc:.3f}, AP {pr.average_precision:.3f}",
        ),
        width="stretch",
    )


def _strategy_result(result: ThresholdResult, slicing: Slicing) -> None:
    st.subheader(f"{STRATEGY_LABELS[result.strategy]}: before and after")
    st.caption(
        "Before: the slider thresholds, as in the metrics above. After: the "
        "strategy's thresholds, which the sliders get only from the button below."
    )

    cells = st.columns(3)
    cells[0].metric("Cost at slider thresholds", format_cost(result.total_cost_before))
    cells[1].metric(
        "Cost at strategy thresholds",
        format_cost(result.total_cost),
        delta=_cost_delta(result.total_cost - result.total_cost_before),
        delta_color="inverse",
    )
    gaps = ", ".join(f"{rate} {gap:.3f}" for rate, gap in result.gap.items())
    cells[2].metric("Gap at strategy thresholds", gaps or "none")
    _tolerance_note(result)

    if result.is_randomized:
        st.info(
            "Equalized odds mixes thresholds at random within a slice, so the slice "
            "sliders keep their values. The rates below are expected values."
        )
    else:
        chosen = {name: float(value) for name, value in result.thresholds.items()}
        st.button(
            "Set the slice sliders to these thresholds",
            key="wi_strategy_apply",
            on_click=_apply_strategy,
            args=(slicing, chosen),
        )
    if result.unconstrained:
        st.caption(
            "Left out of the constraint (rate undefined), each at its own "
            f"lowest-cost threshold: {', '.join(result.unconstrained)}."
        )

    table_with_download(result.table, key="wi_strategy_table", file_name="strategy.csv")
    rates = list(STRATEGY_RATE_TITLES)
    restore("wi_strategy_rate", options=rates, default=rates[0])
    rate = st.selectbox(
        "Rate to chart",
        rates,
        format_func=STRATEGY_RATE_TITLES.get,
        key="wi_strategy_rate",
    )
    remember("wi_strategy_rate")
    st.altair_chart(threshold_strategy_chart(result.table, rate), width="stretch")


def _cost_delta(change: float) -> str | None:
    """Return the cost change for a metric delta, or None when it is zero."""
    if abs(change) < 1e-9:
        return None
    return f"{change:+,.1f}"


def _tolerance_note(result: ThresholdResult) -> None:
    """Explain a parity gap above the tolerance: no thresholds could meet it."""
    over = {
        rate: gap for rate, gap in result.gap.items() if gap > result.tolerance + 1e-12
    }
    if result.is_randomized or not over:
        return
    rate, gap = next(iter(over.items()))
    st.caption(
        f"No thresholds bring the {rate} gap within the tolerance "
        f"{result.tolerance:.3f}, because each slice reaches only a few {rate} "
        f"values. These thresholds have the smallest gap the scores allow, "
        f"{gap:.3f}, at the lowest cost."
    )
