"""Loading and caching the What-If page's model, dataset and scores.

Caches are keyed on content digests (an artifact's sha256, or the sha256 of
an upload), never on DataFrames: Streamlit hashes only a sample of a large
frame, so an edited frame could hit a stale entry.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analysis.counterfactual import DistanceStats, distance_stats
from analysis.data import DataError, read_csv
from analysis.models import ModelError, Predictor, load_model_bytes, make_predictor
from analysis.sources import load_run_dataset, load_run_model
from tracking import RunStore

PICKLE_ENV = "RUNLENS_ALLOW_PICKLE"
PICKLE_SECRET = "allow_pickle"

# Score arrays kept across sessions; each is n_rows x n_classes floats.
MAX_CACHED_SCORES = 8


@dataclass
class Source:
    """A model and a dataset chosen on the page, with their cache keys."""

    predictor: Predictor
    frame: pd.DataFrame
    model_key: str
    data_key: str
    default_label: str | None


def pickle_allowed() -> bool:
    """Return whether the operator allowed pickle and joblib uploads."""
    if os.environ.get(PICKLE_ENV, "").strip().lower() in {"1", "true", "yes"}:
        return True
    try:
        return bool(st.secrets.get(PICKLE_SECRET, False))
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return False


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@st.cache_resource(max_entries=4, show_spinner="Loading the model")
def run_model(_store: RunStore, store_url: str, digest: str, _manifest: dict) -> Any:
    return load_run_model(_store, _manifest)


@st.cache_data(max_entries=4, show_spinner="Loading the dataset")
def run_dataset(
    _store: RunStore, store_url: str, digest: str, _manifest: dict
) -> pd.DataFrame:
    return load_run_dataset(_store, _manifest)


@st.cache_resource(max_entries=4, show_spinner="Loading the model")
def uploaded_model(digest: str, filename: str, _data: bytes, allow_pickle: bool):
    model = load_model_bytes(_data, filename, allow_pickle=allow_pickle)
    return make_predictor(model)


@st.cache_data(max_entries=4, show_spinner="Reading the CSV")
def uploaded_dataset(digest: str, filename: str, _data: bytes) -> pd.DataFrame:
    return read_csv(_data, name=filename)


@st.cache_resource
def _score_store() -> tuple[OrderedDict, threading.Lock]:
    return OrderedDict(), threading.Lock()


def scores_for(source: Source, label: str | None) -> np.ndarray:
    """Return the model's scores on the dataset, computing them once, with progress."""
    cache, lock = _score_store()
    key = (source.model_key, source.data_key, label)
    with lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]

    bar = st.progress(0.0, text=f"Scoring {len(source.frame):,} rows")
    scores = source.predictor.predict_scores(
        source.frame,
        label=label,
        progress=lambda done: bar.progress(done, text=f"Scoring: {done:.0%}"),
    )
    bar.empty()
    scores.setflags(write=False)
    with lock:
        cache[key] = scores
        while len(cache) > MAX_CACHED_SCORES:
            cache.popitem(last=False)
    return scores


@st.cache_resource(max_entries=8, show_spinner="Computing feature statistics")
def stats_for(data_key: str, label: str | None, _frame: pd.DataFrame) -> DistanceStats:
    exclude = () if label is None else (label,)
    return distance_stats(_frame, exclude=exclude)


def load_upload(model_file: Any, data_file: Any) -> Source:
    """Load an uploaded model and CSV; raises ModelError or DataError."""
    model_bytes = model_file.getvalue()
    data_bytes = data_file.getvalue()
    predictor = uploaded_model(
        digest_of(model_bytes), model_file.name, model_bytes, pickle_allowed()
    )
    frame = uploaded_dataset(digest_of(data_bytes), data_file.name, data_bytes)
    return Source(
        predictor=predictor,
        frame=frame,
        model_key=digest_of(model_bytes),
        data_key=digest_of(data_bytes),
        default_label=None,
    )


__all__ = [
    "DataError",
    "ModelError",
    "Source",
    "load_upload",
    "pickle_allowed",
    "run_dataset",
    "run_model",
    "scores_for",
    "stats_for",
]
