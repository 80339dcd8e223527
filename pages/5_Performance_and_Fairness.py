"""Performance and fairness: metrics per slice, thresholds, strategies, two models."""

from __future__ import annotations

import streamlit as st

from pages.ui.binary_performance import binary_performance
from pages.ui.edits import edited_view
from pages.ui.performance import (
    model_comparison,
    multiclass_performance,
    regression_performance,
)
from pages.ui.slicing import slicing_controls
from pages.ui.whatif import whatif_context

st.set_page_config(page_title="Performance and fairness - Runlens", layout="wide")
st.title("Performance and fairness")

context = edited_view(whatif_context())
slicing = slicing_controls(context)

if context.task == "binary":
    binary_performance(context, slicing)
elif context.task == "multiclass":
    multiclass_performance(context, slicing)
else:
    regression_performance(context, slicing)

if len(context.models) > 1:
    model_comparison(context, slicing)
