"""Datapoints: every row as a point, by any feature or model output."""

from __future__ import annotations

import streamlit as st

from pages.ui.edits import edited_view
from pages.ui.explorer import explorer
from pages.ui.slicing import current_slicing
from pages.ui.whatif import whatif_context

st.set_page_config(page_title="Datapoints - Runlens", layout="wide")
st.title("Datapoints")

context = edited_view(whatif_context())
explorer(context, current_slicing(context))
