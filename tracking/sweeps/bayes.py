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

TPE runs multivariate, so it models the parameters jointly (Optuna 5.1's
default for one objective, set here so an older Optuna behaves the same).

A finished run counts with the best value it logged, as W&B does. Runs
without a result are imputed as ``metric.impute`` and
``metric.impute_while_running`` say (see :func:`imputed_value`):

- failed, crashed and killed runs, and finished runs that logged no value of
  the metric, are told as complete with the ``impute`` value (default
  ``worst``, as in W&B);
- running and pending runs are told as complete with the
  ``impute_while_running`` value when it is set; by default (``false``) they
  stay in flight, so TPE's constant liar steers parallel agents apart;
- a non-finite value counts as the worst value, whatever ``impute`` says.

The worst value is the worst extremum among terminal runs. Each finished or
failed run gives its own worst logged value, and the worst of these counts.
W&B falls back to 0.0 when no terminal run logged the metric. Here the run
is left out instead, because 0.0 can be the best value of a metric. The next
suggestion replays every trial, so it imputes the run once a value exists.
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

    ``values`` maps dotted parameter names to values, and ``state`` is
    ``"complete"``, ``"running"`` or ``"failed"``. The metric values the run
    logged are ``value`` (its best, the result of a complete trial),
    ``latest`` (its last) and ``worst``; each is None when the run logged
    none, and ``worst`` None stands for ``value``.
    """

    values: dict[str, Any]
    state: str
    value: float | None = None
    latest: float | None = None
    worst: float | None = None


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
    trials, told = _frozen_trials(config, observations, distributions)
    study.add_trials(trials)

    names = [parameter.name for parameter in config.parameters]
    # Points told to the sampler or in flight are taken. A failed run with
    # nothing to impute leaves its point free, so it can be tried again.
    seen = {point_key(names, o.values) for o in told}
    seen.update(point_key(names, o.values) for o in observations if o.state == RUNNING)
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
            sampler = optuna.samplers.TPESampler(
                seed=seed, multivariate=True, constant_liar=True
            )
    direction = "maximize" if config.metric.maximize else "minimize"
    with quiet_study_creation():
        return optuna.create_study(direction=direction, sampler=sampler)


def imputed_value(
    strategy: str, observation: Observation, worst: float | None
) -> float | None:
    """Return the value W&B's ``strategy`` imputes for a run without a result.

    ``worst`` imputes ``worst``, the worst extremum among terminal runs.
    ``best`` and ``latest`` impute the run's own best and last logged values,
    falling back to ``worst`` when the run logged no finite value. None means
    there is nothing to impute.
    """
    own = {"best": observation.value, "latest": observation.latest}.get(strategy)
    if own is not None and math.isfinite(own):
        return own
    return worst


def terminal_worst(observations: Sequence[Observation], maximize: bool) -> float | None:
    """Return the worst finite extremum of the complete and failed trials."""
    extrema = []
    for observation in observations:
        if observation.state not in (COMPLETE, FAILED):
            continue
        for value in (observation.worst, observation.value):
            if value is not None and math.isfinite(value):
                extrema.append(value)
    if not extrema:
        return None
    return min(extrema) if maximize else max(extrema)


def told_value(
    config: SweepConfig, observation: Observation, worst: float | None
) -> float | None:
    """Return the value the sampler is told for a trial, None if none.

    A complete trial is told its value, or ``worst`` if the value is not
    finite. Other trials are told the value that ``metric.impute`` (failed, or
    complete without a value) or ``metric.impute_while_running`` (running)
    imputes. Running trials get None while ``impute_while_running`` is
    ``false``, and so does any trial when there is nothing to impute.
    """
    metric = config.metric
    value = observation.value
    if observation.state == COMPLETE and value is not None:
        return value if math.isfinite(value) else worst
    if observation.state == RUNNING:
        if metric.impute_while_running == "false":
            return None
        return imputed_value(metric.impute_while_running, observation, worst)
    return imputed_value(metric.impute, observation, worst)


def _frozen_trials(
    config: SweepConfig,
    observations: Sequence[Observation],
    distributions: dict[str, Any],
) -> tuple[list[Any], list[Observation]]:
    """Return the trials the sampler is told and the observations among them."""
    from optuna.trial import TrialState, create_trial

    worst = terminal_worst(observations, config.metric.maximize)
    trials = []
    told = []
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

        value = told_value(config, observation, worst)
        if value is None and observation.state == RUNNING:
            if config.sampler == "gp":
                # The GP sampler ignores running trials, so they enter as the
                # worst value seen (a constant liar) to keep agents apart.
                value = worst
            else:
                trials.append(
                    create_trial(
                        params=params,
                        distributions=distributions,
                        state=TrialState.RUNNING,
                    )
                )
                told.append(observation)
                continue
        if value is None:
            continue
        trials.append(
            create_trial(params=params, distributions=distributions, value=value)
        )
        told.append(observation)
    return trials, told


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
