"""Benchmark the What-If computations on a 1,000,000-row Adult-shaped dataset.

The dataset resamples the Adult training split with replacement and jitters its
numeric columns. A HistGradientBoosting pipeline fitted on the original split
scores it once; every timed operation then uses those cached scores, as the
What-If page does. Each operation runs once untimed, then ``--repeats`` times,
and the median is compared with its interactivity target. The numbers are
recorded in a Markdown file, and nothing asserts them.

Usage::

    python bench/bench_whatif.py [--rows 1000000] [--output bench/results/whatif.md]
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# `python bench/bench_whatif.py` puts bench/ on the path, not the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.counterfactual import distance_stats, nearest_counterfactual  # noqa: E402
from analysis.curves import curve_marker, pr_curve, roc_curve  # noqa: E402
from analysis.data import (  # noqa: E402
    ADULT_INTEGER_COLUMNS,
    ADULT_LABEL,
    ADULT_POSITIVE,
    load_adult,
)
from analysis.fairness import STRATEGIES, optimize_thresholds  # noqa: E402
from analysis.metrics import binary_metrics, confusion_frame  # noqa: E402
from analysis.slices import (  # noqa: E402
    cross_slice_labels,
    metrics_by_slice,
    metrics_by_slice_at_thresholds,
    slice_labels,
)

logger = logging.getLogger(__name__)

# Interactivity targets in seconds.
COUNTERFACTUAL_TARGET_S = 0.2
THRESHOLD_TARGET_S = 0.3
SLICE_TARGET_S = 0.3
STRATEGY_TARGET_S = 1.0

# Standard deviation of the jitter added to numeric columns, as a share of the
# column's own standard deviation.
JITTER_SCALE = 0.05
# Text below this line in an existing results file survives a re-run.
NOTES_MARKER = "<!-- Notes below this line are written by hand and kept on re-run. -->"


@dataclass
class Timing:
    """Median and spread of one operation's repeats, with its target."""

    operation: str
    median_s: float
    fastest_s: float
    slowest_s: float
    target_s: float | None
    note: str = ""


def adult_shaped(rows: int, seed: int = 0) -> pd.DataFrame:
    """Resample the Adult training split to ``rows`` rows and jitter its numbers.

    Integer columns get Gaussian noise of ``JITTER_SCALE`` times their standard
    deviation, rounded and clipped to the column's original range, so the
    values stay plausible but most rows differ from their source row.
    """
    source = load_adult("train")
    rng = np.random.default_rng(seed)
    frame = source.iloc[rng.integers(0, len(source), rows)].reset_index(drop=True)
    for column in ADULT_INTEGER_COLUMNS:
        values = frame[column].to_numpy(dtype=float)
        noise = rng.normal(0.0, JITTER_SCALE * source[column].std(), rows)
        jittered = np.clip(
            np.round(values + noise), source[column].min(), source[column].max()
        )
        frame[column] = jittered.astype(np.int64)
    return frame


def fitted_pipeline(train: pd.DataFrame) -> Any:
    """Fit an ordinal-encoding HistGradientBoosting pipeline on ``train``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    features = [column for column in train.columns if column != ADULT_LABEL]
    text = [column for column in features if column not in ADULT_INTEGER_COLUMNS]
    encoder = ColumnTransformer(
        [
            (
                "text",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                ),
                text,
            )
        ],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    model = HistGradientBoostingClassifier(
        categorical_features=[f"{name}" for name in text], random_state=0
    )
    pipeline = Pipeline([("encode", encoder), ("model", model)])
    pipeline.set_output(transform="pandas")
    pipeline.fit(train[features], train[ADULT_LABEL])
    return pipeline


def cached_scores(
    frame: pd.DataFrame, cache: Path | None, seed: int
) -> tuple[np.ndarray, bool]:
    """Score the frame with the pipeline, reading and writing ``cache`` if given.

    Returns the positive-class scores and whether they came from the cache.
    """
    path = None
    if cache is not None:
        path = cache / f"whatif-scores-{len(frame)}-{seed}.npy"
        if path.exists():
            logger.info("reading cached scores from %s", path)
            return np.load(path), True

    pipeline = fitted_pipeline(load_adult("train"))
    features = [column for column in frame.columns if column != ADULT_LABEL]
    positive = list(pipeline.classes_).index(ADULT_POSITIVE)
    scores = pipeline.predict_proba(frame[features])[:, positive]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, scores)
    return scores, False


def time_operation(
    operation: str,
    function: Callable[[], object],
    repeats: int,
    target_s: float | None,
    note: str = "",
) -> Timing:
    """Run ``function`` once untimed, then ``repeats`` times with the clock."""
    function()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    print(f"{operation}: {statistics.median(seconds) * 1e3:.0f} ms", file=sys.stderr)
    return Timing(
        operation=operation,
        median_s=statistics.median(seconds),
        fastest_s=min(seconds),
        slowest_s=max(seconds),
        target_s=target_s,
        note=note,
    )


def measure(frame: pd.DataFrame, scores: np.ndarray, repeats: int) -> list[Timing]:
    """Time every operation against its target."""
    y_true = (frame[ADULT_LABEL] == ADULT_POSITIVE).to_numpy()
    timings = []

    stats = distance_stats(frame, exclude=(ADULT_LABEL,))
    predicted = scores >= 0.5
    timings.append(
        time_operation(
            "nearest counterfactual, L1 over all features",
            lambda: nearest_counterfactual(frame, 12_345, predicted, stats=stats),
            repeats,
            COUNTERFACTUAL_TARGET_S,
            "distance statistics computed once beforehand, as the page caches them",
        )
    )
    timings.append(
        time_operation(
            "distance statistics (once per dataset)",
            lambda: distance_stats(frame, exclude=(ADULT_LABEL,)),
            repeats,
            None,
        )
    )

    def threshold_change() -> None:
        metrics = binary_metrics(y_true, scores, 0.37)
        confusion_frame(metrics, ("<=50K", ">50K"))

    timings.append(
        time_operation(
            "threshold change: binary_metrics + confusion_frame",
            threshold_change,
            repeats,
            THRESHOLD_TARGET_S,
        )
    )

    race = slice_labels(frame["race"])
    timings.append(
        time_operation(
            "threshold change: per-slice table by race, one threshold per slice",
            lambda: metrics_by_slice_at_thresholds(
                y_true, scores, race, {"White": 0.4, "Black": 0.35}
            ),
            repeats,
            THRESHOLD_TARGET_S,
        )
    )
    timings.append(
        time_operation(
            "threshold change: curve marker",
            lambda: curve_marker(y_true, scores, 0.37),
            repeats,
            THRESHOLD_TARGET_S,
        )
    )

    def slice_change(column: str, **options: Any) -> Callable[[], object]:
        return lambda: metrics_by_slice(
            y_true, scores, slice_labels(frame[column], **options), 0.5
        )

    timings.append(
        time_operation(
            "slice change: age, 4 equal-width buckets",
            slice_change("age", n_buckets=4),
            repeats,
            SLICE_TARGET_S,
        )
    )
    timings.append(
        time_operation(
            "slice change: hours_per_week, 5 quantile buckets",
            slice_change("hours_per_week", n_buckets=5, method="quantile"),
            repeats,
            SLICE_TARGET_S,
        )
    )
    timings.append(
        time_operation(
            "slice change: education (categorical, 16 values)",
            slice_change("education"),
            repeats,
            SLICE_TARGET_S,
        )
    )
    timings.append(
        time_operation(
            "slice change: sex x age (3 buckets)",
            lambda: metrics_by_slice(
                y_true,
                scores,
                cross_slice_labels(frame["sex"], frame["age"], n_buckets=3),
                0.5,
            ),
            repeats,
            SLICE_TARGET_S,
        )
    )

    for feature in ("sex", "race"):
        groups = slice_labels(frame[feature])
        for strategy in STRATEGIES:
            timings.append(
                time_operation(
                    f"strategy {strategy} by {feature} "
                    f"({len(groups.cat.categories)} groups)",
                    _strategy_call(y_true, scores, groups, strategy),
                    repeats,
                    STRATEGY_TARGET_S,
                )
            )

    timings.append(
        time_operation(
            "ROC and PR curves of all rows",
            lambda: (roc_curve(y_true, scores), pr_curve(y_true, scores)),
            repeats,
            None,
            "independent of the threshold, so computed once per slice",
        )
    )
    return timings


def _strategy_call(
    y_true: np.ndarray, scores: np.ndarray, groups: pd.Series, strategy: str
) -> Callable[[], object]:
    def call() -> object:
        return optimize_thresholds(
            y_true, scores, groups, strategy, cost_ratio=1.0, tolerance=0.0
        )

    return call


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


def render_report(
    timings: list[Timing],
    rows: int,
    repeats: int,
    distinct_scores: int,
    scoring: str,
    load: tuple[float, float],
) -> str:
    """Assemble the results page."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    packages = ("numpy", "pandas", "scikit-learn", "scipy")
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
        f"- CPU: {_cpu_model()}, nproc {os.cpu_count()}",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}",
        f"- One-minute load average: {load[0]:.2f} at the start, {load[1]:.2f} "
        "at the end",
        f"- Packages: {versions}",
        f"- Data: {rows:,} rows resampled with replacement from the Adult "
        f"training split, integer columns jittered by {JITTER_SCALE:g} of their "
        "standard deviation",
        f"- Scores: HistGradientBoostingClassifier pipeline fitted on the Adult "
        f"training split; {distinct_scores:,} distinct scores; {scoring}, "
        "not included in the timings",
        f"- Timing: median of {repeats} repeats after one untimed run, "
        "time.perf_counter",
        "",
        "## Timings",
        "",
        "| operation | median ms | fastest-slowest ms | target ms | median / target |",
        "|---|---:|---:|---:|---:|",
    ]
    for timing in timings:
        target = "" if timing.target_s is None else f"{timing.target_s * 1e3:.0f}"
        ratio = (
            ""
            if timing.target_s is None
            else f"{timing.median_s / timing.target_s:.2f}"
        )
        name = timing.operation + (f"; {timing.note}" if timing.note else "")
        lines.append(
            f"| {name} | {timing.median_s * 1e3:.0f} | "
            f"{timing.fastest_s * 1e3:.0f}-{timing.slowest_s * 1e3:.0f} | "
            f"{target} | {ratio} |"
        )

    missed = [t for t in timings if t.target_s is not None and t.median_s > t.target_s]
    lines += ["", "## Targets", ""]
    if missed:
        lines.append("Operations whose median missed the target:")
        lines.append("")
        lines += [
            f"- {t.operation}: {t.median_s * 1e3:.0f} ms against "
            f"{t.target_s * 1e3:.0f} ms"
            for t in missed
        ]
    else:
        lines.append("Every operation with a target met it.")
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
        "--repeats", type=int, default=3, help="timed repeats (default 3)"
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
    if args.rows < 1_000 or args.repeats < 1:
        parser.error("--rows must be at least 1000 and --repeats at least 1")
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    load_before = os.getloadavg()[0]
    print(f"building {args.rows:,} rows ...", file=sys.stderr)
    frame = adult_shaped(args.rows, args.seed)
    print("scoring ...", file=sys.stderr)
    start = time.perf_counter()
    scores, from_cache = cached_scores(frame, args.cache, args.seed)
    scoring_s = time.perf_counter() - start
    scoring = (
        "scores read from the cache"
        if from_cache
        else f"fitting and scoring took {scoring_s:.1f} s"
    )

    timings = measure(frame, scores, args.repeats)
    report = render_report(
        timings,
        args.rows,
        args.repeats,
        int(np.unique(scores).size),
        scoring,
        (load_before, os.getloadavg()[0]),
    )
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    notes = _kept_notes(args.output) or "\n"
    args.output.write_text(f"{report}\n{NOTES_MARKER}{notes}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
