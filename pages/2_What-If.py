"""What-If: edit a datapoint, find counterfactuals, and read partial dependence."""

from __future__ import annotations

import streamlit as st

from pages.ui.counterfactuals import distance_options, generated_view, nearest_view
from pages.ui.editor import datapoint_editor, editor_state, row_selector
from pages.ui.edits import RowThresholds, edited_view
from pages.ui.partial_dependence import partial_dependence_view
from pages.ui.slicing import current_slicing, threshold_slider
from pages.ui.summary import summary_metrics
from pages.ui.whatif import whatif_context

st.set_page_config(page_title="What-If - Runlens", layout="wide")
st.title("What-If")

context = whatif_context()
edited = edited_view(context)
slicing = current_slicing(edited)
threshold = 0.5
if context.task == "binary":
    threshold = threshold_slider("Threshold (rows without a slice threshold)")
thresholds = RowThresholds(context, slicing, threshold)
summary_metrics(edited, threshold, slicing)

overlay, _ = editor_state(context)
row_id = row_selector(context, overlay, thresholds)
editor_tab, nearest_tab, generated_tab, pdp_tab = st.tabs(
    [
        "Datapoint editor",
        "Nearest counterfactual",
        "Generated counterfactuals",
        "Partial dependence",
    ]
)
with editor_tab:
    row = datapoint_editor(context, overlay, row_id, thresholds)
with nearest_tab:
    metric, features = distance_options(edited)
    nearest_view(edited, row, thresholds.of_rows(edited), metric, features)
with generated_tab:
    generated_view(context, row, metric, thresholds)
with pdp_tab:
    partial_dependence_view(context, row)
