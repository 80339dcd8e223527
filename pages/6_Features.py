"""Features: statistics of every feature and model output, and two datasets compared."""

from __future__ import annotations

import streamlit as st

from pages.ui.edits import edited_view
from pages.ui.features import comparison_section, overview_section
from pages.ui.whatif import whatif_context

st.set_page_config(page_title="Features - Runlens", layout="wide")
st.title("Features")

context = edited_view(whatif_context())
overview_tab, compare_tab = st.tabs(["Overview", "Compare two datasets"])
with overview_tab:
    overview_section(context)
with compare_tab:
    comparison_section(context)
