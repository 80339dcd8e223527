"""Sweep configs: W&B's schema, read from a dict or YAML and checked up front.

:func:`load_sweep_config` returns a :class:`SweepConfig` or raises
:class:`SweepConfigError` listing every problem, each naming the parameter or
key and the fix. A distribution left out is inferred as W&B's schema does:
``values`` is categorical (weighted with ``probabilities``), ``value`` is a
constant, integer ``min`` and ``max`` are ``int_uniform`` and a float bound
makes ``uniform``. Two Runlens keys extend W&B's schema: ``sampler`` (``tpe``
or ``gp``, for bayes) and ``randomize_order`` (for grid).
"""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tracking.sweeps.distributions import (
    Parameter,
)
from tracking.sweeps.errors import SweepConfigError

logger = logging.getLogger(__name__)


# YAML 1.1, which PyYAML reads, needs a dot in a float, so `1e-5` would be the
# string "1e-5". This pattern is YAML 1.2's, where `1e-5` is a number.
_YAML12_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _SweepLoader(yaml.SafeLoader):
    """PyYAML's safe loader that reads ``1e-5`` and ``3e6`` as floats."""


_SweepLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", _YAML12_FLOAT, list("-+0123456789.")
)


def read_yaml(text: str) -> Any:
    """Parse YAML text, reading exponent notation without a dot as numbers."""
    return yaml.load(text, Loader=_SweepLoader)  # noqa: S506 - a SafeLoader subclass


@dataclass(frozen=True)
class Metric:
    """The metric a sweep optimises.

    ``impute`` (``latest``, ``best`` or ``worst``) picks the value that bayes
    gives its sampler for failed runs, and ``impute_while_running`` (the same
    choices or ``"false"``) the value for running ones, as
    :mod:`tracking.sweeps.bayes` describes.
    """

    name: str
    goal: str = "minimize"
    target: float | None = None
    impute: str = "worst"
    impute_while_running: str = "false"

    @property
    def maximize(self) -> bool:
        return self.goal == "maximize"

    def better(self, value: float, other: float) -> bool:
        """Tell whether ``value`` is strictly better than ``other``."""
        return value > other if self.maximize else value < other


@dataclass(frozen=True)
class Hyperband:
    """W&B's hyperband early termination settings."""

    min_iter: int | None = None
    max_iter: int | None = None
    s: int | None = None
    eta: float = 3.0
    strict: bool = True


@dataclass(frozen=True)
class SweepConfig:
    """A checked sweep config.

    ``raw`` is the config as given (with numbers read from exponent strings);
    ``parameters`` are the swept parameters, nested ones flattened, sorted by
    W&B's flattened names.
    """

    raw: dict[str, Any]
    method: str
    parameters: tuple[Parameter, ...]
    metric: Metric | None = None
    hyperband: Hyperband | None = None
    run_cap: int | None = None
    program: str | None = None
    command: tuple[str, ...] | None = None
    name: str | None = None
    description: str | None = None
    project: str | None = None
    sampler: str = "tpe"
    randomize_order: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def searchable(self) -> tuple[Parameter, ...]:
        """The parameters that are not constants."""
        return tuple(p for p in self.parameters if not p.is_constant)

    def to_run_config(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Nest flat ``{dotted name: value}`` pairs into a run config.

        The keys are the parameters' dotted names; nested parameters become
        nested dicts.
        """
        config: dict[str, Any] = {}
        for parameter in self.parameters:
            target = config
            for part in parameter.path[:-1]:
                target = target.setdefault(part, {})
            target[parameter.path[-1]] = values[parameter.name]
        return config

    def flat_values(self, run_config: Mapping[str, Any]) -> dict[str, Any]:
        """Return ``{dotted name: value}`` of the swept parameters in a run config.

        A parameter missing from ``run_config`` is left out.
        """
        flat: dict[str, Any] = {}
        for parameter in self.parameters:
            node: Any = run_config
            for part in parameter.path:
                if not isinstance(node, Mapping) or part not in node:
                    break
                node = node[part]
            else:
                flat[parameter.name] = node
        return flat


# W&B sorts parameters by their flattened names, joined with this delimiter.
WANDB_NEST_DELIMITER = ".wbnest[599c28ca25da]."


def wandb_sort_key(parameter: Parameter) -> str:
    return WANDB_NEST_DELIMITER.join(parameter.path)


def load_sweep_config(source: Any, *, warn: bool = True) -> SweepConfig:
    """Read and check a sweep config.

    Parameters
    ----------
    source : dict, str or path, or callable
        A dict in W&B's sweep schema, a path to a YAML file, or a callable
        returning the dict (as ``wandb.sweep`` accepts). The caller's dict is
        copied, never changed.
    warn : bool
        Log a warning for each deprecated distribution.

    Returns
    -------
    SweepConfig

    Raises
    ------
    SweepConfigError
        Listing every problem found, each with the fix.
    """
    from tracking.sweeps.validation import SweepChecker

    raw = _read_source(source)
    checker = SweepChecker()
    config = checker.check(raw)
    for message in checker.warnings if warn else ():
        logger.warning("%s", message)
    if checker.errors:
        raise SweepConfigError(checker.errors)
    return config


def check_sweep_text(text: str) -> tuple[SweepConfig | None, list[str]]:
    """Parse YAML text and check it, returning the config or the problems.

    For editors that show every problem instead of raising the first.
    """
    try:
        raw = read_yaml(text)
    except yaml.YAMLError as exc:
        return None, [f"the text is not valid YAML: {exc}"]
    try:
        return load_sweep_config(raw, warn=False), []
    except SweepConfigError as exc:
        return None, exc.errors


def _read_source(source: Any) -> dict[str, Any]:
    if callable(source) and not isinstance(source, Mapping):
        source = source()
    if isinstance(source, str | os.PathLike) and not isinstance(source, Mapping):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SweepConfigError(
                [f"cannot read sweep config file {str(path)!r}: {exc}"]
            ) from exc
        try:
            source = read_yaml(text)
        except yaml.YAMLError as exc:
            raise SweepConfigError(
                [f"sweep config file {str(path)!r} is not valid YAML: {exc}"]
            ) from exc
    if not isinstance(source, Mapping):
        raise SweepConfigError(
            [
                "the sweep config must be a mapping with method and parameters, "
                f"got {type(source).__name__}"
            ]
        )
    return copy.deepcopy(dict(source))
