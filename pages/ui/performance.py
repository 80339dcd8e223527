"""Multi-class, regression and two-model views of the Performance and Fairness page."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import streamlit as st

from analysis.edited_counterfactual import default_min_difference
from analysis.multiclass import (
    class_metrics,
    multiclass_confusion,
    multiclass_metrics_by_slice,
    multiclass_summary,
    one_vs_rest_curves,
    one_vs_rest_rates_by_slice,
)
from analysis.performance_charts import (
    multiclass_confusion_chart,
    one_vs_rest_rate_chart,
    pr_curve_chart,
    predicted_actual_chart,
    residual_chart,
    roc_curve_chart,
    slice_error_chart,
    square_matrix_chart,
)
from analysis.regression import (
    prediction_bins,
    regression_metrics_by_slice,
    residual_bins,
)
from analysis.slices import sort_slices
from pages.ui.slicing import Slicing, current_threshold, row_thresholds
from pages.ui.state import remember, restore
from pages.ui.tables import PERCENT_FORMAT, rounded_percents, table_with_download
from pages.ui.whatif import LoadedModel, WhatIf

logger = logging.getLogger(__name__)

EDITOR_PAGE = "pages/2_What-If.py"
RATE_FORMAT = st.column_config.NumberColumn(format="%.3f")
MAX_LISTED_ROWS = 1000


def multiclass_performance(context: WhatIf, slicing: Slicing) -> None:
    """Draw accuracy, per-class metrics, the confusion matrix, curves and slices."""
    y_true = context.frame[context.label]
    classes = context.classes
    summaries = []
    for model in context.models:
        predicted = context.predictions(model)
        summaries.append(
            {"model": model.name, **multiclass_summary(y_true, predicted, classes)}
        )
    summary = pd.DataFrame(summaries)
    first = summary.iloc[0]
    cells = st.columns(5)
    for cell, name in zip(
        cells,
        ["accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1"],
        strict=True,
    ):
        cell.metric(name.replace("_", " ").capitalize(), f"{first[name]:.3f}")
    if len(context.models) > 1:
        st.dataframe(summary, hide_index=True, key="wi_mc_summary")

    model = _model_choice(context)
    predicted = context.predictions(model)
    st.subheader("Per class")
    table_with_download(
        class_metrics(y_true, predicted, classes),
        key="wi_class_metrics",
        file_name="class_metrics.csv",
        column_config={name: RATE_FORMAT for name in ("precision", "recall", "f1")},
    )
    confusion = multiclass_confusion(y_true, predicted, classes)
    n_classes = confusion["actual"].nunique()
    left, right = st.columns([3, 2])
    left.altair_chart(
        square_matrix_chart(multiclass_confusion_chart(confusion), n_classes),
        width="content",
    )
    with right:
        table_with_download(
            rounded_percents(confusion, ["percent", "row_percent"]),
            key="wi_mc_confusion",
            file_name="confusion_matrix.csv",
            column_config={"percent": PERCENT_FORMAT, "row_percent": PERCENT_FORMAT},
        )

    curves = one_vs_rest_curves(y_true, model.scores, classes)
    left, right = st.columns(2)
    left.altair_chart(
        roc_curve_chart(curves.roc, color="class", title="One-vs-rest ROC curves"),
        width="stretch",
    )
    right.altair_chart(
        pr_curve_chart(curves.pr, color="class", title="One-vs-rest PR curves"),
        width="stretch",
    )
    st.dataframe(curves.areas, hide_index=True, key="wi_mc_areas")

    if not slicing.active:
        st.info("Choose a slice feature above for per-slice metrics and rates.")
        return
    st.subheader(f"By slice of {slicing.name}")
    tables = [
        multiclass_metrics_by_slice(
            y_true, context.predictions(loaded), slicing.labels, classes
        ).assign(model=loaded.name)
        for loaded in context.models
    ]
    _sorted_table(pd.concat(tables, ignore_index=True), "wi_mc_slices", context)
    rates = one_vs_rest_rates_by_slice(y_true, predicted, slicing.labels, classes)
    rate_names = ["tpr", "fpr", "fnr", "precision", "f1", "selection_rate"]
    restore("wi_mc_rate", options=rate_names, default="tpr")
    rate = st.selectbox("One-vs-rest rate", rate_names, key="wi_mc_rate")
    remember("wi_mc_rate")
    st.altair_chart(one_vs_rest_rate_chart(rates, rate), width="stretch")
    table_with_download(rates, key="wi_mc_rates", file_name="one_vs_rest_by_slice.csv")


def regression_performance(context: WhatIf, slicing: Slicing) -> None:
    """Draw error statistics per slice, residuals and predicted against actual."""
    actual = context.frame[context.label].to_numpy(dtype=float, na_value=np.nan)
    labelled = np.isfinite(actual)
    if not labelled.all():
        st.caption(
            f"{int((~labelled).sum()):,} rows without a numeric label are left out."
        )
    labels = (
        slicing.labels[labelled]
        if slicing.labels is not None
        else np.zeros(int(labelled.sum()))
    )
    tables = [
        regression_metrics_by_slice(
            actual[labelled], loaded.scores[labelled], labels
        ).assign(model=loaded.name)
        for loaded in context.models
    ]
    overall = tables[0].iloc[0]
    names = {
        "MAE": "mae",
        "RMSE": "rmse",
        "R²": "r2",
        "Mean error (bias)": "mean_error",
        "Median error": "median_error",
        "Median absolute error": "median_absolute_error",
    }
    cells = st.columns(len(names))
    for cell, (title, column) in zip(cells, names.items(), strict=True):
        cell.metric(title, f"{overall[column]:.4g}")

    model = _model_choice(context)
    predictions = model.scores[labelled]
    left, right = st.columns(2)
    left.altair_chart(
        residual_chart(residual_bins(actual[labelled], predictions)), width="stretch"
    )
    right.altair_chart(
        predicted_actual_chart(prediction_bins(actual[labelled], predictions)),
        width="stretch",
    )
    if not slicing.active:
        table = pd.concat(tables, ignore_index=True)
        st.dataframe(_with_model(table, context), hide_index=True, key="wi_reg_table")
        return
    st.subheader(f"By slice of {slicing.name}")
    _sorted_table(pd.concat(tables, ignore_index=True), "wi_reg_slices", context)
    st.altair_chart(
        slice_error_chart(tables[context.models.index(model)]), width="stretch"
    )


def model_comparison(context: WhatIf, slicing: Slicing) -> None:
    """Draw where two models disagree, with a link to open a row in the editor."""
    first, second = context.models[:2]
    st.subheader(f"Two models: {first.name} and {second.name}")
    if context.task == "regression":
        first_values, second_values = first.scores, second.scores
        restore(
            "wi_disagree_gap",
            valid=lambda v: v >= 0,
            default=default_min_difference(first_values),
        )
        gap = st.number_input(
            "Rows disagree when the predictions differ by at least",
            min_value=0.0,
            key="wi_disagree_gap",
        )
        remember("wi_disagree_gap")
        disagree = np.abs(first_values - second_values) >= gap
        columns = {
            first.name: first_values,
            second.name: second_values,
            "difference": second_values - first_values,
        }
    else:
        thresholds = row_thresholds(slicing, current_threshold(), len(context.frame))
        first_values = context.predictions(first, thresholds)
        second_values = context.predictions(second, thresholds)
        disagree = first_values != second_values
        columns = {first.name: first_values, second.name: second_values}
        if context.task == "binary":
            columns[f"score {first.name}"] = context.positive_scores(first)
            columns[f"score {second.name}"] = context.positive_scores(second)

    rows = np.flatnonzero(disagree)
    cells = st.columns(2)
    cells[0].metric("Rows where they disagree", f"{len(rows):,}")
    cells[1].metric("Agreement", f"{1 - len(rows) / max(len(disagree), 1):.1%}")
    listed = rows[:MAX_LISTED_ROWS]
    # Rows are listed by editor row id, which differs from the position once rows
    # were added or deleted in the editor.
    listed_ids = context.ids()[listed]
    table = pd.DataFrame({"row": listed_ids})
    for name, values in columns.items():
        table[name] = np.asarray(values)[listed]
    table[context.label] = context.frame[context.label].to_numpy()[listed]
    table = pd.concat(
        [table, context.frame.iloc[listed][context.features].reset_index(drop=True)],
        axis=1,
    )
    if len(rows) > MAX_LISTED_ROWS:
        st.caption(f"The first {MAX_LISTED_ROWS:,} of {len(rows):,} rows are listed.")
    table_with_download(table, key="wi_disagreements", file_name="disagreements.csv")
    if len(rows):
        open_row_button(listed_ids, key="wi_disagree_open")


def open_row_button(rows: np.ndarray, *, key: str) -> None:
    """Offer to open one of ``rows`` in the datapoint editor."""
    cells = st.columns([2, 1])
    chosen = cells[0].selectbox("Row", [int(row) for row in rows], key=f"{key}_row")
    if cells[1].button("Open in the datapoint editor", key=key):
        st.switch_page(EDITOR_PAGE, query_params={"row": str(chosen)})


def _model_choice(context: WhatIf) -> LoadedModel:
    if len(context.models) == 1:
        return context.model
    names = [model.name for model in context.models]
    restore("wi_perf_model", options=names, default=names[0])
    name = st.radio("Model for details", names, key="wi_perf_model", horizontal=True)
    remember("wi_perf_model")
    return context.models[names.index(name)]


def _sorted_table(table: pd.DataFrame, key: str, context: WhatIf) -> None:
    sortable = [name for name in table.columns if name != "model"]
    restore(f"{key}_sort", options=sortable, default="slice")
    sort_by = st.selectbox("Sort slices by", sortable, key=f"{key}_sort")
    remember(f"{key}_sort")
    parts = [
        sort_slices(part, sort_by) for _, part in table.groupby("model", sort=False)
    ]
    table = _with_model(pd.concat(parts, ignore_index=True), context)
    few = int(table.get("small", pd.Series(dtype=bool)).sum())
    if few:
        st.caption(f"{few} slice(s) have fewer than 30 rows (small = True).")
    table_with_download(table, key=key, file_name=f"{key}.csv")


def _with_model(table: pd.DataFrame, context: WhatIf) -> pd.DataFrame:
    if len(context.models) == 1:
        return table.drop(columns="model")
    return table[["model", *[name for name in table.columns if name != "model"]]]
