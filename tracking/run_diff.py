"""The config and summary keys that differ between two runs."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)

DIFF_COLUMNS = ["section", "key", "first", "second"]
SECTIONS = ("config", "summary")


def diff_runs(
    first: Mapping[str, Any], second: Mapping[str, Any], *, include_equal: bool = False
) -> pd.DataFrame:
    """Compare two runs' config and summary, key by key.

    Nested dicts are compared by their dotted keys (``optimizer.lr``). A key
    present in one run only differs, and its missing side is None. NaN equals
    NaN, and 1 equals 1.0.

    Parameters
    ----------
    first, second : mapping
        Run records with ``config`` and ``summary`` dicts, as returned by
        :meth:`tracking.RunStore.run`.
    include_equal : bool, default False
        Also list the keys whose values are equal.

    Returns
    -------
    pandas.DataFrame
        Columns ``section`` (config or summary), ``key``, ``first`` and
        ``second``, config keys first, each section sorted by key. When
        ``include_equal`` is true a boolean ``differs`` column is added.
    """
    rows = []
    for section in SECTIONS:
        left = _flatten(first.get(section) or {})
        right = _flatten(second.get(section) or {})
        for key in sorted(set(left) | set(right)):
            differs = key not in left or key not in right
            if not differs:
                differs = not _same(left[key], right[key])
            if differs or include_equal:
                rows.append(
                    {
                        "section": section,
                        "key": key,
                        "first": left.get(key),
                        "second": right.get(key),
                        "differs": differs,
                    }
                )
    columns = DIFF_COLUMNS + (["differs"] if include_equal else [])
    frame = pd.DataFrame(
        {
            "section": [row["section"] for row in rows],
            "key": [row["key"] for row in rows],
            # Object columns keep None, ints and text as they were logged.
            "first": pd.Series([row["first"] for row in rows], dtype=object),
            "second": pd.Series([row["second"] for row in rows], dtype=object),
            "differs": pd.Series([row["differs"] for row in rows], dtype=bool),
        }
    )
    return frame[columns]


def _flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping) and item:
            flat.update(_flatten(item, f"{name}."))
        else:
            flat[name] = item
    return flat


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        if math.isnan(left) and math.isnan(right):
            return True
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    try:
        return bool(left == right)
    except (TypeError, ValueError):
        return False
