"""Runs: a sortable, filterable table of a project's runs and their charts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.charts import metric_history_chart
from pages.ui.store import get_store, load_projects, load_runs
from tracking.query import all_tags, filter_runs, run_table

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

runs = load_runs(store, store.url, project)
if runs.empty:
    st.info(f"Project '{project}' has no runs.")
    st.stop()

# Filters

columns = st.columns([2, 2, 3])
states = columns[0].multiselect(
    "State", sorted(runs["state"].unique()), key="state_filter"
)
tags = columns[1].multiselect("Tags", all_tags(runs), key="tag_filter")
text = columns[2].text_input(
    "Search", key="text_filter", placeholder="name, id, notes, group or tag"
)
shown = filter_runs(runs, states=states, tags=tags, text=text)

table_columns = run_table(runs).columns.tolist()
sort_columns = st.columns([3, 1])
sort_by = sort_columns[0].selectbox(
    "Sort by", table_columns, index=table_columns.index("created_at"), key="sort_by"
)
descending = sort_columns[1].toggle("Descending", value=True, key="sort_desc")
table = run_table(shown, sort_by=sort_by, ascending=not descending)

st.caption(f"{len(table)} of {len(runs)} runs")
st.dataframe(
    table,
    hide_index=True,
    column_config={
        "created_at": st.column_config.DatetimeColumn(
            "started", format="YYYY-MM-DD HH:mm:ss"
        ),
        "duration": st.column_config.NumberColumn("duration (s)", format="%.1f"),
    },
    key="runs_table",
)

# Charts

labels = {row.run_id: f"{row.name} ({row.run_id})" for row in table.itertuples()}
selected = st.multiselect(
    "Runs to chart",
    list(labels),
    default=list(labels)[:5],
    format_func=labels.get,
    key="chart_runs",
)
if selected:
    keys = store.history_keys(project, selected)
    default_metrics = [key for key in keys if not key.startswith("_")][:4]
    metrics = st.multiselect("Metrics", keys, default=default_metrics, key="metrics")
    if metrics:
        history = store.history(project, selected, keys=metrics)
        names = runs.set_index("run_id")["name"]
        history["run_name"] = history["run_id"].map(names)
        chart_columns = st.columns(2)
        for index, metric in enumerate(metrics):
            chart = metric_history_chart(history[history["key"] == metric], metric)
            chart_columns[index % 2].altair_chart(chart, width="stretch")

# One run

st.subheader("Run details")
run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="detail_run")
if run_id:
    record = store.run(project, run_id)
    started = pd.to_datetime(record["created_at"], unit="s", utc=True)
    st.write(
        f"**{record['name']}** · state **{record['state']}** · "
        f"started {started:%Y-%m-%d %H:%M:%S} UTC"
    )
    config_tab, summary_tab, artifacts_tab = st.tabs(["Config", "Summary", "Artifacts"])
    config_tab.json(record["config"])
    summary_tab.json(record["summary"])
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
