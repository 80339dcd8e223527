"""Sweeps: create a sweep from YAML, run an agent, follow trials and results."""

from __future__ import annotations

import streamlit as st

from pages.ui import sweeps as sections
from pages.ui.store import get_store
from tracking.sweeps import store as sweep_store
from tracking.sweeps.report import sweeps_table

REFRESH_SECONDS = 2.0

st.set_page_config(page_title="Sweeps - Runlens", layout="wide")
st.title("Sweeps")

store = get_store()
sections.show_notice()
table = sweeps_table(store)
sections.create_form(store, expanded=table.empty)
if table.empty:
    st.info("No sweeps yet. Create one above, or run `python -m tracking sweep FILE`.")
    st.stop()

sweep_id = sections.sweep_selector(table)
sweep = sweep_store.get_sweep(store, sweep_id)
sections.controls(store, sweep)
agent_active = sections.agent_running(sweep_id)
active = agent_active or sweep.state == sweep_store.RUNNING


@st.fragment(run_every=REFRESH_SECONDS)
def _watch_state() -> None:
    """Rerun the page when the sweep's state or its page agent changes elsewhere.

    A terminal may pause the sweep, and another session may start or stop
    its agent. The buttons, the sweep list and the table below all show
    these, so the whole page reruns, not only the results.
    """
    state_changed = sweep_store.get_sweep(store, sweep_id).state != sweep.state
    if state_changed or sections.agent_running(sweep_id) != agent_active:
        st.rerun(scope="app")


@st.fragment(run_every=REFRESH_SECONDS if active else None)
def _live_results() -> None:
    """Draw the sweep's results and the list of sweeps, both read at each run."""
    sections.results(store, sweep_id)
    sections.all_sweeps(store)


_watch_state()
_live_results()
