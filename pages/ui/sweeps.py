"""Sections of the Sweeps page: the editor, the controls, results and best run.

Each function reads its widgets, calls ``tracking.sweeps`` for the work and
draws the result. Every section reads the sweep from the store when it runs,
so a change made from a terminal shows at the next rerun. Widget keys are
fixed so that tests can drive them.
"""

from __future__ import annotations

import secrets
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

import tracking
from tracking import RunStore
from tracking.sweeps import PREVIEW_SIZE, SweepError
from tracking.sweeps import store as sweep_store
from tracking.sweeps.agents import start_agent_process
from tracking.sweeps.charts import (
    importance_chart,
    metric_chart,
    parallel_coordinates_chart,
)
from tracking.sweeps.config import SweepConfig, check_sweep_text
from tracking.sweeps.previews import preview_caption, preview_trials
from tracking.sweeps.report import (
    best_run,
    default_sweep_id,
    parallel_frame,
    parameter_importance,
    runs_page_filter,
    sweeps_table,
)

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
# Agents started from this session, by sweep id: {sweep_id: Popen}.
AGENTS_KEY = "sweep_agents"
NOTICE_KEY = "sweeps_notice"
SEED_KEY = "sweep_seed"
AGENT_LOG_LINES = 40


def agents() -> dict[str, subprocess.Popen]:
    """Return the agent processes this session started, by sweep id."""
    return st.session_state.setdefault(AGENTS_KEY, {})


def agent_running(sweep_id: str) -> bool:
    process = agents().get(sweep_id)
    return process is not None and process.poll() is None


def agent_log_path(sweep_id: str) -> Path:
    """Return the file that an agent started from the page writes its output to."""
    return Path(tempfile.gettempdir()) / f"runlens-agent-{sweep_id}.log"


def show_notice() -> None:
    """Show the outcome of the last create or state change, kept over a rerun."""
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice is not None:
        kind, message = notice
        (st.success if kind == "success" else st.error)(message)


def create_form(store: RunStore, expanded: bool) -> None:
    """Draw the YAML editor, its problems, a preview of the trials, and Create."""
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
        # The sweep is created with the seed of the preview, so the preview
        # shows the trials that its agents will run.
        seed = st.session_state.setdefault(SEED_KEY, secrets.randbelow(2**31))
        if config is not None:
            _preview(config, seed)
        if st.button(
            "Create sweep", type="primary", disabled=config is None, key="create_sweep"
        ):
            sweep_id = tracking.sweep(
                config.raw, project=project or None, location=store.url, seed=seed
            )
            del st.session_state[SEED_KEY]
            st.session_state["sweep_id"] = sweep_id
            st.session_state[NOTICE_KEY] = ("success", f"Created sweep {sweep_id}")
            st.rerun()


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
    chosen = st.session_state.get("sweep_id")
    default = chosen if chosen in ids else default_sweep_id(table)
    return st.selectbox(
        "Sweep",
        ids,
        index=ids.index(default),
        format_func=labels.get,
        key="sweep_id",
    )


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
    count = columns[-2].number_input(
        "Trials", min_value=1, value=10, key=f"count_{sweep.sweep_id}"
    )
    if agent_running(sweep.sweep_id):
        if columns[-1].button("Stop agent", key=f"stop_agent_{sweep.sweep_id}"):
            agents()[sweep.sweep_id].terminate()
            st.rerun()
    elif columns[-1].button(
        "Start agent",
        key=f"start_agent_{sweep.sweep_id}",
        disabled=sweep.state != sweep_store.RUNNING,
    ):
        agents()[sweep.sweep_id] = start_agent_process(
            sweep.sweep_id,
            count=int(count),
            location=store.url,
            cwd=REPOSITORY,
            log_path=agent_log_path(sweep.sweep_id),
        )
        st.rerun()


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
    path = agent_log_path(sweep_id)
    if sweep_id not in agents() or not path.exists():
        return
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    with st.expander("Agent output"):
        st.code("\n".join(lines[-AGENT_LOG_LINES:]) or "(no output yet)", language=None)
