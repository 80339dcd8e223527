"""Reading a run's history back in rows: wide frames and pages of steps.

Numbers come from the history table and media pointers from the media table.
A row is one step with ``_step``, ``_timestamp`` (the latest time any of its
values was logged) and ``_runtime`` (seconds since the run was created).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select

from tracking import schema
from tracking.store import RunStore
from tracking.values import loads

SYSTEM_KEYS = ("_step", "_runtime", "_timestamp")


def wide_history(
    store: RunStore, record: Mapping[str, Any], keys: Sequence[str] | None
) -> pd.DataFrame:
    """Return a run's history with one row per step and one column per key.

    With ``keys`` only rows where every key was logged are kept; a NaN that
    was logged counts as logged.
    """
    project, run_id = record["project"], record["run_id"]
    requested = None if keys is None else [k for k in keys if k not in SYSTEM_KEYS]
    long = store.history(project, [run_id], requested)
    media = store.media(project, run_id, requested)

    long = long.drop_duplicates(["step", "key"], keep="last")
    values = long.pivot(index="step", columns="key", values="value")
    present = long.assign(one=True).pivot(index="step", columns="key", values="one")
    if not media.empty:
        media = media.drop_duplicates(["step", "key"], keep="last")
        pointers = media.pivot(index="step", columns="key", values="pointer")
        values = values.combine_first(pointers) if len(values) else pointers
        media_present = media.assign(one=True).pivot(
            index="step", columns="key", values="one"
        )
        present = present.combine_first(media_present)
    times = pd.concat([long[["step", "timestamp"]], media[["step", "timestamp"]]])
    times = times.groupby("step")["timestamp"].max()

    if requested:
        if any(key not in present.columns for key in requested):
            return pd.DataFrame(columns=["_step", *requested, "_timestamp", "_runtime"])
        keep = present[requested].notna().all(axis=1)
        values = values.loc[keep[keep].index]
    values = values.sort_index()
    frame = values[sorted(values.columns)].reset_index(drop=False)
    frame = frame.rename(columns={"step": "_step"})
    frame.columns.name = None
    frame["_timestamp"] = frame["_step"].map(times).astype(float)
    frame["_runtime"] = frame["_timestamp"] - record["created_at"]
    frame["_step"] = frame["_step"].astype("int64")
    return frame


def history_page(
    store: RunStore,
    record: Mapping[str, Any],
    cursor: int,
    page_size: int,
    max_step: int | None,
) -> dict[int, dict[str, Any]]:
    """Return the rows of up to ``page_size`` steps from ``cursor`` on, by step.

    ``max_step`` is exclusive. NaN values, stored as NULL, come back as NaN.
    """
    history, media = schema.history, schema.media
    pk = record["pk"]
    numeric_steps = select(history.c.step).where(history.c.run_pk == pk)
    media_steps = select(media.c.step).where(media.c.run_pk == pk)
    steps = numeric_steps.union(media_steps).subquery()
    query = select(steps.c.step).where(steps.c.step >= cursor)
    if max_step is not None:
        query = query.where(steps.c.step < max_step)
    query = query.order_by(steps.c.step).limit(page_size)

    with store.engine.connect() as conn:
        found = conn.execute(query).scalars().all()
        if not found:
            return {}
        low, high = found[0], found[-1]
        points = conn.execute(
            select(history.c.key, history.c.step, history.c.value, history.c.timestamp)
            .where(history.c.run_pk == pk)
            .where(history.c.step.between(low, high))
        ).all()
        pointers = conn.execute(
            select(media.c.key, media.c.step, media.c.pointer, media.c.timestamp)
            .where(media.c.run_pk == pk)
            .where(media.c.step.between(low, high))
        ).all()

    entries = [
        (key, step, float("nan") if value is None else value, timestamp)
        for key, step, value, timestamp in points
    ]
    entries += [
        (key, step, loads(text), timestamp) for key, step, text, timestamp in pointers
    ]
    rows: dict[int, dict[str, Any]] = {}
    for key, step, value, timestamp in entries:
        row = rows.setdefault(step, {"_step": step, "_timestamp": timestamp})
        row[key] = value
        row["_timestamp"] = max(row["_timestamp"], timestamp)
    for row in rows.values():
        row["_runtime"] = row["_timestamp"] - record["created_at"]
    return rows
