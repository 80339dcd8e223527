"""Loading and caching the What-If pages' models, datasets, scores and slices.

Caches are keyed on content digests (an artifact's sha256, or the sha256 of an
upload) and on the options that change a result, never on DataFrames. Streamlit
hashes only a sample of a large frame, so an edited frame could hit a stale entry.
Arguments whose names start with ``_`` are left out of the keys.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analysis.counterfactual import DistanceStats, distance_stats
from analysis.data import DataError, read_csv
from analysis.images import ImageLayout, image_layout, pixel_range
from analysis.model_outputs import EncodedLabels, encode_labels
from analysis.models import ModelError, Predictor, load_model_bytes, make_predictor
from analysis.predictions_only import predictions_only_predictor
from analysis.slices import cross_slice_labels, slice_labels
from analysis.sources import load_run_dataset, load_run_model
from tracking import RunStore

logger = logging.getLogger(__name__)

PICKLE_ENV = "RUNLENS_ALLOW_PICKLE"
PICKLE_SECRET = "allow_pickle"

# Score arrays kept across sessions; each is n_rows x n_classes floats.
MAX_CACHED_SCORES = 8
# Scores of single edited rows kept across sessions.
MAX_CACHED_ROW_SCORES = 20_000

_UPLOAD_GONE = (
    "the uploaded file {name!r} is no longer in the server's cache; upload it again"
)


def pickle_allowed() -> bool:
    """Return whether the operator allowed pickle and joblib uploads."""
    if os.environ.get(PICKLE_ENV, "").strip().lower() in {"1", "true", "yes"}:
        return True
    try:
        return bool(st.secrets.get(PICKLE_SECRET, False))
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return False


def digest_of(data: bytes) -> str:
    """Return the sha256 hex digest of an upload, its cache key."""
    return hashlib.sha256(data).hexdigest()


@st.cache_resource(max_entries=4, show_spinner="Loading the model")
def run_model(
    _store: RunStore, store_url: str, digest: str, _manifest: dict
) -> Predictor:
    """Load a run's model artifact, once per store and digest."""
    return load_run_model(_store, _manifest)


@st.cache_data(max_entries=4, show_spinner="Loading the dataset")
def run_dataset(
    _store: RunStore, store_url: str, digest: str, _manifest: dict
) -> pd.DataFrame:
    """Load a run's dataset artifact, once per store and digest."""
    return load_run_dataset(_store, _manifest)


@st.cache_resource(max_entries=6, show_spinner="Loading the model")
def uploaded_model(
    digest: str, filename: str, _data: bytes | None, allow_pickle: bool
) -> Predictor:
    """Load an uploaded model, once per digest.

    ``_data`` may be None on another page, where the uploader is empty and the
    model is only found again by its digest. A cache miss then raises ModelError.
    """
    if _data is None:
        raise ModelError(_UPLOAD_GONE.format(name=filename))
    model = load_model_bytes(_data, filename, allow_pickle=allow_pickle)
    return make_predictor(model)


@st.cache_data(max_entries=6, show_spinner="Reading the CSV")
def uploaded_dataset(digest: str, filename: str, _data: bytes | None) -> pd.DataFrame:
    """Read an uploaded CSV, once per digest; ``_data`` as in uploaded_model."""
    if _data is None:
        raise DataError(_UPLOAD_GONE.format(name=filename))
    return read_csv(_data, name=filename)


@st.cache_resource(max_entries=8, show_spinner=False)
def with_task(model_key: str, task: str, _predictor: Predictor) -> Predictor:
    """Return the predictor with its task overridden, keeping its class names."""
    changed = make_predictor(
        _predictor.model,
        preprocessor=_predictor.preprocessor,
        task=task,
        feature_names=_predictor.feature_names,
    )
    named = _predictor.classes
    if changed.classes is not None and named is not None:
        if len(named) == len(changed.classes):
            changed.classes = list(named)
    return changed


@st.cache_resource(max_entries=8, show_spinner=False)
def predictions_predictor(
    data_key: str,
    score_columns: tuple[str, ...],
    task: str,
    label: str | None,
    positive: str | None,
    _frame: pd.DataFrame,
) -> Predictor:
    """Build a predictions-only predictor that reads the frame's score columns."""
    return predictions_only_predictor(
        _frame, list(score_columns), task=task, label=label, positive=positive
    )


@st.cache_resource
def _score_store() -> tuple[OrderedDict, threading.Lock]:
    return OrderedDict(), threading.Lock()


def scores_for(
    predictor: Predictor,
    model_key: str,
    frame: pd.DataFrame,
    data_key: str,
    label: str | None,
) -> np.ndarray:
    """Return the model's scores on the dataset, computing them once, with progress.

    The key is the model's and the dataset's digests, the task and the label, so
    a task override or another label scores again. The array is read-only.
    """
    cache, lock = _score_store()
    key = (model_key, predictor.task, data_key, label)
    with lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]

    bar = st.progress(0.0, text=f"Scoring {len(frame):,} rows")
    scores = predictor.predict_scores(
        frame,
        label=label,
        progress=lambda done: bar.progress(done, text=f"Scoring: {done:.0%}"),
    )
    bar.empty()
    scores.setflags(write=False)
    with lock:
        cache[key] = scores
        while len(cache) > MAX_CACHED_SCORES:
            cache.popitem(last=False)
    logger.info("Scored %d rows with model %s", len(frame), model_key[:12])
    return scores


@st.cache_resource(max_entries=8, show_spinner="Computing feature statistics")
def stats_for(
    data_key: str, excluded: tuple[str, ...], _frame: pd.DataFrame
) -> DistanceStats:
    """Return the distance statistics of the dataset without ``excluded`` columns.

    The features are encoded too, so each distance reads the encoding instead of
    the columns. The key is the dataset's digest, so the statistics are only
    ever used with the frame they were computed from.

    NOTE: each entry keeps 8 bytes per row for each numeric feature and 1 to 4
    for each categorical one, about 56 MB for 1,000,000 Adult rows. Every edit
    in the editor makes a new dataset digest, and so a new entry.
    """
    return distance_stats(_frame, exclude=excluded, encode=True)


@st.cache_resource(max_entries=8, show_spinner=False)
def encoded_labels_for(
    data_key: str,
    model_key: str,
    label: str,
    classes: tuple[Any, ...],
    _truth: pd.Series,
) -> EncodedLabels:
    """Return the label column matched with a model's classes, once per both.

    ``_truth`` is the ``label`` column of the dataset whose digest is ``data_key``.
    """
    return encode_labels(_truth, classes)


@st.cache_resource(max_entries=16, show_spinner=False)
def slice_labels_for(
    data_key: str,
    feature: str,
    second: str | None,
    n_buckets: int,
    method: str,
    _frame: pd.DataFrame,
    second_n_buckets: int | None = None,
) -> pd.Series:
    """Return each row's slice label for one feature or the pair of two.

    ``second_n_buckets`` buckets the second feature; by default it gets
    ``n_buckets`` too.
    """
    if second is None:
        return slice_labels(_frame[feature], n_buckets=n_buckets, method=method)
    return cross_slice_labels(
        _frame[feature],
        _frame[second],
        n_buckets=n_buckets,
        method=method,
        second_n_buckets=second_n_buckets,
    )


@st.cache_resource
def _row_score_store() -> tuple[OrderedDict, threading.Lock]:
    return OrderedDict(), threading.Lock()


def edited_row_scores(
    predictor: Predictor,
    model_key: str,
    data_key: str,
    label: str | None,
    row_keys: list[str],
    rows: pd.DataFrame,
) -> np.ndarray:
    """Return the model's scores of edited rows, predicting only rows not seen before.

    Parameters
    ----------
    predictor : Predictor
    model_key, data_key : str
        Digests of the model and of the dataset the rows were edited from.
    label : str or None
        Label column, left out of the model's input.
    row_keys : list of str
        A digest of each row's base row and edits, from
        :func:`analysis.edited_dataset.row_digest`.
    rows : pandas.DataFrame
        The edited rows, in the order of ``row_keys``.

    Returns
    -------
    numpy.ndarray
        One score row per row. The rows missing from the cache are scored in
        one call of ``predictor.predict_scores``.
    """
    cache, lock = _row_score_store()
    keys = [(model_key, predictor.task, data_key, label, key) for key in row_keys]
    with lock:
        found = {key: cache[key] for key in keys if key in cache}
    missing = [index for index, key in enumerate(keys) if key not in found]
    if missing:
        scores = predictor.predict_scores(rows.iloc[missing], label=label)
        with lock:
            for index, row_scores in zip(missing, scores, strict=True):
                cache[keys[index]] = row_scores
                found[keys[index]] = row_scores
            while len(cache) > MAX_CACHED_ROW_SCORES:
                cache.popitem(last=False)
        logger.info("Scored %d edited rows with model %s", len(missing), model_key[:12])
    if not keys:
        return np.empty((0,), dtype=float)
    return np.stack([found[key] for key in keys])


def model_summary(predictor: Any) -> str:
    """Describe a predictor in a few words: task and classes."""
    if predictor.task == "regression":
        return "regression"
    return f"{predictor.task}, classes {list(predictor.classes or [])}"


@st.cache_data(ttl=5, show_spinner=False)
def project_artifacts(_store: RunStore, store_url: str, project: str) -> pd.DataFrame:
    """Return the artifact versions a project's runs logged, cached for 5 seconds."""
    return _store.artifacts(project)


@st.cache_data(max_entries=8, show_spinner=False)
def image_layout_for(
    data_key: str, columns: tuple[str, ...], _frame: pd.DataFrame
) -> tuple[ImageLayout, tuple[float, float]] | None:
    """Return the pixel layout and pixel value range of an image dataset, or None."""
    layout = image_layout(columns)
    if layout is None:
        return None
    return layout, pixel_range(_frame, layout)
