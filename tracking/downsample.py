"""Metric histories downsampled in the store, for charts of long runs.

A line (one metric of one run) whose first and last step are ``max_points``
or more apart is cut into buckets of ``2**level`` steps, with the smallest
level that leaves at most ``max_points // 4`` buckets. Each bucket keeps four
points: its first and last by step, and the steps where the minimum and the
maximum value occur (the earliest one on ties, ignoring NaN). Spikes
therefore survive downsampling, unlike with averaging or striding.

Buckets are stored in ``runlens_history_rollup``. When a run finishes,
:mod:`tracking.history_rollup` stores every bucket of its lines at the
default ``MAX_POINTS``, the last one included, so a read of a finished run
takes about ``max_points // 4`` rows a line from that table and no raw rows.
A stored last bucket is used only while its last step is the line's last
step; resuming the run deletes it (see :meth:`RunStore.reopen_run`).

Reads compute what is not stored (a running or crashed run, or another
``max_points``) with SQL GROUP BY queries on the history table, the same on
SQLite and PostgreSQL, and store the closed buckets. Steps only grow within a
line, so a bucket that a later step has closed never changes: it is computed
once. The rows after the last stored bucket are the open bucket and any
buckets closed since the last read. When they span fewer than
``RAW_TAIL_STEPS`` steps they are read raw and reduced the same way in pandas,
which saves two queries a line on every read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, func, literal_column, or_, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tracking import schema
from tracking.store import _IN_CHUNK, RunStore

logger = logging.getLogger(__name__)

MAX_POINTS = 1000
# Tails of lines shorter than this many steps are read raw; longer ones are
# aggregated by the database.
RAW_TAIL_STEPS = 8192
HISTORY_COLUMNS = ["run_id", "key", "step", "value", "timestamp", "runtime"]
_POINT_KINDS = ("first", "last", "min", "max")
_BUCKET_COLUMNS = [
    "run_pk",
    "key",
    "bucket",
    "count",
    *(f"{kind}_{part}" for kind in _POINT_KINDS for part in ("step", "value")),
    *(f"{kind}_timestamp" for kind in _POINT_KINDS),
]
# Lines a query covers when it names each line's run, key and first step.
_LINES_A_QUERY = _IN_CHUNK // 3


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
    # The first step not covered by stored buckets.
    tail_start: int = 0

    @property
    def open_bucket(self) -> int:
        return self.last_step >> self.level


def choose_level(first_step: int, last_step: int, max_buckets: int) -> int:
    """Return the smallest level whose ``2**level``-step buckets number at most
    ``max_buckets`` between ``first_step`` and ``last_step``.

    Buckets are aligned on multiples of ``2**level``, so bucket ``b`` contains the
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
    """Return metric histories with at most ``max_points`` points a line.

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
        A line whose first and last step are this far apart or more is
        downsampled to its buckets' first, last, min and max points. A
        shorter line comes back whole.

    Returns
    -------
    pandas.DataFrame
        The columns of :meth:`RunStore.history`: ``run_id``, ``key``,
        ``step``, ``value``, ``timestamp`` and ``runtime``, sorted by run (in
        the order of ``run_ids``), key and step.
    """
    if max_points < 4:
        raise ValueError(f"max_points must be at least 4, got {max_points}")
    run_ids = list(dict.fromkeys(run_ids))
    keys = store.history_keys(project, run_ids) if keys is None else list(keys)
    max_buckets = max_points // 4

    with store.engine.connect() as conn:
        lines = _lines(conn, project, run_ids, keys)
        whole = [
            line for line in lines if line.last_step - line.first_step < max_points
        ]
        long = [
            line for line in lines if line.last_step - line.first_step >= max_points
        ]
        for line in long:
            line.level = choose_level(line.first_step, line.last_step, max_buckets)

        stored = _stored_buckets(conn, long)
        _set_tail_starts(long, stored)
        # A finished run's lines are complete in the stored buckets.
        open_lines = [line for line in long if line.tail_start <= line.last_step]
        raw_tails = [
            line
            for line in open_lines
            if line.last_step - line.tail_start < RAW_TAIL_STEPS
        ]
        aggregated = [line for line in open_lines if line not in raw_tails]

        whole_points = _raw_rows(conn, whole)
        tail_rows = _raw_rows(conn, raw_tails)
        computed = [_reduce_in_pandas(tail_rows, raw_tails)]
        computed += [_aggregate_buckets(conn, line) for line in aggregated]

    computed = pd.concat(
        [frame for frame in computed if not frame.empty] or [_empty_buckets()],
        ignore_index=True,
    )
    closed = _closed_buckets(computed, long)
    if not closed.empty:
        _store_buckets(store, closed)

    buckets = pd.concat(
        [frame for frame in (stored, computed) if not frame.empty]
        or [_empty_buckets()],
        ignore_index=True,
    )
    points = pd.concat(
        [
            _bucket_points(buckets),
            whole_points[["run_pk", "key", "step", "value", "timestamp"]],
        ],
        ignore_index=True,
    )
    return _history_frame(points, lines, run_ids)


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


# Finding the lines


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
    by_pk = {row.pk: row for row in run_rows}

    # One scalar subquery per bound is a single index seek, where a GROUP BY
    # would read every step of the run. Each query covers many lines.
    pairs = [(row.pk, key) for row in run_rows for key in keys]
    lines = []
    for start in range(0, len(pairs), _LINES_A_QUERY):
        selects = []
        for pk, key in pairs[start : start + _LINES_A_QUERY]:
            where = and_(history.c.run_pk == pk, history.c.key == key)
            selects.append(
                select(
                    literal_column(str(int(pk))).label("run_pk"),
                    select(func.min(history.c.step)).where(where).scalar_subquery(),
                    select(func.max(history.c.step)).where(where).scalar_subquery(),
                )
            )
        for index, row in enumerate(conn.execute(union_all(*selects)).all()):
            run_pk, first, last = row
            if first is None:
                continue
            pk, key = pairs[start + index]
            run = by_pk[pk]
            lines.append(
                Line(pk, run.run_id, run.created_at, key, int(first), int(last))
            )
    return lines


# Reading stored buckets and raw rows


def _stored_buckets(conn: Connection, lines: list[Line]) -> pd.DataFrame:
    """Read the stored buckets of each line at its level.

    A line's open bucket (the one holding its last step) is kept only when it
    was stored whole, i.e. its last step is the line's last step, as
    :mod:`tracking.history_rollup` stores it for a finished run.
    """
    rollup = schema.history_rollup
    frames = []
    for level in sorted({line.level for line in lines}):
        at_level = [line for line in lines if line.level == level]
        pks = sorted({line.run_pk for line in at_level})
        keys = sorted({line.key for line in at_level})
        half = _IN_CHUNK // 2
        for pk_start in range(0, len(pks), half):
            for key_start in range(0, len(keys), half):
                query = (
                    select(
                        *(rollup.c[name] for name in _BUCKET_COLUMNS), rollup.c.level
                    )
                    .where(rollup.c.level == level)
                    .where(rollup.c.run_pk.in_(pks[pk_start : pk_start + half]))
                    .where(rollup.c.key.in_(keys[key_start : key_start + half]))
                )
                rows = conn.execute(query).all()
                if rows:
                    frames.append(_frame(rows, [*_BUCKET_COLUMNS, "level"]))
    if not frames:
        return _empty_buckets()
    stored = pd.concat(frames, ignore_index=True)

    # Keep a line's buckets at its own level only, and its open bucket only
    # when it is complete.
    wanted = pd.DataFrame(
        {
            "run_pk": [line.run_pk for line in lines],
            "key": [line.key for line in lines],
            "level": [line.level for line in lines],
            "open_bucket": [line.open_bucket for line in lines],
            "line_last_step": [line.last_step for line in lines],
        }
    )
    stored = stored.merge(wanted, on=["run_pk", "key", "level"], how="inner")
    closed = stored["bucket"] < stored["open_bucket"]
    complete = (stored["bucket"] == stored["open_bucket"]) & (
        stored["last_step"] == stored["line_last_step"]
    )
    stored = stored[closed | complete]
    return stored[_BUCKET_COLUMNS].reset_index(drop=True)


def _set_tail_starts(lines: list[Line], stored: pd.DataFrame) -> None:
    """Set each line's first step after its stored buckets."""
    last_stored: dict[tuple[int, str], int] = {}
    if not stored.empty:
        maxima = stored.groupby(["run_pk", "key"])["bucket"].max()
        last_stored = {(int(pk), str(key)): int(b) for (pk, key), b in maxima.items()}
    for line in lines:
        after = last_stored.get((line.run_pk, line.key))
        next_bucket = line.first_step >> line.level if after is None else after + 1
        line.tail_start = max(line.first_step, next_bucket << line.level)


def _raw_rows(conn: Connection, lines: list[Line]) -> pd.DataFrame:
    """Read the raw rows of lines from their ``tail_start`` (or first) step."""
    history = schema.history
    columns = ["run_pk", "key", "step", "value", "timestamp"]
    frames = []
    for start in range(0, len(lines), _LINES_A_QUERY):
        chunk = lines[start : start + _LINES_A_QUERY]
        condition = or_(
            *(
                and_(
                    history.c.run_pk == line.run_pk,
                    history.c.key == line.key,
                    history.c.step >= max(line.tail_start, line.first_step),
                )
                for line in chunk
            )
        )
        rows = conn.execute(
            select(*(history.c[name] for name in columns)).where(condition)
        ).all()
        if rows:
            frames.append(_frame(rows, columns))
    if not frames:
        return pd.DataFrame({name: [] for name in columns})
    frame = pd.concat(frames, ignore_index=True)
    frame["value"] = pd.to_numeric(frame["value"]).astype("float64")
    return frame.sort_values(["run_pk", "key", "step"], kind="stable")


# Computing buckets


def _reduce_in_pandas(rows: pd.DataFrame, lines: list[Line]) -> pd.DataFrame:
    """Compute buckets from raw rows, as the SQL of _aggregate_buckets does."""
    if rows.empty:
        return _empty_buckets()
    levels = pd.DataFrame(
        {
            "run_pk": [line.run_pk for line in lines],
            "key": [line.key for line in lines],
            "level": [line.level for line in lines],
        }
    )
    data = rows.merge(levels, on=["run_pk", "key"], how="inner")
    data["bucket"] = data["step"].to_numpy(dtype="int64") >> data["level"].to_numpy(
        dtype="int64"
    )
    data = data.drop(columns="level").sort_values(
        ["run_pk", "key", "step"], kind="stable", ignore_index=True
    )
    group_keys = ["run_pk", "key", "bucket"]
    groups = data.groupby(group_keys, sort=True)

    first = groups.head(1).set_index(group_keys)
    last = groups.tail(1).set_index(group_keys)
    buckets = pd.DataFrame(
        {
            "count": groups.size(),
            "first_step": first["step"],
            "first_value": first["value"],
            "first_timestamp": first["timestamp"],
            "last_step": last["step"],
            "last_value": last["value"],
            "last_timestamp": last["timestamp"],
        }
    )
    valued = data.dropna(subset=["value"])
    if not valued.empty:
        by_bucket = valued.groupby(group_keys, sort=True)["value"]
        for kind, index in (("min", by_bucket.idxmin()), ("max", by_bucket.idxmax())):
            chosen = data.loc[index.to_numpy()].set_index(group_keys)
            buckets[f"{kind}_step"] = chosen["step"]
            buckets[f"{kind}_value"] = chosen["value"]
            buckets[f"{kind}_timestamp"] = chosen["timestamp"]
    for kind in ("min", "max"):
        for part in ("step", "value", "timestamp"):
            if f"{kind}_{part}" not in buckets:
                buckets[f"{kind}_{part}"] = np.nan
    return buckets.reset_index()[_BUCKET_COLUMNS]


def _aggregate_buckets(conn: Connection, line: Line) -> pd.DataFrame:
    """Compute a line's buckets from ``tail_start`` on, in two SQL passes.

    The first pass groups the steps into buckets for their count, first and
    last step, min and max value. The second joins each step to its bucket to
    find where the min and max occur and the values at the first and last step.
    """
    history = schema.history
    level = literal_column(str(int(line.level)))
    start_step, stop_step = line.tail_start, line.last_step
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
        return _empty_buckets()
    frame = frame.assign(run_pk=line.run_pk, key=line.key)
    _fill_extreme_timestamps(conn, line, frame)
    return frame[_BUCKET_COLUMNS]


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
            np.nan if pd.isna(step) else stamps.get(int(step), np.nan)
            for step in frame[f"{kind}_step"]
        ]


def _frame(rows: list[Any], columns: list[str]) -> pd.DataFrame:
    """Build a frame column by column, which is much faster than from Row objects."""
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pd.DataFrame(
        {name: list(column) for name, column in zip(columns, values, strict=True)}
    )


def _empty_buckets() -> pd.DataFrame:
    return pd.DataFrame({name: [] for name in _BUCKET_COLUMNS})


# Storing buckets


def _closed_buckets(computed: pd.DataFrame, lines: list[Line]) -> pd.DataFrame:
    """Return the computed buckets that a later step has closed, with levels."""
    if computed.empty:
        return computed
    limits = pd.DataFrame(
        {
            "run_pk": [line.run_pk for line in lines],
            "key": [line.key for line in lines],
            "level": [line.level for line in lines],
            "open_bucket": [line.open_bucket for line in lines],
        }
    )
    merged = computed.merge(limits, on=["run_pk", "key"], how="inner")
    closed = merged[merged["bucket"] < merged["open_bucket"]]
    return closed.drop(columns="open_bucket")


def _store_buckets(store: RunStore, rows: pd.DataFrame) -> None:
    """Insert closed buckets; a bucket another reader stored first is kept."""
    records = [
        {name: _plain(value) for name, value in record.items()}
        for record in rows.to_dict("records")
    ]
    insert_buckets(store, records)


def insert_buckets(store: RunStore, records: list[dict[str, Any]]) -> None:
    """Insert rollup rows given as dicts of Python values; existing rows are kept."""
    rollup = schema.history_rollup
    dialect = postgresql if store.dialect == "postgresql" else sqlite
    with store.write() as conn, conn.begin():
        for start in range(0, len(records), 500):
            statement = dialect.insert(rollup).on_conflict_do_nothing()
            conn.execute(statement, records[start : start + 500])
    logger.debug("stored %d downsampled history buckets", len(records))


def _plain(value: Any) -> Any:
    """Return a NumPy scalar as a Python one and NaN as None, for the drivers."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


# Shaping the result


def _bucket_points(buckets: pd.DataFrame) -> pd.DataFrame:
    """Return the distinct points that buckets keep: first, last, min and max."""
    columns = ["run_pk", "key", "step", "value", "timestamp"]
    if buckets.empty:
        return pd.DataFrame({name: [] for name in columns})
    parts = []
    for kind in _POINT_KINDS:
        part = buckets[
            ["run_pk", "key", f"{kind}_step", f"{kind}_value", f"{kind}_timestamp"]
        ]
        part.columns = columns
        parts.append(part)
    points = pd.concat(parts, ignore_index=True).dropna(subset=["step"])
    return points.drop_duplicates(["run_pk", "key", "step"])


def _history_frame(
    points: pd.DataFrame, lines: list[Line], run_ids: list[str]
) -> pd.DataFrame:
    if points.empty:
        return pd.DataFrame({name: [] for name in HISTORY_COLUMNS})
    run_of = {line.run_pk: line.run_id for line in lines}
    started = {line.run_pk: line.created_at for line in lines}
    order = {run_id: index for index, run_id in enumerate(run_ids)}
    run_pk = points["run_pk"].astype("int64")
    frame = pd.DataFrame(
        {
            "run_id": run_pk.map(run_of),
            "key": points["key"].astype(str),
            "step": points["step"].astype("int64"),
            "value": pd.to_numeric(points["value"]).astype("float64"),
            "timestamp": pd.to_numeric(points["timestamp"]).astype("float64"),
        }
    )
    frame["runtime"] = frame["timestamp"] - run_pk.map(started)
    frame["_order"] = frame["run_id"].map(order)
    frame = frame.sort_values(["_order", "key", "step"], kind="stable")
    return frame[HISTORY_COLUMNS].reset_index(drop=True)
