"""Benchmark drawing long histories: downsampling in the store, then the chart.

The workload is ``--runs`` runs of ``--steps`` steps of one metric (100 runs of
100,000 steps by default, 10 million history rows), on SQLite and on
PostgreSQL. Each measurement is the time from the history query to a chart's
Vega-Lite specification with its data inlined (``chart.to_dict()``), which is
what the app sends to the browser:

- first read: :func:`tracking.downsample.downsampled_history` computes every
  closed bucket from the raw rows and stores them;
- later reads: the stored buckets are read back and only each line's open
  bucket comes from the raw rows (median of ``--repeats``);
- an anchor: the raw history of ``--raw-runs`` runs read with
  ``RunStore.history``, without downsampling.

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

# `python bench/bench_history.py` puts bench/ on the path, not the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.run_charts import chart_spec, metric_lines_chart  # noqa: E402
from tracking import schema  # noqa: E402
from tracking.chart_data import with_x_axis  # noqa: E402
from tracking.downsample import MAX_POINTS, downsampled_history  # noqa: E402
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
    """Create finished runs and return their ``(pk, run_id, created_at)``."""
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

    result.raw_runs = min(args.raw_runs, args.runs)
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
        f"later reads are the median of {args.repeats}",
        "",
        "## Query and chart, seconds",
        "",
        "Each time runs from the history query to `chart.to_dict()` of an Altair",
        "line chart with the data inline. The query column is the",
        "`downsampled_history` call alone.",
        "",
        "| back end | load (setup) | first read | its query | later read | its query "
        "| points drawn | max points a line |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        if result.error:
            lines.append(f"| {result.backend} | {result.error} | | | | | | |")
            continue
        lines.append(
            f"| {result.backend} | {result.load_s:.1f} | {result.first_read_s:.2f} "
            f"| {result.first_query_s:.2f} "
            f"| {statistics.median(result.later_reads_s):.2f} "
            f"| {statistics.median(result.later_query_s):.2f} "
            f"| {result.points:,} | {result.max_line_points:,} |"
        )
    lines += [
        "",
        "## Anchor: raw history without downsampling",
        "",
        "| back end | runs | rows read | seconds (query only, no chart) |",
        "|---|---:|---:|---:|",
    ]
    for result in results:
        if not result.error:
            lines.append(
                f"| {result.backend} | {result.raw_runs} | {result.raw_rows:,} "
                f"| {result.raw_s:.2f} |"
            )
    lines += [
        "",
        "The first read computes every closed bucket from the raw rows with two",
        f"GROUP BY passes a line and stores them in `{schema.history_rollup.name}`.",
        "Later reads take the stored buckets and only each line's open bucket from",
        "the raw rows. The load column is the benchmark's own setup (bulk",
        "inserts through the DB-API for SQLite, COPY for PostgreSQL), not Runlens",
        "logging speed.",
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
