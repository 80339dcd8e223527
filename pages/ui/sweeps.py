"""Sections of the Sweeps page: the editor, the controls, results and best run.

Each function reads its widgets, calls ``tracking.sweeps`` for the work and
draws the result. Every section reads the sweep from the store when it runs,
so a change made from a terminal shows at the next rerun. Widget keys are
fixed so that tests can drive them.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pandas as pd
import streamlit as st

import tracking
from tracking import RunStore, TrackingError
from tracking.sweeps import PREVIEW_SIZE, SweepError
from tracking.sweeps import store as sweep_store
from tracking.sweeps.charts import (
    importance_chart,
    metric_chart,
    parallel_coordinates_chart,
)
from tracking.sweeps.config import SweepConfig, check_sweep_text
from tracking.sweeps.previews import preview_caption, preview_trials
from tracking.sweeps.report import (
    ROUGH_IMPORTANCE_TRIALS,
    best_run,
    default_sweep_id,
    importance_trial_count,
    parallel_frame,
    parameter_importance,
    runs_page_filter,
    sweeps_table,
    trials_table,
)

from .sweep_agents import AgentRunningError, agent_registry

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPOSITORY / "examples" / "sweep_adult.yaml"
RUNS_PAGE = "pages/1_Runs.py"
# The commands each sweep state allows, as (button label, command).
STATE_BUTTONS = (
    ("Pause", "pause"),
    ("Resume", "resume"),
    ("Stop", "stop"),
    ("Cancel", "cancel"),
)
SELECTED_KEY = "sweep_id"
EDITOR_OPEN_KEY = "sweep_editor_open"
YAML_KEY = "sweep_yaml"
PROJECT_KEY = "sweep_project"
NOTICE_KEY = "sweeps_notice"
SEED_KEY = "sweep_seed"
AGENT_LOG_LINES = 40


def agent_running(sweep_id: str) -> bool:
    return agent_registry().running(sweep_id)


def show_notice() -> None:
    """Show the outcome of the last create or state change, kept over a rerun."""
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice is not None:
        kind, message = notice
        (st.success if kind == "success" else st.error)(message)


def create_form(store: RunStore, expanded: bool) -> None:
    """Draw the YAML editor, its problems, a preview of the trials, and Create.

    The widgets get their first values through session state, so the Create
    callback can close the editor and select the new sweep before the rerun.
    """
    st.session_state.setdefault(EDITOR_OPEN_KEY, expanded)
    st.session_state.setdefault(YAML_KEY, EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    with st.expander("Create a sweep", key=EDITOR_OPEN_KEY, on_change="rerun"):
        text = st.text_area(
            "Sweep config (W&B's YAML schema)", height=380, key=YAML_KEY
        )
        st.text_input("Project", key=PROJECT_KEY, placeholder="the config's project")
        config, errors = check_sweep_text(text)
        for error in errors:
            st.error(error)
        # The sweep is created with the seed of the preview, so the preview
        # shows the trials that its agents will run.
        seed = st.session_state.setdefault(SEED_KEY, secrets.randbelow(2**31))
        if config is not None:
            _preview(config, seed)
        st.button(
            "Create sweep",
            type="primary",
            disabled=config is None,
            key="create_sweep",
            on_click=_create_sweep,
            args=(store, config, seed),
        )


def _create_sweep(store: RunStore, config: SweepConfig, seed: int) -> None:
    """Create the sweep, then select it and close the editor for the next run.

    A button callback runs before the page script, so it may set the values
    of widgets that the previous run drew.
    """
    project = st.session_state.get(PROJECT_KEY) or None
    try:
        sweep_id = tracking.sweep(
            config.raw, project=project, location=store.url, seed=seed
        )
    except TrackingError as exc:
        st.session_state[NOTICE_KEY] = ("error", f"The sweep was not created: {exc}")
        return

    del st.session_state[SEED_KEY]
    st.session_state[SELECTED_KEY] = sweep_id
    st.session_state[EDITOR_OPEN_KEY] = False
    st.session_state[NOTICE_KEY] = ("success", f"Created sweep {sweep_id}")


def _preview(config: SweepConfig, seed: int) -> None:
    previews = preview_trials(config, seed, n=PREVIEW_SIZE)
    st.caption(f"{preview_caption(config)} (seed {seed}).")
    rows = pd.DataFrame([{"trial": trial.number, **trial.params} for trial in previews])
    st.dataframe(_as_displayable(rows), hide_index=True)


def _as_displayable(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn columns that mix value types into text, which Arrow can store."""
    for column in frame.columns:
        kinds = {type(value) for value in frame[column]}
        if len(kinds) > 1 and not kinds <= {int, float}:
            frame[column] = frame[column].map(str)
    return frame


def sweep_selector(table: pd.DataFrame) -> str:
    """Draw the sweep choice, which opens on the newest running or paused sweep."""
    ids = table["sweep_id"].tolist()
    labels = {
        row.sweep_id: f"{row.sweep_id} {row.name} ({row.method}, {row.state})"
        for row in table.itertuples()
    }
    # The choice is set only through session state, never with index=, so a
    # sweep selected by the Create callback is the one the widget shows.
    if st.session_state.get(SELECTED_KEY) not in ids:
        st.session_state[SELECTED_KEY] = default_sweep_id(table)
    return st.selectbox("Sweep", ids, format_func=labels.get, key=SELECTED_KEY)


def controls(store: RunStore, sweep: sweep_store.SweepRecord) -> None:
    """Draw the state buttons and the agent's trial count, start and stop."""
    columns = st.columns(len(STATE_BUTTONS) + 2)
    for column, (label, command) in zip(columns, STATE_BUTTONS, strict=False):
        allowed = sweep.state in sweep_store.COMMANDS[command][0]
        if column.button(
            label, key=f"{command}_{sweep.sweep_id}", disabled=not allowed
        ):
            try:
                sweep_store.set_sweep_state(store, sweep.sweep_id, command)
            except SweepError as exc:
                # Another client changed the state first, and the rerun shows it.
                st.session_state[NOTICE_KEY] = ("error", str(exc))
            st.rerun()

    if sweep.config.program is None:
        columns[-1].caption("No program: run agents with a train function.")
        return
    columns[-2].number_input(
        "Trials", min_value=1, value=10, key=f"count_{sweep.sweep_id}"
    )
    registry = agent_registry()
    if registry.running(sweep.sweep_id):
        columns[-1].button(
            "Stop agent",
            key=f"stop_agent_{sweep.sweep_id}",
            on_click=registry.stop,
            args=(sweep.sweep_id,),
        )
    else:
        # A callback runs even when the rerun draws Stop agent in place of this
        # button, as when another session started an agent meanwhile.
        columns[-1].button(
            "Start agent",
            key=f"start_agent_{sweep.sweep_id}",
            disabled=sweep.state != sweep_store.RUNNING,
            on_click=_start_agent,
            args=(sweep.sweep_id, store.url),
        )


def _start_agent(sweep_id: str, location: str) -> None:
    count = int(st.session_state[f"count_{sweep_id}"])
    try:
        agent_registry().start(sweep_id, count=count, location=location, cwd=REPOSITORY)
    except AgentRunningError as exc:
        st.session_state[NOTICE_KEY] = ("error", str(exc))


def results(store: RunStore, sweep_id: str) -> None:
    """Draw the sweep's counts, best run, trials table and charts."""
    sweep = sweep_store.get_sweep(store, sweep_id)
    row = sweeps_table(store, sweep.project).set_index("sweep_id").loc[sweep_id]
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
    columns[4].metric(
        f"Best {metric.name}" if metric else "Best",
        f"{row['best']:.4g}" if pd.notna(row["best"]) else "-",
    )
    if planned:
        st.progress(min(row["trials"] / planned, 1.0))
    st.caption(
        ("Agent running. " if agent_running(sweep_id) else "")
        + f"Run an agent from a terminal: `python -m tracking agent {sweep_id}`"
    )
    _agent_output(sweep_id)
    best_run_section(store, sweep, trials)

    st.subheader("Trials")
    st.dataframe(trials_table(frame, trials), hide_index=True, width="stretch")
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
        used = importance_trial_count(trials)
        if used < ROUGH_IMPORTANCE_TRIALS:
            st.caption(f"Estimates from {used} finished trials are rough.")
        st.altair_chart(importance_chart(importance), width="stretch")


def all_sweeps(store: RunStore) -> None:
    """Draw every sweep with trial counts read from the store at this run."""
    st.subheader("All sweeps")
    st.dataframe(sweeps_table(store), hide_index=True, width="stretch")


def best_run_section(
    store: RunStore,
    sweep: sweep_store.SweepRecord,
    trials: list[sweep_store.TrialRecord],
) -> None:
    """Draw the best run: its name and id, a Runs page link, metric and config."""
    best = best_run(store, sweep, trials)
    if best is None:
        return
    st.subheader("Best run")
    label = f"{best.name} ({best.run_id})" if best.name else best.run_id
    origin = "prior run" if best.prior else f"trial {best.number}"
    text_column, config_column = st.columns([3, 2])
    text_column.markdown(
        f"**{label}**, {origin}, {best.state}  \n{best.metric} = **{best.value:.6g}**"
    )
    text_column.page_link(
        RUNS_PAGE,
        label="Open the run on the Runs page",
        query_params={"project": best.project, "filter": runs_page_filter(best.run_id)},
    )
    config_column.dataframe(best.config, hide_index=True, width="stretch")


def _agent_output(sweep_id: str) -> None:
    agent = agent_registry().get(sweep_id)
    if agent is None or not agent.log_path.exists():
        return
    text = agent.log_path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    with st.expander("Agent output"):
        st.code("\n".join(lines[-AGENT_LOG_LINES:]) or "(no output yet)", language=None)
