"""Benchmark sweep search quality: bayes against Optuna's TPE and random search.

Each problem is searched by three methods with the same budget and seeds:

- ``bayes``: a Runlens bayes sweep, run through the store by an in-process
  agent (every trial is a tracked run);
- ``optuna-tpe``: Optuna's ``TPESampler(seed=seed)`` driven directly by
  ``study.optimize``;
- ``random``: a Runlens random sweep, run like ``bayes``.

The problems are Branin (2-D, minimum 0.397887), Hartmann6 (6-D, minimum
-3.32237) and HistGradientBoosting on a stratified sample of Adult scored by
3-fold CV ROC AUC. The mean best value after 20, 50 and 100 trials is
reported, with a paired comparison per seed of bayes against the other two
methods, and the time :func:`claim_trial` takes for a bayes suggestion at 100
finished trials. Nothing asserts the numbers. They are recorded in a Markdown
file, rewritten after each problem so a long run leaves what it finished.

Usage::

    python bench/bench_sweeps.py [--seeds 20] [--adult-seeds 10] \
        [--adult-rows 16000] [--output bench/results/sweeps.md]
"""

from __future__ import annotations

import argparse
import datetime
import logging
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# HistGradientBoosting's OpenMP threads fight over 2 cores on small data: one
# thread measured about 10 times faster than two on this machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# `python bench/bench_sweeps.py` puts bench/ on the path, not the repository.
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "examples"))

import numpy as np  # noqa: E402

logger = logging.getLogger(__name__)

CHECKPOINTS = (20, 50, 100)
METHODS = ("bayes", "optuna-tpe", "random")


@dataclass(frozen=True)
class Problem:
    """A function to minimise over a box, in W&B sweep terms."""

    name: str
    parameters: dict[str, dict[str, float]]
    objective: Callable[[dict[str, Any]], float]
    goal: str = "minimize"


def branin(values: dict[str, Any]) -> float:
    x, y = values["x"], values["y"]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    t = 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


_HARTMANN_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_HARTMANN_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(values: dict[str, Any]) -> float:
    point = np.array([values[f"x{i}"] for i in range(6)])
    inner = np.sum(_HARTMANN_A * (point - _HARTMANN_P) ** 2, axis=1)
    return float(-np.sum(_HARTMANN_ALPHA * np.exp(-inner)))


def adult_problem(rows: int) -> Problem:
    import sweep_adult

    features, labels = sweep_adult.adult_features(rows=rows)

    def objective(values: dict[str, Any]) -> float:
        params = {**values, "max_leaf_nodes": int(values["max_leaf_nodes"])}
        scores = sweep_adult.cross_validate(params, features, labels)
        return float(np.mean([score["roc_auc"] for score in scores]))

    return Problem(
        name=f"HGB on Adult ({len(labels):,} rows, 3-fold CV ROC AUC)",
        parameters={
            "learning_rate": {
                "distribution": "log_uniform_values",
                "min": 1e-2,
                "max": 3e-1,
            },
            "max_leaf_nodes": {"min": 8, "max": 128},
            "min_samples_leaf": {"min": 5, "max": 200},
            "l2_regularization": {
                "distribution": "log_uniform_values",
                "min": 1e-6,
                "max": 10.0,
            },
            "max_features": {"min": 0.3, "max": 1.0},
            "max_iter": {"value": 50},
        },
        objective=objective,
        goal="maximize",
    )


PROBLEMS = {
    "branin": Problem(
        "Branin",
        {"x": {"min": -5.0, "max": 10.0}, "y": {"min": 0.0, "max": 15.0}},
        branin,
    ),
    "hartmann6": Problem(
        "Hartmann6", {f"x{i}": {"min": 0.0, "max": 1.0} for i in range(6)}, hartmann6
    ),
}


def run_sweep(
    problem: Problem, method: str, seed: int, trials: int, store: Any
) -> list[float]:
    """Run a Runlens sweep in-process and return the objective of each trial."""
    import tracking
    from tracking.sweeps import store as sweep_store

    sweep_id = tracking.sweep(
        {
            "method": method,
            "metric": {"name": "objective", "goal": problem.goal},
            "parameters": problem.parameters,
        },
        project=f"bench-{method}",
        location=store.url,
        seed=seed,
    )

    def train() -> None:
        run = tracking.init()
        run.log({"objective": problem.objective(dict(run.config))})

    tracking.agent(sweep_id, function=train, count=trials, location=store.url)
    sweep = sweep_store.get_sweep(store, sweep_id)
    return [trial.best for trial in sweep_store.list_trials(store, sweep)]


def run_optuna(problem: Problem, seed: int, trials: int) -> list[float]:
    """Optimise with Optuna's TPE directly, on the same space."""
    import optuna

    def objective(trial: Any) -> float:
        values = {}
        for name, spec in problem.parameters.items():
            if "value" in spec:
                values[name] = spec["value"]
            elif isinstance(spec["min"], int) and isinstance(spec["max"], int):
                values[name] = trial.suggest_int(name, spec["min"], spec["max"])
            else:
                log = spec.get("distribution") == "log_uniform_values"
                values[name] = trial.suggest_float(
                    name, spec["min"], spec["max"], log=log
                )
        return problem.objective(values)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction=problem.goal, sampler=optuna.samplers.TPESampler(seed=seed)
    )
    study.optimize(objective, n_trials=trials)
    return [trial.value for trial in study.trials]


def best_so_far(values: list[float], goal: str, count: int) -> float:
    head = values[:count]
    return max(head) if goal == "maximize" else min(head)


def benchmark(problem: Problem, seeds: int, trials: int, store: Any) -> dict[str, Any]:
    """Search ``problem`` with every method; return each seed's best per checkpoint."""
    results: dict[str, list[list[float]]] = {method: [] for method in METHODS}
    started = time.perf_counter()
    for seed in range(seeds):
        results["bayes"].append(run_sweep(problem, "bayes", seed, trials, store))
        results["optuna-tpe"].append(run_optuna(problem, seed, trials))
        results["random"].append(run_sweep(problem, "random", seed, trials, store))
        logger.info("%s: seed %d done", problem.name, seed)
    bests = {
        method: {
            count: [best_so_far(values, problem.goal, count) for values in runs]
            for count in CHECKPOINTS
            if count <= trials
        }
        for method, runs in results.items()
    }
    return {
        "problem": problem,
        "seeds": seeds,
        "trials": trials,
        "bests": bests,
        "seconds": time.perf_counter() - started,
    }


def paired_gain(
    bayes: list[float], other: list[float], goal: str
) -> tuple[float, float]:
    """Return the mean and standard error over seeds of bayes's gain over ``other``.

    The gain is positive when bayes found the better value with that seed.
    """
    sign = 1.0 if goal == "maximize" else -1.0
    gains = [sign * (b - o) for b, o in zip(bayes, other, strict=True)]
    if len(gains) < 2:
        return gains[0], math.nan
    return statistics.mean(gains), statistics.stdev(gains) / math.sqrt(len(gains))


def verdict(gain: float, error: float, baseline: str) -> str:
    """Return a plain statement of a paired gain: 2 standard errors decide."""
    if baseline == "random":
        if gain > 2 * error:
            return "bayes is clearly better than random"
        return "bayes is not clearly better than random"
    if gain > 2 * error:
        return f"bayes is better than {baseline}"
    if gain < -2 * error:
        return f"bayes is behind {baseline}"
    return f"bayes and {baseline} are level within noise"


def suggestion_time(
    store: Any, finished: int = 100, repeats: int = 20
) -> dict[str, float]:
    """Time claim_trial on a bayes sweep with ``finished`` finished trials."""
    import tracking
    from tracking.sweeps.controller import claim_trial

    problem = PROBLEMS["hartmann6"]
    sweep_id = tracking.sweep(
        {
            "method": "bayes",
            "metric": {"name": "objective"},
            "parameters": problem.parameters,
        },
        project="bench-timing",
        location=store.url,
        seed=0,
    )

    def train() -> None:
        run = tracking.init()
        run.log({"objective": problem.objective(dict(run.config))})

    tracking.agent(sweep_id, function=train, count=finished, location=store.url)
    times = []
    cpu_times = []
    for _ in range(repeats):
        started = time.perf_counter()
        cpu_started = time.process_time()
        claim_trial(store, sweep_id, agent="bench")
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    # The claimed trials stay pending: later claims see them as running.
    return {
        "finished": finished,
        "repeats": repeats,
        "median_ms": statistics.median(times) * 1000,
        "max_ms": max(times) * 1000,
        "cpu_median_ms": statistics.median(cpu_times) * 1000,
        "load": os.getloadavg()[0],
    }


def render(
    reports: list[dict[str, Any]],
    timing: dict[str, float] | None,
    pending: list[str],
    args: Any,
) -> str:
    import optuna

    lines = [
        "# Sweep search quality",
        "",
        f"Recorded {datetime.date.today().isoformat()} by "
        f"`python bench/bench_sweeps.py --seeds {args.seeds} "
        f"--adult-seeds {args.adult_seeds} --adult-trials {args.adult_trials} "
        f"--adult-rows {args.adult_rows}` on "
        f"{platform.machine()} with {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Optuna {optuna.__version__}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}.",
        "",
        "Mean best value found after N trials (± standard deviation over seeds). "
        "`bayes` and `random` are Runlens sweeps run through a SQLite store by an "
        "in-process agent; `optuna-tpe` is `optuna.samplers.TPESampler(seed=seed)` "
        "driven by `study.optimize` on the same space. In Optuna 5.1 that default "
        "sampler is already the multivariate TPE with constant liar for one "
        "objective, the settings Runlens's bayes sets explicitly, so a separate "
        "multivariate row would repeat it.",
        "",
        "For each suggestion, bayes asks that same sampler in a new in-memory "
        "study that holds every earlier trial, seeded from the sweep's seed and "
        "the trial number. It therefore differs from `optuna-tpe` only in its "
        "random numbers, so the two should differ only by chance.",
        "",
        "The paired comparison takes, per seed, the best value of bayes minus that "
        "of the other method (sign turned so that a positive gain means bayes did "
        "better), and reports the mean gain ± its standard error over seeds. A gain "
        "beyond 2 standard errors counts as better or behind; anything smaller is "
        "level within noise.",
        "",
        "HGB on Adult is HistGradientBoostingClassifier with max_iter 50 on a "
        "stratified sample of the 32,561 Adult training rows (`--adult-rows`, 0 "
        "for all), scored by 3-fold CV ROC AUC. Above 10,000 rows scikit-learn "
        "turns on early stopping by default, holding out 10% of each fold's "
        "training part. No objective value is cached: every method fits its own "
        "trials.",
        "",
    ]
    for report in reports:
        lines += _render_problem(report)
    if timing is None:
        lines += ["## Suggestion time", "", "Not measured yet.", ""]
    else:
        lines += [
            "## Suggestion time",
            "",
            "Time of `claim_trial` (reading the sweep's trials and metrics from "
            "SQLite, one TPE suggestion, the insert) on a bayes Hartmann6 sweep "
            f"with {timing['finished']} finished trials, over {timing['repeats']} "
            f"claims: median {timing['median_ms']:.1f} ms of wall time (max "
            f"{timing['max_ms']:.1f} ms) and median {timing['cpu_median_ms']:.1f} "
            "ms of the process's CPU time. The claimed trials stay pending, so the "
            f"later claims also see up to {timing['repeats'] - 1} running trials.",
            "",
            "The wall time depends on the load: the 1-minute load average was "
            f"{timing['load']:.1f} on {os.cpu_count()} cores when the claims ran, "
            "with the script at nice 10. The CPU time leaves out the waits for a "
            "core and for the disk (the store commits with synchronous=FULL).",
            "",
        ]
    for name in pending:
        lines += [f"## {name}", "", "Not run yet: this run had not reached it.", ""]
    return "\n".join(lines)


def _render_problem(report: dict[str, Any]) -> list[str]:
    problem = report["problem"]
    goal = "higher" if problem.goal == "maximize" else "lower"
    bests = report["bests"]
    counts = list(bests["bayes"])
    per_trial = report["seconds"] / (len(METHODS) * report["seeds"] * report["trials"])
    lines = [
        f"## {problem.name}",
        "",
        f"{report['seeds']} seeds, {report['trials']} trials each; {goal} is "
        f"better; {report['seconds']:.0f} s in all, {per_trial:.2f} s a trial.",
        "",
        "| method | " + " | ".join(f"after {c}" for c in counts) + " |",
        "|---|" + "---|" * len(counts),
    ]
    for method, row in bests.items():
        cells = " | ".join(
            f"{statistics.mean(v):.4f} ± {_stdev(v):.4f}" for v in row.values()
        )
        lines.append(f"| {method} | {cells} |")
    lines += [
        "",
        "Paired gain of bayes (mean ± standard error over seeds):",
        "",
        "| against | " + " | ".join(f"after {c}" for c in counts) + " |",
        "|---|" + "---|" * len(counts),
    ]
    for other in ("optuna-tpe", "random"):
        cells = []
        for count in counts:
            gain, error = paired_gain(
                bests["bayes"][count], bests[other][count], problem.goal
            )
            cells.append(f"{gain:+.4f} ± {error:.4f}")
        lines.append(f"| {other} | " + " | ".join(cells) + " |")
    last = counts[-1]
    statements = [
        verdict(
            *paired_gain(bests["bayes"][last], bests[other][last], problem.goal),
            other,
        )
        for other in ("optuna-tpe", "random")
    ]
    lines += ["", f"After {last} trials: {statements[0]}; {statements[1]}.", ""]
    return lines


def _stdev(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds", type=int, default=20, help="seeds of Branin and Hartmann6"
    )
    parser.add_argument("--trials", type=int, default=100, help="trials per search")
    parser.add_argument(
        "--adult-seeds", type=int, default=10, help="seeds of Adult (0 skips it)"
    )
    parser.add_argument(
        "--adult-trials", type=int, default=100, help="trials per search on Adult"
    )
    parser.add_argument(
        "--adult-rows",
        type=int,
        default=16000,
        help="Adult training rows in the stratified sample (0: all 32,561)",
    )
    parser.add_argument(
        "--output", type=Path, default=REPO / "bench" / "results" / "sweeps.md"
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    for name in ("tracking", "optuna"):
        logging.getLogger(name).setLevel(logging.WARNING)

    from tracking.store import RunStore

    # Each problem with its seeds and trials per search.
    plans = [
        (PROBLEMS["branin"], args.seeds, args.trials),
        (PROBLEMS["hartmann6"], args.seeds, args.trials),
    ]
    if args.adult_seeds > 0:
        adult = adult_problem(args.adult_rows)
        plans.append((adult, args.adult_seeds, args.adult_trials))
    reports: list[dict[str, Any]] = []
    timing = None
    pending = [problem.name for problem, _, _ in plans]

    def write() -> None:
        text = render(reports, timing, pending, args)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")

    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(folder)
        for problem, seeds, trials in plans:
            reports.append(benchmark(problem, seeds, trials, store))
            pending.remove(problem.name)
            if timing is None:
                timing = suggestion_time(store)
            write()
        store.engine.dispose()
    print(args.output.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
