"""Benchmark the What-If computations on a 1,000,000-row Adult-shaped dataset.

``bench/whatif_workload.py`` builds the data and scores it once with a binary,
a multiclass and a regression model. Every timed operation then uses those
cached scores, as the What-If pages do. Each operation runs once untimed, then
``--repeats`` times, and its median is compared with its interactivity target:

* nearest counterfactual: 200 ms;
* threshold change and slice change: 300 ms, and the explorer, which redraws on
  both, is held to the same target;
* threshold strategy search: 1 s;
* features overview: 2 s.

Most operations are timed beside an anchor, the plain library call doing the
underlying work (pandas ``describe``, scikit-learn ``confusion_matrix``, ...),
run alternately with it in the same loop. Charts record their number of marks,
the rows of data sent to the browser. The numbers go to a Markdown file, and
nothing asserts them.

Usage::

    python bench/bench_whatif.py [--rows 1000000] [--cache DIR] [--output FILE]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import logging
import os
import platform
import sys
import time
from pathlib import Path

# `python bench/bench_whatif.py` puts bench/ on the path, not the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from whatif_operations import (  # noqa: E402
    Recorder,
    Timing,
    time_counterfactuals,
    time_curves,
    time_explorer,
    time_features_overview,
    time_partial_dependence,
    time_slice_changes,
    time_strategies,
    time_threshold_changes,
)
from whatif_workload import JITTER_SCALE, Workload, adult_shaped, scored_task  # noqa: E402

from analysis.data import load_adult  # noqa: E402

logger = logging.getLogger(__name__)

# Text below this line in an existing results file survives a re-run.
NOTES_MARKER = "<!-- Notes below this line are written by hand and kept on re-run. -->"

# Report


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1e3:,.0f}"


def _ratio(numerator: float, denominator: float | None) -> str:
    return "" if not denominator else f"{numerator / denominator:.2f}"


def render_report(
    timings: list[Timing],
    *,
    command: str,
    rows: int,
    repeats: int,
    scoring: str,
    load: tuple[float, float],
) -> str:
    """Assemble the results page: machine, timings per section, missed targets."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    packages = ("numpy", "pandas", "scikit-learn", "scipy", "fairlearn", "altair")
    versions = ", ".join(f"{name} {_package_version(name)}" for name in packages)
    lines = [
        "# What-If benchmark",
        "",
        "Written by `bench/bench_whatif.py`. The numbers are recorded here and",
        "asserted nowhere, and they change with the machine and its load.",
        "",
        "## Machine and workload",
        "",
        f"- Date: {now}",
        f"- Command: `{command}`",
        f"- CPU: {_cpu_model()}, nproc {os.cpu_count()}",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}",
        f"- One-minute load average: {load[0]:.2f} at the start, {load[1]:.2f} "
        "at the end",
        f"- Packages: {versions}",
        f"- Data: {rows:,} rows resampled with replacement from the Adult "
        f"training split, integer columns jittered by {JITTER_SCALE:g} of their "
        "standard deviation",
        "- Models: HistGradientBoosting pipelines fitted on the Adult training "
        "split, for income (binary), relationship (multiclass, 6 classes) and "
        f"hours_per_week (regression); {scoring}, not included in the timings",
        f"- Timing: median of {repeats} repeats after one untimed run, "
        "time.perf_counter; each anchor runs alternately with its operation",
        "",
        "An anchor is the plain library call for the work underneath an "
        "operation. *median / anchor* below 1 means Runlens is faster than it.",
    ]
    for section in dict.fromkeys(timing.section for timing in timings):
        lines += [
            "",
            f"## {section}",
            "",
            "| operation | median ms | fastest-slowest ms | target ms | "
            "median / target | anchor | anchor median ms | median / anchor |",
            "|---|---:|---:|---:|---:|---|---:|---:|",
        ]
        for timing in timings:
            if timing.section != section:
                continue
            name = timing.operation + (f"; {timing.note}" if timing.note else "")
            anchor = timing.anchor
            if timing.anchor and timing.anchor_runs < repeats:
                anchor += f" (median of {timing.anchor_runs})"
            lines.append(
                f"| {name} | {_ms(timing.median_s)} | "
                f"{_ms(timing.fastest_s)}-{_ms(timing.slowest_s)} | "
                f"{_ms(timing.target_s)} | "
                f"{_ratio(timing.median_s, timing.target_s)} | {anchor} | "
                f"{_ms(timing.anchor_median_s)} | "
                f"{_ratio(timing.median_s, timing.anchor_median_s)} |"
            )

    missed = [t for t in timings if t.target_s is not None and t.median_s > t.target_s]
    lines += ["", "## Targets", ""]
    if missed:
        lines.append("Operations whose median missed the target:")
        lines.append("")
        lines += [
            f"- {t.section}, {t.operation}: {_ms(t.median_s)} ms against "
            f"{_ms(t.target_s)} ms"
            for t in missed
        ]
    else:
        targeted = sum(1 for t in timings if t.target_s is not None)
        lines.append(f"All {targeted} operations with a target met it.")
    lines.append("")
    return "\n".join(lines)


def _kept_notes(output: Path) -> str:
    if not output.exists():
        return ""
    text = output.read_text(encoding="utf-8")
    if NOTES_MARKER not in text:
        return ""
    return text[text.index(NOTES_MARKER) + len(NOTES_MARKER) :]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the report and write it to ``--output``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of data (default 1000000)"
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed repeats (default 5)"
    )
    parser.add_argument(
        "--fairlearn-repeats",
        type=int,
        default=3,
        help="timed runs of each fairlearn anchor, which takes about 10 s at "
        "1,000,000 rows; 0 skips them (default 3)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the resampling (default 0)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="folder to keep the scores in between runs (default: score every run)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("bench/results/whatif.md"),
        help="Markdown file to write (default bench/results/whatif.md)",
    )
    args = parser.parse_args(argv)
    if args.rows < 20_000 or args.repeats < 1 or args.fairlearn_repeats < 0:
        parser.error(
            "--rows must be at least 20000, --repeats at least 1 and "
            "--fairlearn-repeats at least 0"
        )
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    load_before = os.getloadavg()[0]
    print(f"building {args.rows:,} rows ...", file=sys.stderr)
    frame = adult_shaped(args.rows, args.seed)
    print("fitting and scoring ...", file=sys.stderr)
    start = time.perf_counter()
    tasks = {
        task: scored_task(
            frame, task, args.cache, args.seed, need_model=task == "binary"
        )
        for task in ("binary", "multiclass", "regression")
    }
    scoring_s = time.perf_counter() - start
    cached = sum(task.from_cache for task in tasks.values())
    scoring = (
        f"fitting took {scoring_s:.0f} s and the scores of {cached} of 3 models "
        "came from the cache"
        if cached
        else f"fitting and scoring took {scoring_s:.0f} s"
    )
    work = Workload(frame=frame, train=load_adult("train"), **tasks)

    recorder = Recorder(args.repeats)
    time_counterfactuals(recorder, work)
    time_threshold_changes(recorder, work)
    time_slice_changes(recorder, work)
    time_strategies(recorder, work, args.fairlearn_repeats)
    time_features_overview(recorder, work)
    time_explorer(recorder, work)
    time_partial_dependence(recorder, work)
    time_curves(recorder, work)

    command = "python " + " ".join(
        [Path(sys.argv[0]).as_posix(), *(sys.argv[1:] if argv is None else argv)]
    )
    report = render_report(
        recorder.timings,
        command=command,
        rows=args.rows,
        repeats=args.repeats,
        scoring=scoring,
        load=(load_before, os.getloadavg()[0]),
    )
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    notes = _kept_notes(args.output) or "\n"
    args.output.write_text(f"{report}\n{NOTES_MARKER}{notes}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
