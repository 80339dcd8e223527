"""Downsampled history of a finished run, stored when the run finishes.

When a run finishes, every bucket of its long lines is stored at the level
that :func:`tracking.downsample.downsampled_history` picks for ``MAX_POINTS``,
the last bucket included, so a chart of the finished run reads only stored
buckets.

:class:`LiveRollup` keeps the buckets in memory while the run logs: the
history writer adds each stored batch, so finishing stores at most
``MAX_POINTS // 4`` rows a line without reading history back. Lines that
were logged before the run was resumed, and every line when the live rollup
failed, are reduced from the stored rows by :func:`rollup_run` instead; it
keeps buckets that earlier reads stored at the same level and reads only the
rest of each line.

Both reduce with NumPy by the rules of the SQL in :mod:`tracking.downsample`:
a bucket keeps its first and last point and the earliest step of its minimum
and maximum, leaving NaN out of min and max. A run that never finishes (it
crashed) has no stored last bucket, and reads compute its buckets instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from tracking import schema
from tracking.downsample import (
    _POINT_KINDS,
    MAX_POINTS,
    Line,
    _set_tail_starts,
    _stored_buckets,
    choose_level,
    insert_buckets,
)
from tracking.store import RunStore

logger = logging.getLogger(__name__)


def rollup_run(
    store: RunStore,
    run_pk: int,
    keys: Iterable[str] | None = None,
    *,
    max_points: int = MAX_POINTS,
) -> int:
    """Store every bucket of a run's lines, from its stored history.

    Call it when the run has stopped logging: the last bucket of each line is
    stored as complete. Lines shorter than ``max_points`` steps are read whole
    and get no buckets. ``keys`` limits it to those metrics.

    Returns
    -------
    int
        The number of buckets computed and stored.
    """
    max_buckets = max_points // 4
    with store.engine.connect() as conn:
        lines = _long_lines(conn, run_pk, max_points, keys)
        for line in lines:
            line.level = choose_level(line.first_step, line.last_step, max_buckets)
        _set_tail_starts(lines, _stored_buckets(conn, lines))
        computed = [
            row
            for line in lines
            if line.tail_start <= line.last_step
            for row in _reduce_line(line, *_line_rows(conn, line))
        ]
    if computed:
        insert_buckets(store, computed)
    logger.debug("stored %d buckets of run %s", len(computed), run_pk)
    return len(computed)


def _long_lines(
    conn: Connection, run_pk: int, max_points: int, keys: Iterable[str] | None
) -> list[Line]:
    """Return the run's lines whose first and last step are ``max_points`` apart."""
    history = schema.history
    query = (
        select(history.c.key, func.min(history.c.step), func.max(history.c.step))
        .where(history.c.run_pk == run_pk)
        .group_by(history.c.key)
    )
    if keys is not None:
        keys = sorted(set(keys))
        if not keys:
            return []
        query = query.where(history.c.key.in_(keys))
    rows = conn.execute(query).all()
    return [
        Line(run_pk, "", 0.0, key, int(first), int(last))
        for key, first, last in rows
        if last - first >= max_points
    ]


def _line_rows(
    conn: Connection, line: Line
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a line's steps, values (NaN for NULL) and timestamps from its tail."""
    history = schema.history
    rows = conn.execute(
        select(history.c.step, history.c.value, history.c.timestamp)
        .where(history.c.run_pk == line.run_pk)
        .where(history.c.key == line.key)
        .where(history.c.step >= line.tail_start)
        .order_by(history.c.step)
    ).all()
    steps, values, stamps = zip(*rows, strict=True)
    # NumPy reads None as NaN in a float array.
    return (
        np.array(steps, dtype=np.int64),
        np.array(values, dtype=np.float64),
        np.array(stamps, dtype=np.float64),
    )


def _reduce_line(
    line: Line, steps: np.ndarray, values: np.ndarray, stamps: np.ndarray
) -> list[dict[str, object]]:
    """Reduce one line's rows, sorted by step, to its buckets at ``line.level``."""
    buckets = _combine(_point_records(steps, values, stamps), line.level)
    return _bucket_rows(line.run_pk, line.key, line.level, buckets)


# Bucket records: a dict of equally long arrays, one element a bucket, with
# "count" and "{first,last,min,max}_{step,value,timestamp}". A bucket without
# a number has NaN min and max values. A single point is a bucket of count 1.
_RECORD_FIELDS = [
    f"{kind}_{part}" for kind in _POINT_KINDS for part in ("step", "value", "timestamp")
]


def _point_records(
    steps: np.ndarray, values: np.ndarray, stamps: np.ndarray
) -> dict[str, np.ndarray]:
    records = {"count": np.ones(len(steps), dtype=np.int64)}
    for kind in _POINT_KINDS:
        records[f"{kind}_step"] = steps
        records[f"{kind}_value"] = values
        records[f"{kind}_timestamp"] = stamps
    return records


def _combine(records: dict[str, np.ndarray], level: int) -> dict[str, np.ndarray]:
    """Merge records, sorted by step, into buckets of ``2**level`` steps.

    Records must not straddle buckets of the new level, which holds for points
    and for buckets of any level up to ``level``.
    """
    buckets = records["first_step"] >> level
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], len(buckets)] - 1
    group = np.repeat(np.arange(len(starts)), ends - starts + 1)
    merged = {
        "bucket": buckets[starts],
        "count": np.add.reduceat(records["count"], starts),
    }
    for kind, chosen in (("first", starts), ("last", ends)):
        for part in ("step", "value", "timestamp"):
            merged[f"{kind}_{part}"] = records[f"{kind}_{part}"][chosen]

    # Each group's earliest minimum (or maximum): records are in step order
    # and do not straddle groups, so it is the first record that equals the
    # group's extreme. fmin and fmax leave NaN out; a group of NaN only keeps
    # its first record.
    size = len(buckets)
    positions = np.arange(size)
    for kind, extreme in (("min", np.fmin), ("max", np.fmax)):
        values = records[f"{kind}_value"]
        best = extreme.reduceat(values, starts)
        hits = np.where(values == best[group], positions, size)
        first = np.minimum.reduceat(hits, starts)
        chosen = np.where(first < size, first, starts)
        for part in ("step", "value", "timestamp"):
            merged[f"{kind}_{part}"] = records[f"{kind}_{part}"][chosen]
    return merged


def _concat(first: dict[str, np.ndarray], second: dict[str, np.ndarray]):
    return {name: np.concatenate([first[name], second[name]]) for name in second}


def _bucket_rows(
    run_pk: int, key: str, level: int, buckets: dict[str, np.ndarray]
) -> list[dict[str, object]]:
    """Return bucket records as rollup table rows of Python values, NaN as None."""
    columns: dict[str, list] = {
        "bucket": buckets["bucket"].tolist(),
        "count": buckets["count"].tolist(),
    }
    for kind in _POINT_KINDS:
        missing = np.isnan(buckets[f"{kind}_value"]).tolist()
        for part in ("step", "value", "timestamp"):
            values = buckets[f"{kind}_{part}"].tolist()
            # NaN is stored as NULL, and a bucket without a number has no min
            # and max point at all.
            if part == "value" or kind in ("min", "max"):
                values = [
                    None if gap else value
                    for gap, value in zip(missing, values, strict=True)
                ]
            columns[f"{kind}_{part}"] = values
    fixed = {"run_pk": run_pk, "key": key, "level": level}
    names = list(columns)
    return [
        {**fixed, **dict(zip(names, row, strict=True))}
        for row in zip(*columns.values(), strict=True)
    ]


class LiveRollup:
    """The buckets of a run's lines, updated from each batch the writer stores.

    Each line's level is the one :func:`choose_level` gives for its steps so
    far, so at the end it is the level that a read of the finished run picks.

    Parameters
    ----------
    run_pk : int
    skipped : iterable of str
        Metrics logged before this process (a resumed run); their earlier
        points are not in memory, so they are left out.
    max_points : int
    """

    def __init__(
        self, run_pk: int, skipped: Iterable[str] = (), max_points: int = MAX_POINTS
    ):
        self.run_pk = run_pk
        self.skipped = set(skipped)
        self.max_buckets = max_points // 4
        self.max_points = max_points
        # key -> (level, bucket records)
        self._lines: dict[str, tuple[int, dict[str, np.ndarray]]] = {}

    def add(self, points: list[tuple[int, str, int, float | None, float]]) -> None:
        """Add stored ``(run_pk, key, step, value, timestamp)`` points, by step."""
        by_key: dict[str, tuple[list, list, list]] = {}
        for _run_pk, key, step, value, timestamp in points:
            columns = by_key.get(key)
            if columns is None:
                columns = by_key[key] = ([], [], [])
            columns[0].append(step)
            columns[1].append(value)
            columns[2].append(timestamp)
        for key, (steps, values, stamps) in by_key.items():
            if key not in self.skipped:
                self._add_line(key, steps, values, stamps)

    def _add_line(self, key: str, steps: list, values: list, stamps: list) -> None:
        records = _point_records(
            np.array(steps, dtype=np.int64),
            # NumPy reads None, the stored NaN, as NaN in a float array.
            np.array(values, dtype=np.float64),
            np.array(stamps, dtype=np.float64),
        )
        previous = self._lines.get(key)
        if previous is not None:
            records = _concat(previous[1], records)
        first, last = int(records["first_step"][0]), int(records["last_step"][-1])
        level = choose_level(first, last, self.max_buckets)
        self._lines[key] = (level, _combine(records, level))

    def rows(self) -> list[dict[str, object]]:
        """Return the rollup table rows of lines ``max_points`` steps long or more."""
        rows = []
        for key, (level, buckets) in self._lines.items():
            span = int(buckets["last_step"][-1]) - int(buckets["first_step"][0])
            if span >= self.max_points:
                rows += _bucket_rows(self.run_pk, key, level, buckets)
        return rows

    @property
    def keys(self) -> set[str]:
        return set(self._lines)


def store_rollup(store: RunStore, live: LiveRollup | None, run_pk: int) -> int:
    """Store a finished run's buckets: the live ones, and the rest from history.

    ``live`` is None when the live rollup failed; every line is then read
    from the stored history. Returns the number of buckets stored.
    """
    stored = 0
    if live is not None:
        rows = live.rows()
        if rows:
            insert_buckets(store, rows)
            stored += len(rows)
        if live.skipped:
            stored += rollup_run(
                store, run_pk, live.skipped, max_points=live.max_points
            )
        return stored
    return rollup_run(store, run_pk)
