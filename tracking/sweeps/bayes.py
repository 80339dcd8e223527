"""Bayes search through Optuna's samplers and its ask-and-tell interface.

Each suggestion replays the sweep's trials into a fresh in-memory study and
requests one point from the sampler: TPE by default (with constant liar, so
running trials steer parallel agents apart), or Optuna's Gaussian process
sampler with ``sampler: gp``. W&B's space maps onto Optuna's:

- categorical values become indices, so ``False``, ``0`` and ``""`` stay
  apart (W&B's bayes merges them);
- weighted categoricals, normal, log-normal and beta are searched as their
  CDF value in (0, 1), so the prior is kept (W&B's bayes rejects weighted
  categoricals);
- log distributions search on a log scale, and ``q_`` values are rounded
  after sampling.

A finished run counts with the best value it logged, as W&B does. Failed and
crashed runs are left out, so they do not stall the search.

NOTE: ``metric.impute`` and ``impute_while_running`` are checked but not
applied: failed runs are left out instead of imputed, and running trials
are handled by the sampler's constant liar.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from tracking.sweeps.config import SweepConfig
from tracking.sweeps.distributions import CDF_EPSILON, Parameter
from tracking.sweeps.random_search import sample_random, trial_rng

logger = logging.getLogger(__name__)

COMPLETE = "complete"
RUNNING = "running"
FAILED = "failed"

# Attempts at asking the sampler for a point of a discrete space that no
# trial has taken, before picking an unseen point at random.
DISCRETE_RETRIES = 10
# Discrete spaces up to this many points are enumerated to find unseen ones.
MAX_ENUMERATED_SPACE = 100_000

_CDF_KINDS = ("normal", "log_normal", "beta")


@dataclass(frozen=True)
class Observation:
    """A trial as given to the sampler.

    ``values`` maps dotted parameter names to values; ``state`` is
    ``"complete"``, ``"running"`` or ``"failed"``; ``value`` is the metric of
    a complete trial.
    """

    values: dict[str, Any]
    state: str
    value: float | None = None


# Optuna logs each new in-memory study at INFO; one is made per suggestion.
_quiet = threading.local()


class _DropStudyCreated(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_quiet, "active", False)


logging.getLogger("optuna.storages._in_memory").addFilter(_DropStudyCreated())


@contextlib.contextmanager
def quiet_study_creation() -> Iterator[None]:
    """Leave out Optuna's INFO line for studies created in this block."""
    _quiet.active = True
    try:
        yield
    finally:
        _quiet.active = False


def optuna_distribution(parameter: Parameter) -> Any:
    """Return the Optuna distribution that searches ``parameter``."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    kind = parameter.distribution
    base = kind.removeprefix("q_")
    if kind == "categorical":
        return CategoricalDistribution(list(range(len(parameter.values))))
    if kind == "int_uniform":
        return IntDistribution(parameter.min, parameter.max)
    if kind == "categorical_w_probabilities" or base in _CDF_KINDS:
        return FloatDistribution(CDF_EPSILON, 1 - CDF_EPSILON)
    low, high = parameter.bounds()
    return FloatDistribution(low, high, log=base != "uniform")


def to_internal(parameter: Parameter, value: Any) -> Any:
    """Return the Optuna value of ``value``; raise ValueError if outside the space."""
    kind = parameter.distribution
    base = kind.removeprefix("q_")
    if kind == "categorical":
        return parameter.index_of(value)
    if kind == "categorical_w_probabilities":
        index = parameter.index_of(value)
        cumulative = np.concatenate([[0.0], np.cumsum(parameter.probabilities)])
        middle = (cumulative[index] + cumulative[index + 1]) / 2
        return float(np.clip(middle, CDF_EPSILON, 1 - CDF_EPSILON))
    if base in _CDF_KINDS:
        return parameter.cdf(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    if kind == "int_uniform":
        return int(value)
    low, high = parameter.bounds()
    return float(min(max(value, low), high))


def from_internal(parameter: Parameter, internal: Any) -> Any:
    """Return the parameter value of an Optuna value."""
    kind = parameter.distribution
    base = kind.removeprefix("q_")
    if kind == "categorical":
        return parameter.values[int(internal)]
    if kind == "categorical_w_probabilities" or base in _CDF_KINDS:
        return parameter.ppf([internal])[0]
    if kind == "int_uniform":
        return int(internal)
    if parameter.is_quantized:
        return parameter.quantize([internal])[0]
    return float(internal)


def suggest_bayes(
    config: SweepConfig, observations: Sequence[Observation], seed: int
) -> dict[str, Any]:
    """Suggest the next trial's values as ``{dotted name: value}``.

    Parameters
    ----------
    config : SweepConfig
        A bayes sweep with a metric.
    observations : sequence of Observation
        The sweep's trials so far.
    seed : int
        Seeds the sampler; give each suggestion its own.
    """
    from optuna.distributions import BaseDistribution

    searchable = config.searchable
    distributions: dict[str, BaseDistribution] = {
        parameter.name: optuna_distribution(parameter) for parameter in searchable
    }
    study = _study(config, seed)
    study.add_trials(_frozen_trials(config, observations, distributions))

    names = [parameter.name for parameter in config.parameters]
    seen = {
        point_key(names, o.values)
        for o in observations
        if o.state in (COMPLETE, RUNNING)
    }
    discrete = _discrete_space(config)
    for _ in range(DISCRETE_RETRIES if discrete is not None else 1):
        trial = study.ask(distributions)
        values = {
            parameter.name: from_internal(parameter, trial.params[parameter.name])
            for parameter in searchable
        }
        values = _with_constants(config, values)
        if discrete is None or point_key(names, values) not in seen:
            return values
        # Left running, so constant liar steers the next ask away from it.
        seen.add(point_key(names, values))

    unseen = _unseen_point(config, discrete, seen, seed)
    if unseen is not None:
        return unseen
    logger.info("every point of the discrete space was tried; repeating one")
    return values


def _study(config: SweepConfig, seed: int) -> Any:
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if config.sampler == "gp":
            sampler = optuna.samplers.GPSampler(seed=seed)
        else:
            sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    direction = "maximize" if config.metric.maximize else "minimize"
    with quiet_study_creation():
        return optuna.create_study(direction=direction, sampler=sampler)


def _frozen_trials(
    config: SweepConfig,
    observations: Sequence[Observation],
    distributions: dict[str, Any],
) -> list[Any]:
    from optuna.trial import TrialState, create_trial

    finite = [
        o.value
        for o in observations
        if o.state == COMPLETE and o.value is not None and math.isfinite(o.value)
    ]
    worst = None
    if finite:
        worst = min(finite) if config.metric.maximize else max(finite)

    trials = []
    for observation in observations:
        try:
            params = {
                parameter.name: to_internal(
                    parameter, observation.values[parameter.name]
                )
                for parameter in config.searchable
            }
        except (KeyError, ValueError, TypeError):
            # A run whose values lie outside the space gives the sampler nothing.
            continue
        if observation.state == COMPLETE:
            value = observation.value
            if value is None:
                continue
            if not math.isfinite(value):
                if worst is None:
                    continue
                value = worst
            trials.append(
                create_trial(params=params, distributions=distributions, value=value)
            )
        elif observation.state == RUNNING:
            if config.sampler == "gp":
                # The GP sampler ignores running trials, so they enter as the
                # worst value seen (a constant liar) to keep agents apart.
                if worst is None:
                    continue
                trials.append(
                    create_trial(
                        params=params, distributions=distributions, value=worst
                    )
                )
            else:
                trials.append(
                    create_trial(
                        params=params,
                        distributions=distributions,
                        state=TrialState.RUNNING,
                    )
                )
    return trials


def _with_constants(config: SweepConfig, values: dict[str, Any]) -> dict[str, Any]:
    return {
        parameter.name: (
            parameter.value if parameter.is_constant else values[parameter.name]
        )
        for parameter in config.parameters
    }


def _discrete_space(config: SweepConfig) -> list[list[Any]] | None:
    """Return every parameter's values if the whole space is finite, else None."""
    axes = []
    for parameter in config.parameters:
        support = parameter.support()
        if support is None:
            return None
        axes.append(support)
    return axes


def point_key(names: Sequence[str], values: dict[str, Any]) -> str:
    """Return a key that distinguishes points, ``False``, ``0`` and ``0.0`` too."""
    return json.dumps([values.get(name) for name in names], sort_keys=True)


def _unseen_point(
    config: SweepConfig,
    axes: list[list[Any]],
    seen: set[str],
    seed: int,
) -> dict[str, Any] | None:
    """Pick an untried point of a finite space at random, or None if none is left."""
    size = math.prod(len(axis) for axis in axes)
    names = [parameter.name for parameter in config.parameters]
    if size > MAX_ENUMERATED_SPACE:
        # Too many points to list, so draw at random until one is unseen.
        rng = trial_rng(seed, 0)
        for _ in range(100):
            values = sample_random(config, rng)
            if point_key(names, values) not in seen:
                return values
        return None
    points = (dict(zip(names, point, strict=True)) for point in product(*axes))
    unseen = [values for values in points if point_key(names, values) not in seen]
    if not unseen:
        return None
    rng = np.random.default_rng(seed)
    return unseen[int(rng.integers(len(unseen)))]
