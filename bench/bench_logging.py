"""Benchmark ``run.log()`` latency and durable history throughput.

Runlens is measured beside anchors taken in the same process: a Python list,
plain ``sqlite3``, and, when they are installed, wandb in offline mode and
MLflow on a SQLite tracking URI. Every measurement is repeated and the median
is reported. The numbers are recorded in a Markdown file, and nothing asserts them.

Usage::

    python bench/bench_logging.py [--steps 10000] [--output bench/results/logging.md]
"""

from __future__ import annotations

import argparse
import copy
import datetime
import functools
import importlib.metadata
import importlib.util
import logging
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# `python bench/bench_logging.py` puts bench/ on the path, not the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

logger = logging.getLogger(__name__)

METRIC_NAMES = tuple(
    f"train/{name}" for name in "loss acc lr grad_norm f1 auc mse mae r2 nll".split()
)
PROJECT = "bench-logging"
LOG_TARGET_US = 10.0
THROUGHPUT_TARGET = 300_000
# Text below this line in an existing results file survives a re-run.
NOTES_MARKER = "<!-- Notes below this line are written by hand and kept on re-run. -->"


@dataclass
class LoggingResult:
    """One tool's median timings for logging the workload.

    ``stored_points`` is the count read back after the run ended, or None
    when the tool's storage could not be read back. ``per_call_spread_s`` is
    the fastest and slowest repeat.
    """

    tool: str
    per_call_s: float
    finish_s: float
    total_s: float
    points: int
    stored_points: int | None
    note: str = ""
    per_call_spread_s: tuple[float, float] = (0.0, 0.0)
    total_spread_s: tuple[float, float] = (0.0, 0.0)

    @property
    def points_per_s(self) -> float:
        return self.points / self.total_s


@dataclass
class ThroughputResult:
    """Median time to write a fixed number of points, from first write to commit."""

    tool: str
    points: int
    seconds: float
    stored_points: int | None
    note: str = ""
    spread_s: tuple[float, float] = (0.0, 0.0)

    @property
    def points_per_s(self) -> float:
        return self.points / self.seconds


# Workload


def make_rows(steps: int, seed: int = 0) -> list[dict[str, float]]:
    """Build ``steps`` history rows of ten random floats each.

    Parameters
    ----------
    steps : int
        Number of rows, one per ``log()`` call.
    seed : int
        Seed of the random generator, so every run logs the same values.

    Returns
    -------
    list of dict
        Rows keyed by ``METRIC_NAMES``.
    """
    generator = random.Random(seed)
    return [{name: generator.random() for name in METRIC_NAMES} for _ in range(steps)]


def history_points(
    rows: list[dict[str, float]], run_pk: int = 1
) -> list[tuple[int, str, int, float, float]]:
    """Return the ``(run_pk, key, step, value, timestamp)`` tuples Runlens stores."""
    now = time.time()
    return [
        (run_pk, key, step, value, now)
        for step, row in enumerate(rows)
        for key, value in row.items()
    ]


def _spread(values: list[float]) -> tuple[float, float]:
    return min(values), max(values)


def _median_logging(results: list[LoggingResult]) -> LoggingResult:
    first = results[0]
    stored = [result.stored_points for result in results]
    per_call = [result.per_call_s for result in results]
    total = [result.total_s for result in results]
    return LoggingResult(
        tool=first.tool,
        per_call_s=statistics.median(per_call),
        finish_s=statistics.median(result.finish_s for result in results),
        total_s=statistics.median(total),
        points=first.points,
        stored_points=None if None in stored else min(stored),
        note=first.note,
        per_call_spread_s=_spread(per_call),
        total_spread_s=_spread(total),
    )


def _median_throughput(results: list[ThroughputResult]) -> ThroughputResult:
    first = results[0]
    stored = [result.stored_points for result in results]
    seconds = [result.seconds for result in results]
    return ThroughputResult(
        tool=first.tool,
        points=first.points,
        seconds=statistics.median(seconds),
        stored_points=None if None in stored else min(stored),
        note=first.note,
        spread_s=_spread(seconds),
    )


# Anchors without a tracking library


def measure_list_append(rows: list[dict[str, float]]) -> float:
    """Return the seconds per ``list.append`` of the prebuilt rows."""
    sink: list[dict[str, float]] = []
    append = sink.append
    start = time.perf_counter()
    for row in rows:
        append(row)
    return (time.perf_counter() - start) / len(rows)


def measure_plain_sqlite(
    points: list[tuple[int, str, int, float, float]], folder: Path
) -> ThroughputResult:
    """Insert ``points`` with sqlite3 in WAL mode, one transaction, executemany.

    The table, index and ``synchronous = FULL`` match the Runlens history
    table on SQLite, so the ratio to this anchor is the cost of Runlens itself.
    """
    database = folder / "plain.db"
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute(
        "CREATE TABLE history (run_pk INTEGER NOT NULL, key VARCHAR(256) NOT NULL, "
        "step BIGINT NOT NULL, value FLOAT, timestamp FLOAT NOT NULL)"
    )
    connection.execute("CREATE INDEX ix_history ON history (run_pk, key, step)")

    start = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany("INSERT INTO history VALUES (?, ?, ?, ?, ?)", points)
    connection.execute("COMMIT")
    seconds = time.perf_counter() - start

    stored = connection.execute("SELECT count(*) FROM history").fetchone()[0]
    connection.close()
    return ThroughputResult(
        "plain sqlite3 (WAL, synchronous=FULL, same table and index)",
        len(points),
        seconds,
        stored,
    )


# Runlens


def _count_history(store: Any, run_pk: int) -> int:
    from sqlalchemy import func, select

    from tracking import schema

    query = (
        select(func.count())
        .select_from(schema.history)
        .where(schema.history.c.run_pk == run_pk)
    )
    with store.engine.connect() as conn:
        return conn.execute(query).scalar_one()


def measure_runlens(
    rows: list[dict[str, float]], folder: Path, build_dicts: bool
) -> LoggingResult:
    """Log ``rows`` to a new Runlens run and time ``log()`` and ``finish()``.

    Parameters
    ----------
    rows : list of dict
        The workload.
    folder : Path
        An empty folder for the store.
    build_dicts : bool
        If True, each loop iteration builds its dict with ``dict(zip(...))``
        from a list of values, as a training loop does, and that cost is
        included in the time per call.

    Returns
    -------
    LoggingResult
        Seconds per call, the time of ``finish()``, the time from the first
        ``log()`` to ``finish()`` returning, and the count read back.
    """
    import tracking

    # Runlens writes the local store in both "online" and "offline" mode.
    run = tracking.init(project=PROJECT, dir=folder, mode="online", reinit=True)
    names = METRIC_NAMES
    values = [list(row.values()) for row in rows]
    log = run.log

    if build_dicts:
        start = time.perf_counter()
        for row_values in values:
            log(dict(zip(names, row_values, strict=True)))
    else:
        start = time.perf_counter()
        for row in rows:
            log(row)
    logged = time.perf_counter()
    run.finish()
    finished = time.perf_counter()

    store = run.store
    stored = _count_history(store, store.run(PROJECT, run.id)["pk"])
    store.engine.dispose()
    tool = "Runlens run.log()"
    if build_dicts:
        tool += " incl. building the dict"
    return LoggingResult(
        tool=tool,
        per_call_s=(logged - start) / len(rows),
        finish_s=finished - logged,
        total_s=finished - start,
        points=len(rows) * len(METRIC_NAMES),
        stored_points=stored,
    )


def measure_store_batches(
    total_points: int, batch_rows: int, folder: Path
) -> ThroughputResult:
    """Time ``RunStore.save_batch`` of ``total_points`` in writer-sized batches.

    Each batch carries ``batch_rows`` steps of ten points plus the summary,
    config and last step, as ``HistoryWriter`` sends them. The points are
    built before the clock starts.
    """
    from tracking.store import RunStore

    store = RunStore(folder / "store")
    run_pk = store.create_run(
        project=PROJECT,
        run_id="save-batch",
        name=None,
        config={"lr": 0.001},
        tags=(),
        notes=None,
        group=None,
        job_type=None,
    )
    steps = total_points // len(METRIC_NAMES)
    rows = make_rows(steps, seed=1)
    points = history_points(rows, run_pk)
    batch_points = batch_rows * len(METRIC_NAMES)
    batches = [
        points[first : first + batch_points]
        for first in range(0, len(points), batch_points)
    ]

    start = time.perf_counter()
    for batch in batches:
        last_step = batch[-1][2]
        store.save_batch(
            run_pk,
            batch,
            summary=rows[last_step],
            config={"lr": 0.001},
            last_step=last_step,
        )
    seconds = time.perf_counter() - start

    stored = _count_history(store, run_pk)
    store.engine.dispose()
    return ThroughputResult(
        f"RunStore.save_batch, {len(batches[0]):,} points a batch",
        len(points),
        seconds,
        stored,
    )


# Optional anchors


def is_installed(module: str) -> bool:
    """Return True when ``module`` can be imported."""
    return importlib.util.find_spec(module) is not None


def measure_wandb(rows: list[dict[str, float]], folder: Path) -> LoggingResult:
    """Log ``rows`` with wandb in offline mode and time ``log()`` and ``finish()``.

    The points go to the run's ``.wandb`` file and are not read back.
    """
    # W&B reads these when a run starts. Offline mode writes a local file, and
    # with error reporting off W&B does not send crash reports either.
    os.environ["WANDB_MODE"] = "offline"
    os.environ["WANDB_SILENT"] = "true"
    os.environ["WANDB_ERROR_REPORTING"] = "false"
    for variable in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        os.environ[variable] = str(folder)
    import wandb

    rows = copy.deepcopy(rows)
    run = wandb.init(project=PROJECT, dir=folder)
    log = run.log

    start = time.perf_counter()
    for row in rows:
        log(row)
    logged = time.perf_counter()
    run.finish()
    finished = time.perf_counter()

    return LoggingResult(
        tool="wandb offline run.log()",
        per_call_s=(logged - start) / len(rows),
        finish_s=finished - logged,
        total_s=finished - start,
        points=len(rows) * len(METRIC_NAMES),
        stored_points=None,
        note="written to the offline .wandb file, not read back",
    )


def measure_mlflow(
    rows: list[dict[str, float]], folder: Path, synchronous: bool
) -> LoggingResult:
    """Log ``rows`` with ``mlflow.log_metrics`` to a SQLite tracking URI.

    ``synchronous=False`` uses MLflow's asynchronous logging, which returns
    before the write. The end time then includes ``flush_async_logging()``.
    """
    # MLflow 3 sends usage telemetry unless this is set.
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    run = mlflow.start_run()
    log_metrics = mlflow.log_metrics

    start = time.perf_counter()
    for step, row in enumerate(rows):
        log_metrics(row, step=step, synchronous=synchronous)
    logged = time.perf_counter()
    if not synchronous:
        mlflow.flush_async_logging()
    mlflow.end_run()
    finished = time.perf_counter()

    client = mlflow.MlflowClient()
    stored = sum(
        len(client.get_metric_history(run.info.run_id, name)) for name in METRIC_NAMES
    )
    mode = "synchronous" if synchronous else "synchronous=False"
    return LoggingResult(
        tool=f"MLflow log_metrics ({mode}, SQLite URI)",
        per_call_s=(logged - start) / len(rows),
        finish_s=finished - logged,
        total_s=finished - start,
        points=len(rows) * len(METRIC_NAMES),
        stored_points=stored,
    )


# Report


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_lines(
    steps: int, repeats: int, load_before: float, load_after: float
) -> list[str]:
    """Return Markdown lines describing the machine, the date and the packages.

    ``load_before`` and ``load_after`` are the one-minute load averages at the
    start and end of the run. They are reported because other processes on
    the machine skew the timings.
    """
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    packages = ("SQLAlchemy", "numpy", "pandas", "wandb", "mlflow")
    versions = ", ".join(f"{name} {_package_version(name)}" for name in packages)
    return [
        f"- Date: {now}",
        f"- CPU: {_cpu_model()}, nproc {os.cpu_count()}",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- SQLite library {sqlite3.sqlite_version}",
        f"- One-minute load average: {load_before:.2f} at the start, "
        f"{load_after:.2f} at the end",
        f"- Packages: {versions}",
        f"- Workload: {steps:,} steps of {len(METRIC_NAMES)} floats "
        f"({steps * len(METRIC_NAMES):,} points); median of {repeats} repeats "
        "after one untimed Runlens run, timed with time.perf_counter",
    ]


def _ratio(value: float, reference: float) -> str:
    ratio = value / reference
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    if ratio >= 0.01:
        return f"{ratio:.2f}x"
    return f"{ratio:.4f}x"


def _stored(stored: int | None, points: int) -> str:
    if stored is None:
        return "not read back"
    if stored == points:
        return f"{stored:,} (all)"
    return f"{stored:,} of {points:,} (MISSING POINTS)"


def latency_table(
    list_append_s: float, results: list[LoggingResult], missing: list[str]
) -> list[str]:
    """Return the Markdown table of microseconds per ``log()`` call."""
    runlens_s = results[0].per_call_s
    lines = [
        "| tool | us per log() of 10 floats | fastest-slowest repeat | "
        "ratio to Runlens |",
        "|---|---:|---:|---:|",
        f"| Python list.append | {list_append_s * 1e6:.2f} | | "
        f"{_ratio(list_append_s, runlens_s)} |",
    ]
    for result in results:
        fastest, slowest = result.per_call_spread_s
        lines.append(
            f"| {result.tool} | {result.per_call_s * 1e6:.2f} | "
            f"{fastest * 1e6:.2f}-{slowest * 1e6:.2f} | "
            f"{_ratio(result.per_call_s, runlens_s)} |"
        )
    for tool in missing:
        lines.append(f"| {tool} | not installed | | |")
    return lines


def throughput_table(
    sqlite_result: ThroughputResult,
    store_result: ThroughputResult,
    results: list[LoggingResult],
    missing: list[str],
) -> list[str]:
    """Return the Markdown table of points per second written and committed."""
    reference = sqlite_result.points_per_s
    lines = [
        "| tool | points | seconds | fastest-slowest repeat | points/s "
        "| ratio to plain SQLite | read back |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for result in (sqlite_result, store_result):
        fastest, slowest = result.spread_s
        lines.append(
            f"| {result.tool} | {result.points:,} | {result.seconds:.3f} | "
            f"{fastest:.3f}-{slowest:.3f} | "
            f"{result.points_per_s:,.0f} | {_ratio(result.points_per_s, reference)} "
            f"| {_stored(result.stored_points, result.points)} |"
        )
    for result in results:
        label = f"{result.tool}, first log to end of run"
        stored = _stored(result.stored_points, result.points)
        if result.note:
            stored = result.note
        fastest, slowest = result.total_spread_s
        lines.append(
            f"| {label} | {result.points:,} | {result.total_s:.3f} | "
            f"{fastest:.3f}-{slowest:.3f} | "
            f"{result.points_per_s:,.0f} | {_ratio(result.points_per_s, reference)} "
            f"| {stored} |"
        )
    for tool in missing:
        lines.append(f"| {tool} | | | | not installed | | |")
    return lines


def target_lines(prebuilt: LoggingResult) -> list[str]:
    """Return Markdown lines comparing Runlens with its two targets."""
    per_call_us = prebuilt.per_call_s * 1e6
    throughput = prebuilt.points_per_s
    if per_call_us <= LOG_TARGET_US:
        latency = f"met ({per_call_us:.2f} us)"
    else:
        over = per_call_us / LOG_TARGET_US - 1
        latency = f"missed: {per_call_us:.2f} us, {over:.0%} over"
    if throughput >= THROUGHPUT_TARGET:
        durable = f"met ({throughput:,.0f} points/s)"
    else:
        short = 1 - throughput / THROUGHPUT_TARGET
        durable = f"missed: {throughput:,.0f} points/s, {short:.0%} short"
    return [
        f"- At most {LOG_TARGET_US:g} us per log() of 10 floats "
        f"(prebuilt dicts): {latency}",
        f"- At least {THROUGHPUT_TARGET:,} points/s durable, first log() to "
        f"finish() returning: {durable}",
    ]


def render_report(
    header: list[str],
    latency: list[str],
    throughput: list[str],
    prebuilt: LoggingResult,
    targets: list[str],
) -> str:
    """Assemble the results page."""
    lines = [
        "# Logging benchmark",
        "",
        "Written by `bench/bench_logging.py`. The numbers are recorded here and",
        "asserted nowhere, and they change with the machine and its load.",
        "",
        "## Machine and workload",
        "",
        *header,
        "",
        "## Time per log() call",
        "",
        "Dicts are built before the clock starts unless the row says otherwise.",
        "The ratio is the tool's time per call divided by Runlens's.",
        "",
        *latency,
        "",
        f"Runlens finish() (drain of the writer queue and final commit): "
        f"{prebuilt.finish_s * 1e3:.1f} ms.",
        "",
        "## Points written per second",
        "",
        "Each row ends when the data is committed: COMMIT for SQLite, the return",
        "of save_batch, finish() or end_run(). Runlens and plain SQLite use",
        "`synchronous = FULL` in WAL mode, so a commit is on disk when it returns.",
        "",
        *throughput,
        "",
        "## Targets",
        "",
        *targets,
        "",
    ]
    return "\n".join(lines)


def _kept_notes(output: Path) -> str:
    if not output.exists():
        return ""
    text = output.read_text(encoding="utf-8")
    if NOTES_MARKER not in text:
        return ""
    return text[text.index(NOTES_MARKER) + len(NOTES_MARKER) :]


# Running


def _repeat_in_folders(
    repeats: int, measure: Callable[[Path], Any], root: Path, name: str
) -> list[Any]:
    """Call ``measure`` once per repeat, each time with a new empty folder."""
    results = []
    for index in range(repeats):
        folder = root / f"{name}-{index}"
        folder.mkdir()
        results.append(measure(folder))
    return results


def run_benchmark(
    steps: int, repeats: int, store_points: int, mlflow_steps: int, root: Path
) -> str:
    """Run every measurement under ``root`` and return the Markdown report.

    Parameters
    ----------
    steps : int
        ``log()`` calls per run.
    repeats : int
        Repeats of each measurement. The report gives their median.
    store_points : int
        Points written through ``RunStore.save_batch``.
    mlflow_steps : int
        ``log_metrics`` calls per MLflow run.
    root : Path
        An empty folder for every store the benchmark creates.

    Returns
    -------
    str
        The results page.
    """
    from tracking.writer import WAKE_ROWS

    rows = make_rows(steps)
    points = history_points(rows)
    load_before = os.getloadavg()[0]

    print("list.append ...", file=sys.stderr)
    list_append_s = statistics.median(measure_list_append(rows) for _ in range(repeats))

    print("Runlens ...", file=sys.stderr)
    # An untimed run first, so the timed ones do not pay for first imports,
    # the first store and fresh memory arenas.
    warmup = root / "warmup"
    warmup.mkdir()
    measure_runlens(rows, warmup, build_dicts=False)
    prebuilt = _median_logging(
        _repeat_in_folders(
            repeats,
            functools.partial(measure_runlens, rows, build_dicts=False),
            root,
            "runlens",
        )
    )
    with_dicts = _median_logging(
        _repeat_in_folders(
            repeats,
            functools.partial(measure_runlens, rows, build_dicts=True),
            root,
            "dicts",
        )
    )
    results = [prebuilt, with_dicts]

    print("plain sqlite3 and RunStore.save_batch ...", file=sys.stderr)
    sqlite_result = _median_throughput(
        _repeat_in_folders(
            repeats, functools.partial(measure_plain_sqlite, points), root, "sqlite"
        )
    )
    store_result = _median_throughput(
        _repeat_in_folders(
            repeats,
            functools.partial(measure_store_batches, store_points, WAKE_ROWS),
            root,
            "store",
        )
    )

    missing = []
    if is_installed("wandb"):
        print("wandb offline ...", file=sys.stderr)
        wandb_runs = _repeat_in_folders(
            repeats, functools.partial(measure_wandb, rows), root, "wandb"
        )
        results.append(_median_logging(wandb_runs))
    else:
        print("wandb: not installed", file=sys.stderr)
        missing.append("wandb offline")

    if is_installed("mlflow"):
        mlflow_rows = rows[:mlflow_steps]
        for synchronous in (True, False):
            print(f"MLflow synchronous={synchronous} ...", file=sys.stderr)
            mlflow_runs = _repeat_in_folders(
                repeats,
                functools.partial(measure_mlflow, mlflow_rows, synchronous=synchronous),
                root,
                f"mlflow-{synchronous}",
            )
            result = _median_logging(mlflow_runs)
            if mlflow_steps != steps:
                result.tool += f", {mlflow_steps:,} steps"
            results.append(result)
    else:
        print("mlflow: not installed", file=sys.stderr)
        missing.append("MLflow")

    return render_report(
        machine_lines(steps, repeats, load_before, os.getloadavg()[0]),
        latency_table(list_append_s, results, missing),
        throughput_table(sqlite_result, store_result, results, missing),
        prebuilt,
        target_lines(prebuilt),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the report and write it to ``--output``."""
    parser = argparse.ArgumentParser(
        description="Benchmark run.log() latency and durable history throughput."
    )
    parser.add_argument(
        "--steps", type=int, default=10_000, help="log() calls per run (default 10000)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("bench/results/logging.md"),
        help="Markdown file to write (default bench/results/logging.md)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="repeats of each measurement (default 3)"
    )
    parser.add_argument(
        "--store-points",
        type=int,
        default=1_000_000,
        help="points written through RunStore.save_batch (default 1000000)",
    )
    parser.add_argument(
        "--mlflow-steps",
        type=int,
        default=None,
        help="log_metrics calls per MLflow run (default: the value of --steps). "
        "Synchronous MLflow on SQLite took 8 to 25 ms a call on the machine "
        "in bench/results/logging.md",
    )
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < 1 or args.store_points < len(METRIC_NAMES):
        parser.error(
            "--steps and --repeats must be at least 1 and --store-points at least "
            f"{len(METRIC_NAMES)}; got {args.steps}, {args.repeats} and "
            f"{args.store_points}"
        )
    if args.mlflow_steps is not None and args.mlflow_steps < 1:
        parser.error(f"--mlflow-steps must be at least 1; got {args.mlflow_steps}")

    # Every store goes under the temporary folder, even when RUNLENS_STORE is set.
    os.environ.pop("RUNLENS_STORE", None)
    mlflow_steps = min(args.mlflow_steps or args.steps, args.steps)
    with tempfile.TemporaryDirectory(prefix="runlens-bench-") as folder:
        report = run_benchmark(
            args.steps, args.repeats, args.store_points, mlflow_steps, Path(folder)
        )

    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    notes = _kept_notes(args.output) or "\n"
    args.output.write_text(f"{report}\n{NOTES_MARKER}{notes}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
