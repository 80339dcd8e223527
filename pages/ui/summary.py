"""A row of headline metrics for each model, at the current thresholds."""

from __future__ import annotations

import logging

import numpy as np
import streamlit as st

from analysis.metrics import binary_metrics
from analysis.multiclass import multiclass_summary
from analysis.regression import regression_metrics
from analysis.slices import metrics_by_slice_at_thresholds
from pages.ui.slicing import Slicing
from pages.ui.whatif import LoadedModel, WhatIf

logger = logging.getLogger(__name__)


def summary_metrics(context: WhatIf, threshold: float, slicing: Slicing) -> None:
    """Draw accuracy (or MAE and R-squared) per model and the row count.

    Binary rows are predicted at their slice's threshold, else at ``threshold``.
    """
    cells = st.columns(2 * len(context.models) + 1)
    position = 0
    for model in context.models:
        suffix = context.model_suffix(model)
        for title, value in _headline(context, model, threshold, slicing):
            cells[position].metric(title + suffix, value, help=f"Model: {model.name}")
            position += 1
    cells[position].metric("Rows", f"{len(context.frame):,}")


def _headline(
    context: WhatIf, model: LoadedModel, threshold: float, slicing: Slicing
) -> list[tuple[str, str]]:
    if context.task == "regression":
        actual = context.frame[context.label].to_numpy(dtype=float, na_value=np.nan)
        labelled = np.isfinite(actual)
        metrics = regression_metrics(actual[labelled], model.scores[labelled])
        return [("MAE", f"{metrics['mae']:.4g}"), ("R²", f"{metrics['r2']:.3f}")]
    if context.task == "multiclass":
        summary = multiclass_summary(
            context.frame[context.label], context.predictions(model), context.classes
        )
        return [
            ("Accuracy", f"{summary['accuracy']:.3f}"),
            ("Macro F1", f"{summary['macro_f1']:.3f}"),
        ]

    scores = context.positive_scores(model)
    if slicing.active and slicing.thresholds:
        overall = metrics_by_slice_at_thresholds(
            context.y_true(),
            scores,
            slicing.labels,
            slicing.thresholds,
            default_threshold=threshold,
        ).iloc[0]
    else:
        overall = binary_metrics(context.y_true(), scores, threshold)
    return [("Accuracy", f"{overall['accuracy']:.3f}"), ("F1", f"{overall['f1']:.3f}")]
