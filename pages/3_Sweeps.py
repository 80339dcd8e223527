"""Sweeps: create a sweep from YAML, run an agent, follow trials and results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

import tracking
from pages.ui.store import get_store
from tracking.sweeps import SweepError
from tracking.sweeps import store as sweep_store
from tracking.sweeps.agents import start_agent_process
from tracking.sweeps.charts import (
    importance_chart,
    metric_chart,
    parallel_coordinates_chart,
)
from tracking.sweeps.config import check_sweep_text
from tracking.sweeps.previews import preview_configs
from tracking.sweeps.report import (
    best_trial,
    parallel_frame,
    parameter_importance,
    sweeps_table,
)

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = REPOSITORY / "examples" / "sweep_adult.yaml"
REFRESH_SECONDS = 2.0
# The commands each sweep state allows, as (button label, command).
STATE_BUTTONS = (
    ("Pause", "pause"),
    ("Resume", "resume"),
    ("Stop", "stop"),
    ("Cancel", "cancel"),
)

st.set_page_config(page_title="Sweeps - Runlens", layout="wide")
st.title("Sweeps")

store = get_store()
agents = st.session_state.setdefault("sweep_agents", {})


def _create_form(expanded: bool) -> None:
    with st.expander("Create a sweep", expanded=expanded):
        text = st.text_area(
            "Sweep config (W&B's YAML schema)",
            value=EXAMPLE_CONFIG.read_text(encoding="utf-8"),
            height=380,
            key="sweep_yaml",
        )
        project = st.text_input(
            "Project", key="sweep_project", placeholder="the config's project"
        )
        config, errors = check_sweep_text(text)
        for error in errors:
            st.error(error)
        if config is not None:
            st.caption("First configs the sweep would run")
            st.json(preview_configs(config), expanded=False)
        if st.button("Create sweep", type="primary", disabled=config is None):
            sweep_id = tracking.sweep(
                config.raw, project=project or None, location=store.url
            )
            st.session_state["sweep_id"] = sweep_id
            st.success(f"Created sweep {sweep_id}")


table = sweeps_table(store)
_create_form(expanded=table.empty)
if table.empty:
    st.info("No sweeps yet. Create one above, or run `python -m tracking sweep FILE`.")
    st.stop()

ids = table["sweep_id"].tolist()
labels = {
    row.sweep_id: f"{row.sweep_id} {row.name} ({row.method}, {row.state})"
    for row in table.itertuples()
}
chosen = st.session_state.get("sweep_id")
sweep_id = st.selectbox(
    "Sweep",
    ids,
    index=ids.index(chosen) if chosen in ids else len(ids) - 1,
    format_func=labels.get,
    key="sweep_id",
)


def _agent_running(sweep_id: str) -> bool:
    process = agents.get(sweep_id)
    return process is not None and process.poll() is None


def _controls(sweep: sweep_store.SweepRecord) -> None:
    columns = st.columns(len(STATE_BUTTONS) + 2)
    for column, (label, command) in zip(columns, STATE_BUTTONS, strict=False):
        allowed = sweep.state in sweep_store.COMMANDS[command][0]
        if column.button(
            label, key=f"{command}_{sweep.sweep_id}", disabled=not allowed
        ):
            try:
                sweep_store.set_sweep_state(store, sweep.sweep_id, command)
            except SweepError as exc:
                st.error(str(exc))
            st.rerun()

    if sweep.config.program is None:
        columns[-1].caption("No program: run agents with a train function.")
        return
    count = columns[-2].number_input(
        "Trials", min_value=1, value=10, key=f"count_{sweep.sweep_id}"
    )
    if _agent_running(sweep.sweep_id):
        if columns[-1].button("Stop agent", key=f"stop_agent_{sweep.sweep_id}"):
            agents[sweep.sweep_id].terminate()
            st.rerun()
    elif columns[-1].button(
        "Start agent",
        key=f"start_agent_{sweep.sweep_id}",
        disabled=sweep.state != "running",
    ):
        agents[sweep.sweep_id] = start_agent_process(
            sweep.sweep_id, count=int(count), location=store.url, cwd=REPOSITORY
        )
        st.rerun()


def _results(sweep: sweep_store.SweepRecord) -> None:
    row = sweeps_table(store, sweep.project).set_index("sweep_id").loc[sweep.sweep_id]
    trials = sweep_store.list_trials(store, sweep)
    frame = sweep_store.trials_frame(store, sweep)
    metric = sweep.config.metric

    columns = st.columns(5)
    columns[0].metric("State", sweep.state)
    # A random or bayes sweep without run_cap has no planned count (NaN).
    planned = row["planned"] if pd.notna(row["planned"]) else None
    columns[1].metric(
        "Trials",
        f"{row['trials']}" + (f" / {int(planned)}" if planned else ""),
    )
    columns[2].metric("Running", int(row["running"]))
    columns[3].metric("Failed", int(row["failed"]))
    best = best_trial(sweep, trials)
    columns[4].metric(
        f"Best {metric.name}" if metric else "Best", f"{best.best:.4g}" if best else "-"
    )
    if planned:
        st.progress(min(row["trials"] / planned, 1.0))
    st.caption(
        ("Agent running. " if _agent_running(sweep.sweep_id) else "")
        + f"Run an agent from a terminal: `python -m tracking agent {sweep.sweep_id}`"
    )
    if best is not None:
        st.markdown(
            f"Best run: `{best.run_id}` (trial {best.number}) with {best.params}"
        )

    st.dataframe(frame, hide_index=True, width="stretch")
    if metric is None or frame["metric"].isna().all():
        return
    st.subheader(f"{metric.name} per trial")
    st.altair_chart(metric_chart(frame, metric.name), width="stretch")
    st.subheader("Parameters against the metric")
    st.altair_chart(
        parallel_coordinates_chart(parallel_frame(frame), metric.name),
        width="stretch",
    )
    importance = parameter_importance(sweep, trials)
    if not importance.empty:
        st.subheader("Parameter importance")
        st.altair_chart(importance_chart(importance), width="stretch")


sweep = sweep_store.get_sweep(store, sweep_id)
_controls(sweep)
active = _agent_running(sweep_id) or sweep.state == "running"


@st.fragment(run_every=REFRESH_SECONDS if active else None)
def _live_results() -> None:
    _results(sweep_store.get_sweep(store, sweep_id))


_live_results()

st.subheader("All sweeps")
st.dataframe(table, hide_index=True, width="stretch")
