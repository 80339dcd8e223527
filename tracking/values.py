"""Checking and converting the values that runs log, summarise and configure."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

# The maximum length of a metric, config or summary key, in characters: the
# length of the history key column, which PostgreSQL enforces and SQLite does not.
MAX_KEY_LENGTH = 256

# Integers beyond this overflow a float64 history value.
_MAX_FLOAT_INT = int(np.finfo(np.float64).max)
_SCALAR_TYPES = (float, int, bool)


def flatten_metrics(
    data: Mapping[str, Any], prefix: str = "", media: set[str] | None = None
) -> dict[str, Any]:
    """Flatten nested dicts into dotted keys and check every value.

    Values may be bool, int, float, NumPy scalars, or a histogram, image or
    table from :mod:`tracking.media`, which are kept as they are and their
    keys added to ``media`` when it is given. Raises ``TypeError`` that names
    the key for anything else.
    """
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if type(key) is not str:
            raise TypeError(f"metric names must be strings, got {key!r}")
        name = prefix + key
        if "\x00" in key or len(name) > MAX_KEY_LENGTH:
            check_key(name, "metric name")
        kind = type(value)
        if kind is float or kind is bool:
            flat[name] = value
        elif kind is int:
            if not -_MAX_FLOAT_INT <= value <= _MAX_FLOAT_INT:
                raise ValueError(
                    f"cannot log {name!r}: a {len(str(abs(value)))}-digit integer "
                    "is too large to store as a float; log it in a smaller unit"
                )
            flat[name] = value
        elif isinstance(value, np.generic) and isinstance(value, np.number | np.bool_):
            flat[name] = value.item()
        elif isinstance(value, Mapping):
            flat.update(flatten_metrics(value, name + ".", media))
        elif isinstance(value, _SCALAR_TYPES):
            flat[name] = value
        elif _is_media(value):
            flat[name] = value
            if media is not None:
                media.add(name)
        else:
            raise TypeError(
                f"cannot log {name!r}: values must be numbers, booleans or "
                "tracking.Histogram, Image or Table, got "
                f"{type(value).__name__} ({value!r:.60})"
            )
    return flat


def check_key(key: str, kind: str) -> str:
    """Return ``key`` if the store can hold it as a ``kind`` (metric name, config
    key or summary key), the same on SQLite and PostgreSQL.

    Raises
    ------
    ValueError
        Naming the key and the rule: at most ``MAX_KEY_LENGTH`` characters and
        no NUL character, which PostgreSQL cannot store in text.
    """
    if "\x00" in key:
        raise ValueError(
            f"{kind} {_shown(key)} contains a NUL character (\\x00), which "
            "PostgreSQL cannot store; remove it from the name"
        )
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(
            f"{kind} {_shown(key)} is {len(key)} characters long; the store "
            f"allows at most {MAX_KEY_LENGTH}, so use a shorter name"
        )
    return key


def _shown(key: str) -> str:
    """Return a key's repr, cut in the middle when it is long."""
    if len(key) <= 80:
        return repr(key)
    return f"{key[:40]!r}...{key[-20:]!r}"


def _is_media(value: Any) -> bool:
    # Imported here: tracking.media imports this module.
    from tracking.media import Media

    return isinstance(value, Media)


def to_json_value(value: Any, key: str) -> Any:
    """Convert a config or summary value into plain JSON-compatible Python.

    NumPy scalars and arrays become Python numbers and lists, tuples become
    lists. Raises ``TypeError`` naming ``key`` for values JSON cannot hold.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v, key) for v in value]
    raise TypeError(
        f"cannot store {key!r}: {type(value).__name__} is not a JSON value; "
        "use numbers, strings, booleans, lists or dicts"
    )


def dumps(value: Any) -> str:
    """Encode to JSON text, keeping NaN and infinities as Python's json does."""
    return json.dumps(value, allow_nan=True, separators=(",", ":"))


def loads(text: str | None) -> Any:
    """Decode JSON text written by :func:`dumps`; ``None`` gives an empty dict."""
    if text is None or text == "":
        return {}
    return json.loads(text)


def to_stored_float(value: float | int | bool) -> float | None:
    """Return the float kept in the history table; NaN is kept as NULL.

    SQLite turns NaN into NULL on its own, so NULL is NaN in every back end:
    a history point always carries a number.
    """
    number = float(value)
    if math.isnan(number):
        return None
    return number
