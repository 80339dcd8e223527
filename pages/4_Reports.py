"""Reports: compose Markdown, chart and run table blocks, view and export them.

``?report=<id>`` opens a saved report.
"""

from __future__ import annotations

import streamlit as st

from pages.ui import reports as sections
from pages.ui.store import get_store, load_projects
from tracking.reports import ReportError, list_reports, load_report

st.set_page_config(page_title="Reports - Runlens", layout="wide")
st.title("Reports")

store = get_store()
saved = list_reports(store)
titles = dict(zip(saved["report_id"], saved["title"], strict=True))
options = [sections.NEW_REPORT, *titles]

# A report just saved or deleted is chosen before the widget is drawn.
pending = st.session_state.pop("pending_report", None)
requested = st.query_params.get("report")
if pending is not None:
    st.session_state["report_choice"] = pending
    st.session_state["edit_report"] = False
elif "report_choice" not in st.session_state:
    # Open the linked report, else the newest one, else a new one.
    if requested in titles:
        st.session_state["report_choice"] = requested
    elif titles:
        st.session_state["report_choice"] = options[1]
    else:
        st.session_state["report_choice"] = sections.NEW_REPORT
if requested and requested not in titles:
    st.error(
        f"Report {requested!r} was not found in this store; it may be deleted, or "
        "the link may point at another store."
    )

choice = st.selectbox(
    "Report",
    options,
    format_func=lambda option: (
        "New report" if option == sections.NEW_REPORT else titles[option]
    ),
    key="report_choice",
)
notice = st.session_state.pop("report_notice", None)
if notice:
    st.success(notice)

projects = load_projects(store, store.url)["project"].tolist()
draft = st.session_state.get(sections.DRAFT)

if choice == sections.NEW_REPORT:
    st.query_params.pop("report", None)
    if draft is None or draft["report_id"] is not None:
        sections.start_draft(None)
    sections.edit_report(store, projects)
    st.stop()

st.query_params["report"] = choice
try:
    report = load_report(store, choice)
except ReportError as exc:
    st.error(str(exc))
    st.stop()

if st.toggle("Edit", key="edit_report"):
    if draft is None or draft["report_id"] != choice:
        sections.start_draft(report)
    sections.edit_report(store, projects)
else:
    sections.view_report(store, report)
