"""Tables and figures of sweeps for the app: progress, best run, importance.

Nothing here draws; :mod:`tracking.sweeps.charts` turns the tables into
Altair charts.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tracking.store import RunStore
from tracking.sweeps import store as sweep_store
from tracking.sweeps.grid import grid_size
from tracking.sweeps.store import SweepRecord

logger = logging.getLogger(__name__)

SWEEP_COLUMNS = [
    "sweep_id",
    "name",
    "project",
    "method",
    "state",
    "trials",
    "running",
    "finished",
    "failed",
    "planned",
    "progress",
    "metric",
    "best",
    "created_at",
]


def planned_trials(sweep: SweepRecord) -> int | None:
    """Return how many trials the sweep will issue, or None if it has no end."""
    config = sweep.config
    planned = [config.run_cap] if config.run_cap is not None else []
    if config.method == "grid":
        planned.append(grid_size(config))
    return min(planned) if planned else None


def sweeps_table(store: RunStore, project: str | None = None) -> pd.DataFrame:
    """Return one row per sweep with its state, trial counts and best metric.

    ``progress`` is the share of planned trials issued (grid size or
    ``run_cap``), NaN for a sweep without an end.
    """
    records = []
    for sweep in sweep_store.list_sweeps(store, project):
        trials = sweep_store.list_trials(store, sweep)
        states = [trial.state for trial in trials]
        planned = planned_trials(sweep)
        best = best_trial(sweep, trials)
        records.append(
            {
                "sweep_id": sweep.sweep_id,
                "name": sweep.name or "",
                "project": sweep.project,
                "method": sweep.method,
                "state": sweep.state,
                "trials": len(trials),
                "running": sum(s in ("pending", "running") for s in states),
                "finished": sum(s in ("finished", "stopped") for s in states),
                "failed": sum(s in sweep_store.FAILED_TRIAL_STATES for s in states),
                "planned": planned,
                "progress": len(trials) / planned if planned else math.nan,
                "metric": sweep.config.metric.name if sweep.config.metric else None,
                "best": best.best if best is not None else None,
                "created_at": sweep.created_at,
            }
        )
    frame = pd.DataFrame.from_records(records, columns=SWEEP_COLUMNS)
    frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
    return frame


# Sweep states in which agents still claim trials or will again.
ACTIVE_STATES = (sweep_store.RUNNING, sweep_store.PAUSED)


def default_sweep_id(table: pd.DataFrame) -> str | None:
    """Return the sweep a page opens on: the newest running or paused one.

    Falls back to the newest sweep of ``table`` (as :func:`sweeps_table`
    returns it), and None for an empty table.
    """
    if table.empty:
        return None
    newest_first = table.sort_values("created_at", ascending=False, kind="stable")
    active = newest_first[newest_first["state"].isin(ACTIVE_STATES)]
    chosen = active if not active.empty else newest_first
    return str(chosen["sweep_id"].iloc[0])


@dataclass(frozen=True)
class BestRun:
    """The best run of a sweep, for display: its trial, metric and config."""

    run_id: str
    name: str | None
    project: str
    number: int
    state: str
    metric: str
    value: float
    prior: bool
    # Columns parameter and value (as text), one row per swept parameter.
    config: pd.DataFrame


def best_run(
    store: RunStore, sweep: SweepRecord, trials: list[sweep_store.TrialRecord]
) -> BestRun | None:
    """Return the run of the best trial with its name and swept config, or None."""
    from tracking.sweeps.prior_runs import PRIOR_RUN_AGENT

    trial = best_trial(sweep, trials)
    if trial is None:
        return None
    name = None
    if trial.has_run:
        name = store.run(sweep.project, trial.run_id)["name"]
    config = pd.DataFrame(
        {
            "parameter": list(trial.params),
            "value": [_display_value(value) for value in trial.params.values()],
        }
    )
    return BestRun(
        run_id=trial.run_id,
        name=name,
        project=sweep.project,
        number=trial.number,
        state=trial.state,
        metric=sweep.config.metric.name,
        value=trial.best,
        prior=trial.agent == PRIOR_RUN_AGENT,
        config=config,
    )


# Significant digits of the floats shown in a best run's config.
DISPLAY_DIGITS = 4


def _display_value(value: Any) -> str:
    """Return a config value as text, so one column can hold every type.

    Floats are rounded to ``DISPLAY_DIGITS`` significant digits; the stored
    config keeps the full value.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return format(value, f".{DISPLAY_DIGITS}g")
    return json.dumps(value) if isinstance(value, list | dict) else repr(value)


def trials_table(
    frame: pd.DataFrame, trials: list[sweep_store.TrialRecord]
) -> pd.DataFrame:
    """Add an ``error`` column to a trials frame: each failed trial's error line.

    ``frame`` is :func:`tracking.sweeps.store.trials_frame` of the sweep and
    ``trials`` its trial records; the column is empty for trials without an
    error.
    """
    errors = {trial.number: error_line(trial.error) for trial in trials}
    table = frame.copy()
    position = table.columns.get_loc("state") + 1 if "state" in table else 0
    table.insert(position, "error", table["number"].map(errors))
    return table


def error_line(error: str | None) -> str | None:
    """Return the line of a trial's error that names the failure, or None.

    A Python traceback names the exception on its last line, so that line is
    kept. A subprocess trial's error starts with ``exit code N``, which is
    kept in front of it.
    """
    if not error or not error.strip():
        return None
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    last = lines[-1]
    if lines[0].startswith("exit code ") and len(lines) > 1:
        return f"{lines[0]}: {last}"
    return last


def runs_page_filter(run_id: str) -> str:
    """Return the Runs page filter expression that selects one run by id."""
    escaped = run_id.replace("\\", "\\\\").replace('"', '\\"')
    return f'run_id == "{escaped}"'


def best_trial(
    sweep: SweepRecord, trials: list[sweep_store.TrialRecord]
) -> sweep_store.TrialRecord | None:
    """Return the trial with the best logged metric, or None."""
    metric = sweep.config.metric
    if metric is None:
        return None
    best = None
    for trial in trials:
        if trial.best is None or math.isnan(trial.best):
            continue
        if best is None or metric.better(trial.best, best.best):
            best = trial
    return best


# Below this many finished trials the page calls parameter importance rough.
ROUGH_IMPORTANCE_TRIALS = 10


def importance_trial_count(trials: list[sweep_store.TrialRecord]) -> int:
    """Return how many trials :func:`parameter_importance` can score."""
    return sum(_scored(trial) for trial in trials)


def _scored(trial: sweep_store.TrialRecord) -> bool:
    return (
        trial.state in ("finished", "stopped")
        and trial.best is not None
        and math.isfinite(trial.best)
    )


def parameter_importance(
    sweep: SweepRecord, trials: list[sweep_store.TrialRecord]
) -> pd.Series:
    """Return each searched parameter's importance for the metric, summing to 1.

    Optuna's fANOVA evaluator scores the finished trials; the result is empty
    with fewer than two of them or no searched parameter.
    """
    import optuna
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances
    from optuna.trial import create_trial

    from tracking.sweeps.bayes import (
        optuna_distribution,
        quiet_study_creation,
        to_internal,
    )

    config = sweep.config
    searched = [p for p in config.searchable if len(p.support() or [0, 1]) > 1]
    if config.metric is None or not searched:
        return pd.Series(dtype=float)
    distributions = {p.name: optuna_distribution(p) for p in searched}
    frozen = []
    for trial in trials:
        if not _scored(trial):
            continue
        try:
            params = {p.name: to_internal(p, trial.params[p.name]) for p in searched}
        except (KeyError, ValueError, TypeError):
            continue
        frozen.append(
            create_trial(params=params, distributions=distributions, value=trial.best)
        )
    if len(frozen) < 2:
        return pd.Series(dtype=float)

    with quiet_study_creation():
        study = optuna.create_study(
            direction="maximize" if config.metric.maximize else "minimize"
        )
    study.add_trials(frozen)
    importances = get_param_importances(
        study, evaluator=FanovaImportanceEvaluator(seed=0)
    )
    return pd.Series(importances, name="importance").sort_values(ascending=False)


def parallel_frame(trials_frame: pd.DataFrame) -> pd.DataFrame:
    """Return trials in long form for parallel coordinates, each axis in [0, 1].

    Columns: ``number``, ``axis``, ``position`` (0 to 1 along the axis),
    ``value`` (as text), and ``metric``. Numeric parameters are scaled by
    their min and max; other values are spread evenly in sorted order.
    Parameters that kept one value are left out.
    """
    done = trials_frame.dropna(subset=["metric"])
    # A parameter with one value, such as a constant, adds an empty axis.
    params = [
        column
        for column in trials_frame
        if column.startswith("param.") and done[column].map(repr).nunique() > 1
    ]
    rows: list[dict[str, Any]] = []
    axes = [*params, "metric"]
    for column in axes:
        values = done[column]
        numeric = pd.to_numeric(values, errors="coerce")
        if (
            numeric.notna().all()
            and not values.map(lambda v: isinstance(v, bool)).any()
        ):
            low, high = numeric.min(), numeric.max()
            positions = (
                (numeric - low) / (high - low) if high > low else numeric * 0 + 0.5
            )
        else:
            text = values.map(repr)
            order = {v: i for i, v in enumerate(sorted(text.unique()))}
            span = max(len(order) - 1, 1)
            positions = text.map(lambda v, order=order, span=span: order[v] / span)
        for number, value, position, metric in zip(
            done["number"], values, positions, done["metric"], strict=True
        ):
            rows.append(
                {
                    "number": number,
                    "axis": column.removeprefix("param."),
                    "position": float(position),
                    "value": repr(value),
                    "metric": metric,
                }
            )
    return pd.DataFrame(rows, columns=["number", "axis", "position", "value", "metric"])
