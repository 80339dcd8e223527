"""Metric histories downsampled in the store, for charts of long runs.

A line (one metric of one run) with more than ``max_points`` steps is cut into
buckets of ``2**level`` steps, with the smallest level that leaves at most
``max_points // 4`` buckets between the line's first and last step. Each
bucket keeps four points: its first and last by step, and the steps where the
minimum and the maximum value occur (the earliest one on ties, ignoring NaN).
Spikes therefore survive downsampling, unlike with averaging or striding.

The buckets are computed by SQL GROUP BY queries on the history table, the
same on SQLite and PostgreSQL, and stored in ``runlens_history_rollup``. Steps
only grow within a line, so a bucket that a later step has closed never
changes: it is computed once, and later reads of a finished run take about
1,000 rows a line from that table. Only the newest, still open bucket of each
line is read from the raw history on every call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import case, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tracking import schema
from tracking.store import _IN_CHUNK, RunStore

logger = logging.getLogger(__name__)

MAX_POINTS = 1000
HISTORY_COLUMNS = ["run_id", "key", "step", "value", "timestamp", "runtime"]
_POINT_KINDS = ("first", "last", "min", "max")


@dataclass
class Line:
    """One metric of one run, with its first and last logged step."""

    run_pk: int
    run_id: str
    created_at: float
    key: str
    first_step: int
    last_step: int
    level: int = 0


def choose_level(first_step: int, last_step: int, max_buckets: int) -> int:
    """Return the smallest level whose ``2**level``-step buckets number at most
    ``max_buckets`` between ``first_step`` and ``last_step``.

    Buckets are aligned on multiples of ``2**level``, so bucket ``b`` holds the
    steps ``b * 2**level`` to ``(b + 1) * 2**level - 1``.
    """
    if max_buckets < 1:
        raise ValueError(f"max_buckets must be at least 1, got {max_buckets}")
    level = 0
    while (last_step >> level) - (first_step >> level) + 1 > max_buckets:
        level += 1
    return level


def downsampled_history(
    store: RunStore,
    project: str,
    run_ids: Iterable[str],
    keys: Iterable[str] | None = None,
    *,
    max_points: int = MAX_POINTS,
) -> pd.DataFrame:
    """Return metric histories with at most about ``max_points`` points a line.

    Parameters
    ----------
    store : RunStore
    project : str
    run_ids : iterable of str
        Runs of ``project``; unknown ids are ignored, as in
        :meth:`RunStore.history`.
    keys : iterable of str, optional
        Metric names; all the runs' metrics when None.
    max_points : int, default 1000
        A line with more steps between its first and last one is downsampled
        to its buckets' first, last, min and max points (at most
        ``max_points``); a shorter line comes back whole.

    Returns
    -------
    pandas.DataFrame
        The columns of :meth:`RunStore.history`: ``run_id``, ``key``,
        ``step``, ``value``, ``timestamp`` and ``runtime``, sorted by run,
        key and step.
    """
    if max_points < 4:
        raise ValueError(f"max_points must be at least 4, got {max_points}")
    run_ids = list(dict.fromkeys(run_ids))
    keys = store.history_keys(project, run_ids) if keys is None else list(keys)
    max_buckets = max_points // 4

    with store.engine.connect() as conn:
        lines = _lines(conn, project, run_ids, keys)
    whole = [line for line in lines if line.last_step - line.first_step < max_points]
    long = [line for line in lines if line.last_step - line.first_step >= max_points]
    for line in long:
        line.level = choose_level(line.first_step, line.last_step, max_buckets)

    frames = []
    with store.engine.connect() as conn:
        frames += [_raw_points(conn, line) for line in whole]
        stored = _stored_buckets(conn, long)
        closed_rows = []
        for line in long:
            buckets, closed = _line_buckets(conn, line, stored.get(_line_key(line)))
            closed_rows += closed
            frames.append(_bucket_points(line, buckets))
    if closed_rows:
        _store_buckets(store, closed_rows)

    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame({name: [] for name in HISTORY_COLUMNS})
    frame = pd.concat(frames, ignore_index=True)
    order = {run_id: index for index, run_id in enumerate(run_ids)}
    frame = frame.assign(_order=frame["run_id"].map(order))
    frame = frame.sort_values(["_order", "key", "step"], kind="stable")
    return frame[HISTORY_COLUMNS].reset_index(drop=True)


def bucket_reference(history: pd.DataFrame, level: int) -> pd.DataFrame:
    """Downsample one line in pandas, as the store does; for tests and checks.

    ``history`` has ``step``, ``value`` and ``timestamp`` columns for one line.
    Returns its buckets' first, last, min and max rows, sorted by step.
    """
    data = history.sort_values("step", kind="stable").reset_index(drop=True)
    data = data.assign(bucket=data["step"] // (1 << level))
    keep: set[int] = set()
    for _, group in data.groupby("bucket", sort=True):
        keep.add(group.index[0])
        keep.add(group.index[-1])
        values = group["value"].dropna()
        if not values.empty:
            keep.add(values.idxmin())
            keep.add(values.idxmax())
    return data.loc[sorted(keep)].drop(columns="bucket").reset_index(drop=True)


# Reading lines and buckets


def _lines(
    conn: Connection, project: str, run_ids: list[str], keys: list[str]
) -> list[Line]:
    """Return the lines that have points, with their first and last step."""
    runs, history = schema.runs, schema.history
    run_rows = []
    for start in range(0, len(run_ids), _IN_CHUNK):
        run_rows += conn.execute(
            select(runs.c.pk, runs.c.run_id, runs.c.created_at)
            .select_from(runs.join(schema.projects))
            .where(schema.projects.c.name == project)
            .where(runs.c.run_id.in_(run_ids[start : start + _IN_CHUNK]))
        ).all()

    lines = []
    for row in run_rows:
        # One scalar subquery per bound: each is a single index seek, where a
        # GROUP BY would read every step of the run.
        bounds = []
        for key in keys:
            where = (history.c.run_pk == row.pk) & (history.c.key == key)
            bounds.append(
                select(func.min(history.c.step)).where(where).scalar_subquery()
            )
            bounds.append(
                select(func.max(history.c.step)).where(where).scalar_subquery()
            )
        for start in range(0, len(bounds), 2 * (_IN_CHUNK // 4)):
            chunk = bounds[start : start + 2 * (_IN_CHUNK // 4)]
            values = conn.execute(select(*chunk)).one()
            for index in range(0, len(values), 2):
                first, last = values[index], values[index + 1]
                if first is None:
                    continue
                key = keys[(start + index) // 2]
                lines.append(
                    Line(row.pk, row.run_id, row.created_at, key, int(first), int(last))
                )
    return lines


def _raw_points(conn: Connection, line: Line) -> pd.DataFrame:
    history = schema.history
    rows = conn.execute(
        select(history.c.step, history.c.value, history.c.timestamp)
        .where(history.c.run_pk == line.run_pk)
        .where(history.c.key == line.key)
        .order_by(history.c.step)
    ).all()
    frame = pd.DataFrame(rows, columns=["step", "value", "timestamp"])
    return _with_line_columns(frame, line)


def _line_key(line: Line) -> tuple[int, str, int]:
    return (line.run_pk, line.key, line.level)


def _stored_buckets(
    conn: Connection, lines: list[Line]
) -> dict[tuple[int, str, int], pd.DataFrame]:
    """Read the stored buckets of each line at its level, in one query a level."""
    rollup = schema.history_rollup
    found: dict[tuple[int, str, int], pd.DataFrame] = {}
    for level in sorted({line.level for line in lines}):
        at_level = [line for line in lines if line.level == level]
        pks = sorted({line.run_pk for line in at_level})
        keys = sorted({line.key for line in at_level})
        half = _IN_CHUNK // 2
        for pk_start in range(0, len(pks), half):
            for key_start in range(0, len(keys), half):
                query = (
                    select(rollup)
                    .where(rollup.c.level == level)
                    .where(rollup.c.run_pk.in_(pks[pk_start : pk_start + half]))
                    .where(rollup.c.key.in_(keys[key_start : key_start + half]))
                    .order_by(rollup.c.run_pk, rollup.c.key, rollup.c.bucket)
                )
                frame = pd.DataFrame(conn.execute(query).mappings().all())
                if frame.empty:
                    continue
                for (run_pk, key), group in frame.groupby(["run_pk", "key"]):
                    found[(int(run_pk), str(key), level)] = group.reset_index(drop=True)
    return found


def _line_buckets(
    conn: Connection, line: Line, stored: pd.DataFrame | None
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Return a line's buckets and the newly closed ones to store.

    Buckets up to the one holding ``last_step`` are closed: a later step of
    the line exists, and steps only grow.
    """
    open_bucket = line.last_step >> line.level
    first_bucket = line.first_step >> line.level
    if stored is not None:
        stored = stored[stored["bucket"] < open_bucket]
    next_bucket = first_bucket
    if stored is not None and not stored.empty:
        next_bucket = int(stored["bucket"].max()) + 1

    start_step = max(line.first_step, next_bucket << line.level)
    computed = _aggregate_buckets(conn, line, start_step, line.last_step)
    closed = computed[computed["bucket"] < open_bucket]
    closed_rows = [
        {"run_pk": line.run_pk, "key": line.key, "level": line.level, **row}
        for row in closed.to_dict("records")
    ]
    parts = [frame for frame in (stored, computed) if frame is not None]
    parts = [frame for frame in parts if not frame.empty]
    if not parts:
        return computed, closed_rows
    return pd.concat(parts, ignore_index=True), closed_rows


def _aggregate_buckets(
    conn: Connection, line: Line, start_step: int, stop_step: int
) -> pd.DataFrame:
    """Compute the buckets of one line between two steps, in two SQL passes.

    The first pass groups the steps into buckets for their count, first and
    last step, min and max value. The second joins each step to its bucket to
    find where the min and max occur and the values at the first and last step.
    """
    history = schema.history
    level = literal_column(str(int(line.level)))
    in_range = (
        (history.c.run_pk == line.run_pk)
        & (history.c.key == line.key)
        & history.c.step.between(start_step, stop_step)
    )
    bucket = history.c.step.op(">>")(level)
    totals = (
        select(
            bucket.label("bucket"),
            func.count().label("count"),
            func.min(history.c.step).label("first_step"),
            func.max(history.c.step).label("last_step"),
            func.min(history.c.value).label("min_value"),
            func.max(history.c.value).label("max_value"),
        )
        .where(in_range)
        .group_by(bucket)
        .cte("bucket_totals")
    )

    point = history.alias("point")
    point_in_range = (
        (point.c.run_pk == line.run_pk)
        & (point.c.key == line.key)
        & point.c.step.between(start_step, stop_step)
    )

    def at(condition: Any, column: Any) -> Any:
        return func.min(case((condition, column)))

    is_first = point.c.step == totals.c.first_step
    is_last = point.c.step == totals.c.last_step
    query = (
        select(
            totals.c.bucket,
            totals.c["count"],
            totals.c.first_step,
            at(is_first, point.c.value).label("first_value"),
            at(is_first, point.c.timestamp).label("first_timestamp"),
            totals.c.last_step,
            at(is_last, point.c.value).label("last_value"),
            at(is_last, point.c.timestamp).label("last_timestamp"),
            at(point.c.value == totals.c.min_value, point.c.step).label("min_step"),
            totals.c.min_value,
            at(point.c.value == totals.c.max_value, point.c.step).label("max_step"),
            totals.c.max_value,
        )
        .select_from(
            point.join(totals, totals.c.bucket == point.c.step.op(">>")(level))
        )
        .where(point_in_range)
        .group_by(*totals.c)
        .order_by(totals.c.bucket)
    )
    frame = pd.DataFrame(conn.execute(query).mappings().all())
    if frame.empty:
        return pd.DataFrame(columns=_BUCKET_COLUMNS)
    frame["min_timestamp"] = None
    frame["max_timestamp"] = None
    _fill_extreme_timestamps(conn, line, frame)
    return frame[_BUCKET_COLUMNS]


_BUCKET_COLUMNS = [
    "bucket",
    "count",
    *(f"{kind}_{part}" for kind in _POINT_KINDS for part in ("step", "value")),
    *(f"{kind}_timestamp" for kind in _POINT_KINDS),
]


def _fill_extreme_timestamps(conn: Connection, line: Line, frame: pd.DataFrame) -> None:
    """Look up the timestamps at the min and max steps by index seeks."""
    history = schema.history
    steps = pd.concat([frame["min_step"], frame["max_step"]]).dropna()
    steps = sorted({int(step) for step in steps})
    stamps: dict[int, float] = {}
    for start in range(0, len(steps), _IN_CHUNK):
        rows = conn.execute(
            select(history.c.step, history.c.timestamp)
            .where(history.c.run_pk == line.run_pk)
            .where(history.c.key == line.key)
            .where(history.c.step.in_(steps[start : start + _IN_CHUNK]))
        ).all()
        stamps.update({int(step): timestamp for step, timestamp in rows})
    for kind in ("min", "max"):
        frame[f"{kind}_timestamp"] = [
            None if pd.isna(step) else stamps.get(int(step))
            for step in frame[f"{kind}_step"]
        ]


def _store_buckets(store: RunStore, rows: Sequence[dict[str, Any]]) -> None:
    """Insert closed buckets; a bucket another reader stored first is kept."""
    rollup = schema.history_rollup
    dialect = postgresql if store.dialect == "postgresql" else sqlite
    cleaned = [{key: _plain(value) for key, value in row.items()} for row in rows]
    with store.write() as conn, conn.begin():
        for start in range(0, len(cleaned), 500):
            statement = dialect.insert(rollup).on_conflict_do_nothing()
            conn.execute(statement, cleaned[start : start + 500])
    logger.debug("stored %d downsampled history buckets", len(cleaned))


def _plain(value: Any) -> Any:
    """Return a NumPy scalar as a Python one and NaN as None, for the drivers."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _bucket_points(line: Line, buckets: pd.DataFrame) -> pd.DataFrame:
    """Turn bucket rows into the distinct points they keep, sorted by step."""
    parts = []
    for kind in _POINT_KINDS:
        part = buckets[[f"{kind}_step", f"{kind}_value", f"{kind}_timestamp"]]
        part.columns = ["step", "value", "timestamp"]
        parts.append(part.dropna(subset=["step"]))
    points = pd.concat(parts, ignore_index=True)
    points["step"] = points["step"].astype("int64")
    points = points.drop_duplicates("step").sort_values("step", kind="stable")
    return _with_line_columns(points.reset_index(drop=True), line)


def _with_line_columns(frame: pd.DataFrame, line: Line) -> pd.DataFrame:
    frame = frame.assign(
        run_id=line.run_id,
        key=line.key,
        step=frame["step"].astype("int64"),
        value=pd.to_numeric(frame["value"], errors="coerce").astype("float64"),
        timestamp=pd.to_numeric(frame["timestamp"], errors="coerce").astype("float64"),
    )
    frame["runtime"] = frame["timestamp"] - line.created_at
    return frame[HISTORY_COLUMNS]
