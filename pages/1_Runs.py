"""Runs: filter, sort and page a project's runs, chart and compare them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.run_media import summary_for_display
from pages.ui import runs as sections
from pages.ui.run_media import media_section
from pages.ui.store import get_store, load_projects, load_runs

st.set_page_config(page_title="Runs - Runlens", layout="wide")
st.title("Runs")

store = get_store()
projects = load_projects(store, store.url)
if projects.empty:
    st.info(
        "No runs yet. Create the demo project on the home page, or log runs "
        "from a script with `import tracking as wandb`."
    )
    st.stop()

project_names = projects["project"].tolist()
requested = st.query_params.get("project")
default_index = project_names.index(requested) if requested in project_names else 0
project = st.selectbox("Project", project_names, index=default_index, key="project")
st.query_params["project"] = project
sections.show_notice()

if st.toggle("Show deleted runs", key="show_deleted"):
    deleted = sections.load_deleted_runs(store, store.url, project)
    if deleted.empty:
        st.info(f"Project '{project}' has no deleted runs.")
    else:
        sections.deleted_runs_section(store, project, deleted)
    st.stop()

runs = load_runs(store, store.url, project)
if runs.empty:
    st.info(f"Project '{project}' has no runs.")
    st.stop()

running = int((runs["state"] == "running").sum())
refresh = sections.REFRESH_SECONDS if running else None
if running:
    st.caption(
        f"{running} run(s) running: the table and charts reload every "
        f"{sections.REFRESH_SECONDS:.0f} s."
    )


def runs_workspace() -> None:
    """Draw the table, the run selection, the charts and the diff.

    A fragment reruns this on a timer while runs are running.
    """
    sections.reload_page_after_action()
    live = load_runs(store, store.url, project)
    filtered = sections.filtered_runs(live)
    table = sections.sorted_table(filtered, live)
    page = sections.table_section(table, len(live), project)

    labels = {row.run_id: f"{row.name} ({row.run_id})" for row in live.itertuples()}
    selected = sections.selected_runs(page, filtered, labels)
    sections.delete_button(store, project, selected)

    st.subheader("Charts")
    if selected:
        keys = store.history_keys(project, selected)
        chosen_runs = live[live["run_id"].isin(selected)]
        settings = sections.chart_settings(keys, chosen_runs)
        sections.metric_charts(store, project, selected, live, settings)
    else:
        st.caption("Select runs to chart their metrics.")
    chosen = live[live["run_id"].isin(selected)]
    sections.comparison_charts(filtered, chosen)

    st.subheader("Diff")
    sections.diff_section(store, project, selected, labels)


st.fragment(runs_workspace, run_every=refresh)()

# One run

st.subheader("Run details")
labels = {row.run_id: f"{row.name} ({row.run_id})" for row in runs.itertuples()}
# ?run= (the link in run.url) opens that run here, once per new link.
linked_run = st.query_params.get("run")
if linked_run in labels and st.session_state.get("detail_run_seen") != linked_run:
    st.session_state["detail_run"] = linked_run
    st.session_state["detail_run_seen"] = linked_run
run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="detail_run")
if run_id:
    st.query_params["run"] = run_id
    st.session_state["detail_run_seen"] = run_id
    record = store.run(project, run_id)
    started = pd.to_datetime(record["created_at"], unit="s", utc=True)
    st.write(
        f"**{record['name']}** · state **{record['state']}** · "
        f"started {started:%Y-%m-%d %H:%M:%S} UTC"
    )
    config_tab, summary_tab, media_tab, edit_tab, artifacts_tab = st.tabs(
        ["Config", "Summary", "Media", "Tags, notes and group", "Artifacts"]
    )
    config_tab.json(record["config"])
    summary_tab.json(summary_for_display(record["summary"]))
    with media_tab:
        media_section(store, project, run_id)
    with edit_tab:
        sections.edit_form(store, project, record)
    artifacts = store.artifacts(project, run_id)
    if artifacts.empty:
        artifacts_tab.write("This run stored no artifacts.")
    else:
        artifacts_tab.dataframe(
            artifacts[["name", "type", "format", "size", "created_at", "digest"]],
            hide_index=True,
        )
        if (artifacts["type"] == "model").any():
            artifacts_tab.page_link(
                "pages/2_What-If.py",
                label="Analyse this run's model in What-If",
                query_params={"project": project, "run": run_id},
            )
