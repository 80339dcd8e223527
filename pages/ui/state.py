"""Page state that survives page switches and lives in the URL.

Streamlit deletes the state of a page's widgets when the user opens another page.
So each widget value that the What-If pages share is copied to a kept key
(``"_kept_" + key``) after the widget is drawn, and put back into the widget's key
before it is drawn again. Values that make a view shareable also go to the URL's
query parameters.

A query parameter wins over the kept value only when it differs from what this
session last wrote to the URL. That happens on a deep link, and when a page
switches with new query parameters, as when the explorer opens a row in the
editor.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

logger = logging.getLogger(__name__)

KEPT_PREFIX = "_kept_"
_WRITTEN = "_url_written"


def kept(key: str, default: Any = None) -> Any:
    """Return the kept value of a widget (or of plain page state), or ``default``."""
    return st.session_state.get(KEPT_PREFIX + key, default)


def keep(key: str, value: Any) -> None:
    """Store a value under the kept name of ``key``."""
    st.session_state[KEPT_PREFIX + key] = value


def url_value(param: str) -> str | None:
    """Return a query parameter that changed outside this session, else None.

    A parameter this session wrote itself returns None, so the kept state wins.
    """
    raw = st.query_params.get(param)
    if raw is None:
        return None
    written = st.session_state.get(_WRITTEN, {})
    return None if written.get(param) == raw else raw


def write_url(param: str, value: str | None) -> None:
    """Set a query parameter (None removes it) and remember that this session did."""
    written = st.session_state.setdefault(_WRITTEN, {})
    if value is None:
        if param in st.query_params:
            del st.query_params[param]
        written.pop(param, None)
        return
    if st.query_params.get(param) != value:
        st.query_params[param] = value
    written[param] = value


def restore(
    key: str,
    *,
    param: str | None = None,
    parse: Callable[[str], Any] = str,
    options: Sequence[Any] | None = None,
    valid: Callable[[Any], bool] | None = None,
    default: Any = None,
) -> None:
    """Set the value a widget shows before it is drawn.

    The first of these that applies and passes the checks wins: a query
    parameter changed outside the session (see :func:`url_value`), the widget's
    current value, the kept value, ``default``. A value outside ``options`` or
    rejected by ``valid`` is skipped, so a stale link cannot break the page.

    Parameters
    ----------
    key : str
        The widget's key.
    param : str, optional
        Query parameter that carries the value.
    parse : callable, default str
        Turns the parameter's text into a widget value.
    options : sequence, optional
        The widget's options.
    valid : callable, optional
        Extra check of a value.
    default : object, optional
        Value when nothing else applies; None leaves the widget's own default.
    """

    def acceptable(value: Any) -> bool:
        if options is not None and value not in options:
            return False
        return valid is None or bool(valid(value))

    state = st.session_state
    if param is not None:
        raw = url_value(param)
        if raw is not None:
            try:
                value = parse(raw)
            except (TypeError, ValueError) as exc:
                logger.info("Ignored query parameter %s=%r: %s", param, raw, exc)
            else:
                if acceptable(value):
                    state[key] = value
                    return
                logger.info("Ignored query parameter %s=%r: not an option", param, raw)
    if key in state and acceptable(state[key]):
        # Assigning the value again hands it to the widget drawn below, also when
        # the same key belonged to a widget of the page the user came from.
        state[key] = state[key]
        return
    if KEPT_PREFIX + key in state and acceptable(state[KEPT_PREFIX + key]):
        state[key] = state[KEPT_PREFIX + key]
        return
    if default is not None and acceptable(default):
        state[key] = default
    elif key in state:
        del state[key]


def remember(
    key: str, *, param: str | None = None, to_text: Callable[[Any], str] = str
) -> Any:
    """Copy a drawn widget's value to its kept key and, when given, the URL.

    Returns
    -------
    object
        The widget's value.
    """
    value = st.session_state.get(key)
    keep(key, value)
    if param is not None:
        write_url(param, None if value is None else to_text(value))
    return value


def json_param(value: Any) -> str:
    """Format a value as compact JSON for a query parameter."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
