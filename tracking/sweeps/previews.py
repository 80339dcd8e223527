"""The next trials of a sweep, computed as the controller would issue them.

A preview calls the controller's own suggestion with the sweep's seed and
trials, so grid and random rows are exactly the trials that agents claim
next. A bayes suggestion depends on the results of the trials before it, so
only the first bayes row is certain. Each later one is computed as if the
trials before it were still running.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from tracking.sweeps.config import SweepConfig
from tracking.sweeps.controller import finished_reason, suggest_trial
from tracking.sweeps.store import TrialRecord


@dataclasses.dataclass(frozen=True)
class PreviewTrial:
    """A trial a sweep would issue: its number and the config its run gets."""

    number: int
    # {dotted parameter name: value}
    params: dict[str, Any]
    # The same values nested, as the run's config receives them.
    config: dict[str, Any]


def preview_trials(
    config: SweepConfig,
    seed: int,
    trials: Sequence[TrialRecord] = (),
    *,
    n: int,
) -> list[PreviewTrial]:
    """Return up to ``n`` trials that the sweep issues after ``trials``.

    Fewer come back when the grid or ``run_cap`` ends first.
    """
    simulated = list(trials)
    previews: list[PreviewTrial] = []
    while len(previews) < n and finished_reason(config, simulated) is None:
        suggestion = suggest_trial(config, seed, simulated)
        if suggestion is None:
            break
        params, grid_index = suggestion
        number = max((trial.number for trial in simulated), default=0) + 1
        previews.append(PreviewTrial(number, params, config.to_run_config(params)))
        simulated.append(_pending_trial(number, params, grid_index))
    return previews


def preview_caption(config: SweepConfig) -> str:
    """Return a preview's caption, stating which of its rows are certain."""
    if config.method == "bayes":
        return (
            "Next trials: the first is the config agents will run next; bayes "
            "picks each later one from the results so far, so those rows are "
            "what it would pick if the earlier trials were still running"
        )
    return "Next trials: the configs agents will run next, in order"


def _pending_trial(
    number: int, params: dict[str, Any], grid_index: int | None
) -> TrialRecord:
    return TrialRecord(
        pk=0,
        number=number,
        run_id="",
        params=params,
        grid_index=grid_index,
        state="pending",
        stop_requested=None,
        agent="",
        created_at=0.0,
        heartbeat_at=0.0,
        finished_at=None,
        exit_code=None,
        error=None,
        has_run=False,
    )
