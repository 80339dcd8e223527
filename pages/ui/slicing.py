"""The decision threshold and the slices, shared by the What-If pages.

The Performance and Fairness page draws the widgets. The other pages read the same
values with :func:`current_threshold` and :func:`current_slicing`, from the state
kept in the session or from the URL. The query parameters are ``thr``, ``slice``,
``slice2``, ``buckets``, ``bucketing`` and ``slice_thr`` (per-slice thresholds as
JSON).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from analysis.slices import BUCKET_METHODS, INTERSECTION_SEPARATOR, slice_codes
from pages.ui.loaders import slice_labels_for
from pages.ui.state import (
    json_param,
    keep,
    kept,
    remember,
    restore,
    url_value,
    write_url,
)
from pages.ui.whatif import WhatIf

logger = logging.getLogger(__name__)

THRESHOLD_KEY = "wi_threshold"
NO_SLICE = "(none)"
DEFAULT_BUCKETS = 4
SLICE_THRESHOLDS = "slice_thresholds"


@dataclass(frozen=True)
class Slicing:
    """The slice features, their buckets and the per-slice thresholds.

    Attributes
    ----------
    feature, second : str or None
        The slice feature and an optional second one for intersections.
    n_buckets : int
        Buckets per numeric feature.
    method : {"equal_width", "quantile"}
    thresholds : dict of str to float
        Per-slice thresholds set by the user or a strategy; slices not named
        use the global threshold.
    labels : pandas.Series or None
        Each row's slice, None without a slice feature.
    """

    feature: str | None
    second: str | None
    n_buckets: int
    method: str
    thresholds: dict[str, float]
    labels: pd.Series | None

    @property
    def active(self) -> bool:
        """Whether a slice feature is chosen."""
        return self.feature is not None

    @property
    def name(self) -> str:
        """The slice feature(s) as text, such as ``"sex / race"``."""
        names = [name for name in (self.feature, self.second) if name]
        return INTERSECTION_SEPARATOR.join(names) or "all rows"

    @property
    def config(self) -> list[Any]:
        """The values that define the slices. Thresholds reset when they change."""
        return [self.feature, self.second, self.n_buckets, self.method]

    def slice_names(self) -> list[str]:
        """Names of the slices that have rows, in slice order."""
        if self.labels is None:
            return []
        codes, names = slice_codes(self.labels)
        present = np.unique(codes)
        return [names[code] for code in present]


def shared(
    key: str,
    param: str,
    *,
    parse: Callable[[str], Any] = str,
    default: Any = None,
    valid: Callable[[Any], bool] | None = None,
    to_text: Callable[[Any], str] = str,
) -> Any:
    """Read a shared value on a page that does not draw its widget.

    A query parameter changed outside the session wins, then the kept value,
    then ``default``. The value is written back to the URL.
    """

    def acceptable(value: Any) -> bool:
        return value is not None and (valid is None or bool(valid(value)))

    raw = url_value(param)
    if raw is not None:
        try:
            value = parse(raw)
        except (TypeError, ValueError):
            value = None
        if acceptable(value):
            keep(key, value)
    value = kept(key)
    if not acceptable(value):
        value = default
    write_url(param, None if value is None else to_text(value))
    return value


def _is_threshold(value: Any) -> bool:
    return isinstance(value, int | float) and 0.0 <= float(value) <= 1.0


def _is_slice_threshold(value: Any) -> bool:
    # A strategy may choose +inf for a slice, so that no row of it is positive.
    return _is_threshold(value) or value == math.inf


def _threshold_text(value: float) -> str:
    return f"{float(value):g}"


def current_threshold() -> float:
    """Return the global decision threshold (0.5 until the user moves it)."""
    return float(
        shared(
            THRESHOLD_KEY,
            "thr",
            parse=float,
            default=0.5,
            valid=_is_threshold,
            to_text=_threshold_text,
        )
    )


def threshold_slider(label: str = "Threshold") -> float:
    """Draw the global threshold slider (inside a fragment where it matters)."""
    restore(THRESHOLD_KEY, param="thr", parse=float, valid=_is_threshold, default=0.5)
    value = st.slider(
        label,
        0.0,
        1.0,
        step=0.01,
        key=THRESHOLD_KEY,
        help="A row is predicted positive when its positive-class score is at "
        "least this, unless its slice has its own threshold.",
    )
    remember(THRESHOLD_KEY, param="thr", to_text=_threshold_text)
    return float(value)


def current_slicing(context: WhatIf) -> Slicing:
    """Return the slicing chosen on the Performance page, without drawing widgets."""
    options = _slice_options(context)
    feature = shared(
        "wi_slice_feature", "slice", default=NO_SLICE, valid=lambda v: v in options
    )
    second = shared(
        "wi_slice_feature2", "slice2", default=NO_SLICE, valid=lambda v: v in options
    )
    n_buckets = shared(
        "wi_buckets", "buckets", parse=int, default=DEFAULT_BUCKETS, valid=_is_buckets
    )
    method = shared(
        "wi_bucket_method",
        "bucketing",
        default="equal_width",
        valid=lambda v: v in BUCKET_METHODS,
    )
    return _slicing(context, feature, second, n_buckets, method)


def slicing_controls(context: WhatIf) -> Slicing:
    """Draw the slice feature, second feature and bucket widgets; return the slicing."""
    options = _slice_options(context)
    cells = st.columns([3, 3, 2, 2])
    restore("wi_slice_feature", param="slice", options=options, default=NO_SLICE)
    feature = cells[0].selectbox("Slice by", options, key="wi_slice_feature")
    remember("wi_slice_feature", param="slice")

    restore("wi_slice_feature2", param="slice2", options=options, default=NO_SLICE)
    second = cells[1].selectbox(
        "and by (intersections)",
        options,
        key="wi_slice_feature2",
        disabled=feature == NO_SLICE,
    )
    remember("wi_slice_feature2", param="slice2")

    restore(
        "wi_buckets",
        param="buckets",
        parse=int,
        valid=_is_buckets,
        default=DEFAULT_BUCKETS,
    )
    n_buckets = cells[2].number_input(
        "Buckets per number", min_value=2, max_value=50, key="wi_buckets"
    )
    remember("wi_buckets", param="buckets")

    restore(
        "wi_bucket_method",
        param="bucketing",
        options=list(BUCKET_METHODS),
        default="equal_width",
    )
    method = cells[3].selectbox(
        "Bucket edges",
        list(BUCKET_METHODS),
        key="wi_bucket_method",
        format_func=lambda name: name.replace("_", " "),
    )
    remember("wi_bucket_method", param="bucketing")
    return _slicing(context, feature, second, int(n_buckets), method)


def set_slice_thresholds(slicing: Slicing, thresholds: dict[str, float]) -> None:
    """Keep per-slice thresholds for the current slices and put them in the URL."""
    values = {str(name): float(value) for name, value in thresholds.items()}
    keep(SLICE_THRESHOLDS, {"config": slicing.config, "values": values})
    write_url("slice_thr", json_param(values) if values else None)


def row_thresholds(
    slicing: Slicing, threshold: float, n_rows: int
) -> float | np.ndarray:
    """Return each row's threshold: its slice's own, else the global one."""
    if slicing.labels is None or not slicing.thresholds:
        return threshold
    codes, names = slice_codes(slicing.labels, n_rows)
    per_slice = np.array([slicing.thresholds.get(name, threshold) for name in names])
    return per_slice[codes] if len(names) else np.full(n_rows, threshold)


def _slicing(
    context: WhatIf, feature: str, second: str, n_buckets: int, method: str
) -> Slicing:
    first = None if feature == NO_SLICE else feature
    other = None if second in (NO_SLICE, feature) or first is None else second
    slicing = Slicing(first, other, n_buckets, method, {}, None)
    if first is not None:
        labels = labels_for(context, context.frame, context.data_key, slicing)
        slicing = Slicing(first, other, n_buckets, method, {}, labels)
    return Slicing(
        first, other, n_buckets, method, kept_slice_thresholds(slicing), slicing.labels
    )


def labels_for(
    context: WhatIf, frame: pd.DataFrame, data_key: str, slicing: Slicing
) -> pd.Series:
    """Return the slice of each row of ``frame``, the data whose digest is ``data_key``.

    Slicing by a classifier's label column gives one slice per class. Numeric
    labels, such as the digits 0 to 9, are not cut into buckets.
    """
    return slice_labels_for(
        data_key,
        slicing.feature,
        slicing.second,
        _buckets(context, frame, slicing.feature, slicing.n_buckets),
        slicing.method,
        frame,
        second_n_buckets=_buckets(context, frame, slicing.second, slicing.n_buckets),
    )


def _buckets(
    context: WhatIf, frame: pd.DataFrame, feature: str | None, n_buckets: int
) -> int:
    is_class_label = feature == context.label and context.task != "regression"
    if feature is not None and is_class_label:
        return max(n_buckets, int(frame[feature].nunique()))
    return n_buckets


def kept_slice_thresholds(slicing: Slicing) -> dict[str, float]:
    """Return the per-slice thresholds that belong to the current slices.

    A ``slice_thr`` query parameter changed outside the session replaces them.
    """
    if not slicing.active:
        write_url("slice_thr", None)
        return {}
    names = set(slicing.slice_names())
    raw = url_value("slice_thr")
    if raw is not None:
        try:
            values = json.loads(raw)
        except ValueError:
            values = None
        if isinstance(values, dict):
            usable = {
                str(name): float(value)
                for name, value in values.items()
                if str(name) in names and _is_slice_threshold(value)
            }
            set_slice_thresholds(slicing, usable)
    stored = kept(SLICE_THRESHOLDS) or {}
    if stored.get("config") != slicing.config:
        set_slice_thresholds(slicing, {})
        return {}
    values = {
        name: value
        for name, value in stored.get("values", {}).items()
        if name in names and _is_slice_threshold(value)
    }
    write_url("slice_thr", json_param(values) if values else None)
    return values


def _slice_options(context: WhatIf) -> list[str]:
    return [NO_SLICE, *(str(name) for name in context.features), context.label]


def _is_buckets(value: Any) -> bool:
    return isinstance(value, int) and 2 <= value <= 50
