"""Cached access to the run store for the app's pages."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import tracking
from tracking import RunStore, StoreError
from tracking.store import configured_location


@st.cache_resource(show_spinner=False)
def _open_store(location: str | None) -> RunStore:
    return tracking.open_store(location)


def get_store() -> RunStore:
    """Return the store named by RUNLENS_STORE (default ./runlens).

    Shows the error and stops the page when the store cannot be opened.
    """
    try:
        return _open_store(configured_location())
    except StoreError as exc:
        st.error(f"The run store could not be opened: {exc}")
        st.stop()


@st.cache_data(ttl=5, show_spinner=False)
def load_projects(_store: RunStore, url: str) -> pd.DataFrame:
    return _store.projects()


@st.cache_data(ttl=5, show_spinner=False)
def load_runs(_store: RunStore, url: str, project: str) -> pd.DataFrame:
    return _store.runs(project)


def clear_store_caches() -> None:
    """Forget cached projects and runs, after new runs were written."""
    load_projects.clear()
    load_runs.clear()
