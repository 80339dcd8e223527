"""Benchmark drawing long histories: downsampling in the store, then the chart.

The workload is ``--runs`` runs of ``--steps`` steps of one metric (100 runs of
100,000 steps by default, 10 million history rows), on SQLite and on
PostgreSQL. The rows are bulk-loaded, then each run is finished as
``Run.finish()`` does it: the points go through the history writer's
in-memory rollup in batches of ``--batch`` points, and finishing stores the
buckets. Timed:

- finish cost: the in-memory rollup of each run's points (done by the writer
  thread while the run logs) and storing its buckets at finish, per run;
- the same buckets reduced from the stored rows, the path for lines logged
  before a resume, for ``--raw-runs`` runs;
- first read after the runs finished and later reads (median of
  ``--repeats``), each from the history query to a chart's Vega-Lite
  specification with its data inlined (``chart.to_dict()``), which is what
  the app sends to the browser;
- anchors in the same process: a plain SELECT of the stored bucket rows that
  the read returns, the raw rows of one run read back, and the raw history
  of ``--raw-runs`` runs read with ``RunStore.history``.

The numbers are recorded in a Markdown file, and nothing asserts them.

Usage::

    python bench/bench_history.py [--runs 100] [--steps 100000]
        [--postgres postgresql+psycopg://127.0.0.1:5432/test]
        [--output bench/results/history.md]
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select

# `python bench/bench_history.py` puts bench/ on the path, not the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.run_charts import chart_spec, metric_lines_chart  # noqa: E402
from tracking import schema  # noqa: E402
from tracking.chart_data import with_x_axis  # noqa: E402
from tracking.downsample import (  # noqa: E402
    MAX_POINTS,
    _frame,
    choose_level,
    downsampled_history,
)
from tracking.history_rollup import LiveRollup, rollup_run, store_rollup  # noqa: E402
from tracking.store import RunStore  # noqa: E402

logger = logging.getLogger(__name__)

PROJECT = "bench-history"
METRIC = "loss"
DEFAULT_POSTGRES = "postgresql+psycopg://127.0.0.1:5432/test"
NOTES_MARKER = "<!-- Notes below this line are written by hand and kept on re-run. -->"


@dataclass
class BackendResult:
    """Timings of one back end, in seconds; ``error`` when it could not run."""

    backend: str
    load_s: float = 0.0
    live_add_s: list[float] = field(default_factory=list)
    finish_store_s: list[float] = field(default_factory=list)
    buckets_a_run: int = 0
    from_history_s: list[float] = field(default_factory=list)
    run_rows_s: list[float] = field(default_factory=list)
    plain_select_s: float = 0.0
    plain_select_rows: int = 0
    first_read_s: float = 0.0
    first_query_s: float = 0.0
    later_reads_s: list[float] = field(default_factory=list)
    later_query_s: list[float] = field(default_factory=list)
    raw_runs: int = 0
    raw_s: float = 0.0
    raw_rows: int = 0
    points: int = 0
    max_line_points: int = 0
    spec_bytes: int = 0
    error: str | None = None


def line_values(steps: int, seed: int) -> np.ndarray:
    """Return a noisy falling loss curve with a few spikes, reproducible by seed."""
    rng = np.random.default_rng(seed)
    x = np.arange(steps, dtype=float)
    values = 2.0 * np.exp(-x / (steps / 5)) + 0.05 * rng.standard_normal(steps)
    values[rng.integers(0, steps, size=5)] += 3.0
    return values


def create_runs(store: RunStore, runs: int) -> list[tuple[int, str, float]]:
    """Create running runs and return their ``(pk, run_id, created_at)``."""
    created = []
    for index in range(runs):
        run_id = f"bench-{index:03d}"
        pk = store.create_run(
            project=PROJECT,
            run_id=run_id,
            name=run_id,
            config={"seed": index},
            tags=[],
            notes=None,
            group=None,
            job_type=None,
        )
        created.append((pk, run_id, time.time()))
    return created


def load_sqlite(
    store: RunStore, runs: list[tuple[int, str, float]], steps: int
) -> None:
    database = store.url.split(":///", 1)[1]
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode = WAL")
    for pk, _run_id, started in runs:
        values = line_values(steps, pk)
        rows = (
            (pk, METRIC, step, float(values[step]), started + step * 0.01)
            for step in range(steps)
        )
        connection.executemany(
            "INSERT INTO runlens_history (run_pk, key, step, value, timestamp) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        connection.commit()
    connection.close()


def load_postgres(
    store: RunStore, runs: list[tuple[int, str, float]], steps: int
) -> None:
    connection = store.engine.raw_connection()
    try:
        cursor = connection.cursor()
        for pk, _run_id, started in runs:
            values = line_values(steps, pk)
            with cursor.copy(
                "COPY runlens_history (run_pk, key, step, value, timestamp) FROM STDIN"
            ) as copy:
                for step in range(steps):
                    copy.write_row(
                        (pk, METRIC, step, float(values[step]), started + step * 0.01)
                    )
        connection.commit()
        cursor.execute("ANALYZE runlens_history")
        connection.commit()
    finally:
        connection.close()


def run_points(
    pk: int, started: float, steps: int
) -> list[tuple[int, str, int, float, float]]:
    """Return the ``(run_pk, key, step, value, timestamp)`` points the loaders store."""
    values = line_values(steps, pk).tolist()
    return [
        (pk, METRIC, step, values[step], started + step * 0.01) for step in range(steps)
    ]


def finish_runs(
    store: RunStore, runs: list[tuple[int, str, float]], args: argparse.Namespace
) -> BackendResult:
    """Finish the runs as Run.finish() does, timing the rollup work per run."""
    result = BackendResult("")
    for pk, _run_id, started in runs:
        points = run_points(pk, started, args.steps)
        live = LiveRollup(pk)
        begin = time.perf_counter()
        for start in range(0, len(points), args.batch):
            live.add(points[start : start + args.batch])
        result.live_add_s.append(time.perf_counter() - begin)

        store.finish_run(pk, exit_code=0, summary={}, config={})
        begin = time.perf_counter()
        result.buckets_a_run = store_rollup(store, live, pk)
        result.finish_store_s.append(time.perf_counter() - begin)
    return result


def time_from_history(
    store: RunStore, runs: list[tuple[int, str, float]], count: int
) -> tuple[list[float], list[float]]:
    """Time reducing runs from their stored rows, and reading those rows alone."""
    from tracking import schema as tables

    history = tables.history
    reduce_s, select_s = [], []
    for pk, _run_id, _started in runs[:count]:
        # Reduce at one level finer, so no stored bucket is reused.
        begin = time.perf_counter()
        rollup_run(store, pk, max_points=MAX_POINTS // 2)
        reduce_s.append(time.perf_counter() - begin)

        begin = time.perf_counter()
        with store.engine.connect() as conn:
            conn.execute(
                select(history.c.step, history.c.value, history.c.timestamp)
                .where(history.c.run_pk == pk)
                .where(history.c.key == METRIC)
                .order_by(history.c.step)
            ).all()
        select_s.append(time.perf_counter() - begin)
    return reduce_s, select_s


def plain_select(
    store: RunStore, runs: list[tuple[int, str, float]], steps: int
) -> tuple[float, int]:
    """Time a SELECT of the bucket rows a read of the runs returns, into a frame."""
    from tracking import schema as tables

    rollup = tables.history_rollup
    level = choose_level(0, steps - 1, MAX_POINTS // 4)
    columns = [column.name for column in rollup.columns]
    begin = time.perf_counter()
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(rollup)
            .where(rollup.c.run_pk.in_([pk for pk, _run_id, _started in runs]))
            .where(rollup.c.key == METRIC)
            .where(rollup.c.level == level)
        ).all()
    _frame(rows, columns)
    return time.perf_counter() - begin, len(rows)


def draw(store: RunStore, run_ids: list[str], max_points: int) -> tuple[float, dict]:
    """Query the downsampled history and build the chart spec; return the query
    time and the spec."""
    started = time.perf_counter()
    history = downsampled_history(
        store, PROJECT, run_ids, [METRIC], max_points=max_points
    )
    query_s = time.perf_counter() - started
    lines = with_x_axis(history, "step").assign(run_name=lambda frame: frame["run_id"])
    spec = chart_spec(metric_lines_chart(lines, METRIC))
    return query_s, spec


def measure(
    backend: str,
    store: RunStore,
    loader: Callable,
    args: argparse.Namespace,
) -> BackendResult:
    result = BackendResult(backend)
    started = time.perf_counter()
    runs = create_runs(store, args.runs)
    loader(store, runs, args.steps)
    result.load_s = time.perf_counter() - started
    run_ids = [run_id for _pk, run_id, _started in runs]
    logger.info(
        "%s: loaded %d rows in %.1f s", backend, args.runs * args.steps, result.load_s
    )

    finished = finish_runs(store, runs, args)
    result.live_add_s = finished.live_add_s
    result.finish_store_s = finished.finish_store_s
    result.buckets_a_run = finished.buckets_a_run
    logger.info(
        "%s: finish rollup median %.3f s a run",
        backend,
        statistics.median(result.finish_store_s),
    )

    started = time.perf_counter()
    result.first_query_s, spec = draw(store, run_ids, args.max_points)
    result.first_read_s = time.perf_counter() - started
    rows = [row for dataset in spec["datasets"].values() for row in dataset]
    result.points = len(rows)
    per_line: dict[str, int] = {}
    for row in rows:
        per_line[row["run_name"]] = per_line.get(row["run_name"], 0) + 1
    result.max_line_points = max(per_line.values())
    logger.info("%s: first read %.2f s", backend, result.first_read_s)

    for _ in range(args.repeats):
        started = time.perf_counter()
        query_s, spec = draw(store, run_ids, args.max_points)
        result.later_reads_s.append(time.perf_counter() - started)
        result.later_query_s.append(query_s)
    result.spec_bytes = len(str(spec).encode())
    logger.info("%s: later reads %s", backend, result.later_reads_s)

    result.plain_select_s, result.plain_select_rows = plain_select(
        store, runs, args.steps
    )
    result.raw_runs = min(args.raw_runs, args.runs)
    result.from_history_s, result.run_rows_s = time_from_history(
        store, runs, result.raw_runs
    )
    started = time.perf_counter()
    raw = store.history(PROJECT, run_ids[: result.raw_runs], keys=[METRIC])
    result.raw_s = time.perf_counter() - started
    result.raw_rows = len(raw)
    return result


def postgres_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    """Create an empty database for the benchmark; return its URL and a dropper."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url)
    name = f"runlens_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()

    def drop() -> None:
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return admin.set(database=name).render_as_string(hide_password=False), drop


def run_sqlite(args: argparse.Namespace) -> BackendResult:
    folder = Path(tempfile.mkdtemp(prefix="runlens-bench-history-"))
    try:
        store = RunStore(folder / "store")
        result = measure("SQLite", store, load_sqlite, args)
        store.engine.dispose()
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_postgres(args: argparse.Namespace) -> BackendResult:
    try:
        url, drop = postgres_database(args.postgres)
    except Exception as exc:  # noqa: BLE001 - reported in the results
        return BackendResult("PostgreSQL", error=f"server not reachable: {exc}")
    folder = Path(tempfile.mkdtemp(prefix="runlens-bench-history-"))
    os.environ["RUNLENS_ARTIFACTS"] = str(folder)
    try:
        store = RunStore(url)
        result = measure("PostgreSQL", store, load_postgres, args)
        store.engine.dispose()
        return result
    finally:
        drop()
        shutil.rmtree(folder, ignore_errors=True)


def render_report(
    results: list[BackendResult], args: argparse.Namespace, load: tuple[float, float]
) -> str:
    rows = args.runs * args.steps
    done = [result for result in results if not result.error]
    lines = [
        "# History downsampling benchmark",
        "",
        "Written by `bench/bench_history.py`. The numbers are recorded here and",
        "asserted nowhere, and they change with the machine and its load.",
        "",
        "## Machine and workload",
        "",
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {_cpu_model()}, nproc {os.cpu_count()}",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, "
        f"SQLite library {sqlite3.sqlite_version}",
        f"- One-minute load average: {load[0]:.2f} at the start, {load[1]:.2f} at "
        "the end",
        f"- Workload: {args.runs} runs x {args.steps:,} steps of one metric "
        f"({rows:,} history rows), at most {args.max_points:,} points a line; "
        f"in-memory rollup in batches of {args.batch:,} points; later reads are "
        f"the median of {args.repeats}",
        "",
        "## What finishing a run costs, seconds a run (median)",
        "",
        "The in-memory rollup runs in the history writer's thread while the run",
        "logs; storing the buckets is what `finish()` adds. Reducing from the",
        "stored rows is the path for lines logged before a resume; its anchor",
        "is reading the same rows back with a plain SELECT.",
        "",
        f"| back end | in-memory rollup of {args.steps:,} points | storing the "
        "buckets at finish | buckets a run | reduced from stored rows | plain "
        "SELECT of those rows | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        if result.error:
            lines.append(f"| {result.backend} | {result.error} | | | | | |")
            continue
        reduce_s = statistics.median(result.from_history_s)
        select_s = statistics.median(result.run_rows_s)
        lines.append(
            f"| {result.backend} | {statistics.median(result.live_add_s):.3f} "
            f"| {statistics.median(result.finish_store_s):.3f} "
            f"| {result.buckets_a_run} | {reduce_s:.3f} | {select_s:.3f} "
            f"| {reduce_s / select_s:.2f}x |"
        )
    lines += [
        "",
        "## First and later reads after the runs finished, seconds",
        "",
        "Each time runs from the history query to `chart.to_dict()` of an Altair",
        "line chart with the data inline. The query column is the",
        "`downsampled_history` call alone. The anchor is a plain SELECT of the",
        "stored bucket rows that the read returns, into a DataFrame; the ratio",
        "is the first read's query over it.",
        "",
        "| back end | first read | its query | later read | its query | points "
        "drawn | max points a line | plain SELECT of the bucket rows | rows "
        "| ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in done:
        lines.append(
            f"| {result.backend} | {result.first_read_s:.2f} "
            f"| {result.first_query_s:.2f} "
            f"| {statistics.median(result.later_reads_s):.2f} "
            f"| {statistics.median(result.later_query_s):.2f} "
            f"| {result.points:,} | {result.max_line_points:,} "
            f"| {result.plain_select_s:.2f} | {result.plain_select_rows:,} "
            f"| {result.first_query_s / result.plain_select_s:.1f}x |"
        )
    lines += [
        "",
        "## Anchor: raw history without downsampling",
        "",
        "| back end | runs | rows read | seconds (query only, no chart) |",
        "|---|---:|---:|---:|",
    ]
    for result in done:
        lines.append(
            f"| {result.backend} | {result.raw_runs} | {result.raw_rows:,} "
            f"| {result.raw_s:.2f} |"
        )
    lines += [
        "",
        "Finishing stores every bucket of each line, the last one included, in",
        f"`{schema.history_rollup.name}`, so the first read after the runs",
        "finished takes only stored rows. The load is the benchmark's own setup",
        "(bulk inserts through the DB-API for SQLite, COPY for PostgreSQL), not",
        "Runlens logging speed.",
        "",
    ]
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _kept_notes(output: Path) -> str:
    if not output.exists():
        return "\n"
    text = output.read_text(encoding="utf-8")
    if NOTES_MARKER not in text:
        return "\n"
    return text[text.index(NOTES_MARKER) + len(NOTES_MARKER) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="runs to create")
    parser.add_argument("--steps", type=int, default=100_000, help="steps a run")
    parser.add_argument(
        "--max-points", type=int, default=MAX_POINTS, help="points a line at most"
    )
    parser.add_argument("--repeats", type=int, default=3, help="later reads timed")
    parser.add_argument(
        "--batch",
        type=int,
        default=20_000,
        help="points a batch of the in-memory rollup (the writer's batch size)",
    )
    parser.add_argument(
        "--raw-runs", type=int, default=10, help="runs read raw for the anchor"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("RUNLENS_TEST_POSTGRES", DEFAULT_POSTGRES),
        help="server URL; the benchmark creates and drops its own database",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--output", type=Path, default=Path("bench/results/history.md"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    load_start = os.getloadavg()[0]
    results = [run_sqlite(args)]
    if not args.no_postgres:
        results.append(run_postgres(args))
    load_end = os.getloadavg()[0]

    report = render_report(results, args, (load_start, load_end))
    notes = _kept_notes(args.output)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(f"{report}\n{NOTES_MARKER}{notes}", encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
