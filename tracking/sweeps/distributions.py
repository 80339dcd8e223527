"""W&B's sweep distributions: sampling by inverse CDF, grid values and bounds.

Every draw is ``ppf(u)`` with ``u ~ U(0, 1)``, as W&B samples. The ``q_``
variants round to the nearest multiple of ``q`` (NumPy's round half to even)
and return ints when ``q`` is an int. Unlike W&B, a quantised value never
leaves the distribution's range. It is clipped to the multiples of ``q`` that
lie within ``[min, max]`` (``[0, 1]`` for beta, above zero for log-normal).
So ``q_uniform`` with min 1, max 10 and q 4 gives 4 or 8, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Keys each distribution takes, with the defaults of W&B's schema. A value of
# REQUIRED must be given.
REQUIRED = object()
_RANGE = {"min": REQUIRED, "max": REQUIRED}
DISTRIBUTION_KEYS: dict[str, dict[str, Any]] = {
    "constant": {"value": REQUIRED},
    "categorical": {"values": REQUIRED},
    "categorical_w_probabilities": {"values": REQUIRED, "probabilities": REQUIRED},
    "int_uniform": dict(_RANGE),
    "uniform": dict(_RANGE),
    "q_uniform": {**_RANGE, "q": 1.0},
    "log_uniform": dict(_RANGE),
    "log_uniform_values": dict(_RANGE),
    "q_log_uniform": {**_RANGE, "q": 1.0},
    "q_log_uniform_values": {**_RANGE, "q": 1.0},
    "inv_log_uniform": dict(_RANGE),
    "inv_log_uniform_values": dict(_RANGE),
    "normal": {"mu": 0.0, "sigma": 1.0},
    "q_normal": {"mu": 0.0, "sigma": 1.0, "q": 1.0},
    "log_normal": {"mu": 0.0, "sigma": 1.0},
    "q_log_normal": {"mu": 0.0, "sigma": 1.0, "q": 1.0},
    "beta": {"a": 1.0, "b": 1.0},
    "q_beta": {"a": 1.0, "b": 1.0, "q": 1.0},
}
DISTRIBUTIONS = tuple(DISTRIBUTION_KEYS)

# W&B v1 distributions whose min and max are natural-log exponents.
EXPONENT_DISTRIBUTIONS = {
    "log_uniform": "log_uniform_values",
    "q_log_uniform": "q_log_uniform_values",
    "inv_log_uniform": "inv_log_uniform_values",
}
GRID_DISTRIBUTIONS = ("constant", "categorical", "int_uniform", "q_uniform")
NUMERIC_KEYS = ("min", "max", "q", "mu", "sigma", "a", "b")

# Optuna samples normal and beta parameters as their CDF value in this range;
# the ends are cut so that the inverse CDF stays finite.
CDF_EPSILON = 1e-12
# Slack when testing whether a float is a multiple of q.
_LATTICE_SLACK = 1e-9


def same_value(left: Any, right: Any) -> bool:
    """Tell whether two config values are equal and of the same type.

    ``False``, ``0`` and ``0.0`` compare equal in Python; sweeps keep them apart.
    """
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same_value, left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(
            same_value(left[key], right[key]) for key in left
        )
    return left == right


@dataclass(frozen=True)
class Parameter:
    """One swept parameter with its distribution and W&B's keys.

    ``path`` is the parameter's name, with one more item for each level of
    nested ``parameters``.
    """

    path: tuple[str, ...]
    distribution: str
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The dotted name, as config columns show it."""
        return ".".join(self.path)

    def __getattr__(self, key: str) -> Any:
        spec = object.__getattribute__(self, "spec")
        if key in spec:
            return spec[key]
        raise AttributeError(key)

    # Kinds

    @property
    def is_constant(self) -> bool:
        return self.distribution == "constant"

    @property
    def is_quantized(self) -> bool:
        return self.distribution.startswith("q_")

    @property
    def is_categorical(self) -> bool:
        return self.distribution.startswith("categorical")

    def bounds(self) -> tuple[float, float]:
        """Return the range of values the distribution can take."""
        kind = self.distribution.removeprefix("q_")
        if kind in ("uniform", "int_uniform", "log_uniform_values"):
            return float(self.min), float(self.max)
        if kind == "inv_log_uniform_values":
            return float(self.min), float(self.max)
        if kind == "log_uniform":
            return math.exp(self.min), math.exp(self.max)
        if kind == "inv_log_uniform":
            return math.exp(-self.max), math.exp(-self.min)
        if kind == "beta":
            return 0.0, 1.0
        if kind == "log_normal":
            return 0.0, math.inf
        return -math.inf, math.inf

    def lattice(self) -> tuple[float, float]:
        """Return the smallest and largest multiple ``k`` with ``k * q`` in range.

        Log-normal values are above zero, so its lattice starts at ``q``.
        """
        low, high = self.bounds()
        q = self.q
        first = math.ceil(low / q - _LATTICE_SLACK) if math.isfinite(low) else -math.inf
        last = (
            math.floor(high / q + _LATTICE_SLACK) if math.isfinite(high) else math.inf
        )
        if self.distribution == "q_log_normal":
            first = max(first, 1)
        return first, last

    def support(self, limit: int = 100_000) -> list[Any] | None:
        """Return every value the parameter can take, or None if there are more.

        Continuous distributions and unbounded lattices return None.
        """
        if self.distribution == "constant":
            return [self.value]
        if self.is_categorical:
            return list(self.values)
        if self.distribution == "int_uniform":
            count = self.max - self.min + 1
            return list(range(self.min, self.max + 1)) if count <= limit else None
        if self.is_quantized:
            first, last = self.lattice()
            if not (math.isfinite(first) and math.isfinite(last)):
                return None
            if last - first + 1 > limit:
                return None
            return [self._multiple(k) for k in range(int(first), int(last) + 1)]
        return None

    # Sampling

    def ppf(self, u: float | Sequence[float] | np.ndarray) -> list[Any]:
        """Map uniform draws ``u`` in [0, 1] to parameter values.

        Returns a list of plain Python values, one for each ``u``.
        """
        u = np.atleast_1d(np.asarray(u, dtype=float))
        kind = self.distribution
        if kind == "constant":
            return [self.value for _ in u]
        if kind == "categorical":
            index = np.minimum((u * len(self.values)).astype(int), len(self.values) - 1)
            return [self.values[i] for i in index]
        if kind == "categorical_w_probabilities":
            return [self.values[i] for i in self._weighted_index(u)]
        if kind == "int_uniform":
            span = self.max - self.min + 1
            drawn = np.minimum(np.floor(self.min + u * span), self.max)
            return [int(x) for x in drawn]

        continuous = self._continuous_ppf(kind.removeprefix("q_"), u)
        if self.is_quantized:
            return self.quantize(continuous)
        return [float(x) for x in continuous]

    def sample(self, rng: np.random.Generator, size: int = 1) -> list[Any]:
        """Draw ``size`` values with ``rng``."""
        return self.ppf(rng.random(size))

    def _continuous_ppf(self, kind: str, u: np.ndarray) -> np.ndarray:
        from scipy import stats

        if kind == "uniform":
            return self.min + u * (self.max - self.min)
        if kind == "log_uniform":
            return np.exp(self.min + u * (self.max - self.min))
        if kind == "log_uniform_values":
            low, high = math.log(self.min), math.log(self.max)
            return np.exp(low + u * (high - low))
        if kind == "inv_log_uniform":
            return np.exp(-(self.min + u * (self.max - self.min)))
        if kind == "inv_log_uniform_values":
            low, high = -math.log(self.max), -math.log(self.min)
            return np.exp(-(low + u * (high - low)))
        if kind == "normal":
            return stats.norm.ppf(u, loc=self.mu, scale=self.sigma)
        if kind == "log_normal":
            return np.exp(stats.norm.ppf(u, loc=self.mu, scale=self.sigma))
        if kind == "beta":
            return stats.beta.ppf(u, self.a, self.b)
        raise ValueError(f"unknown distribution {self.distribution!r}")

    def _weighted_index(self, u: np.ndarray) -> np.ndarray:
        cumulative = np.cumsum(self.probabilities)
        index = np.searchsorted(cumulative, u, side="right")
        return np.minimum(index, len(self.values) - 1)

    def quantize(self, values: Sequence[float] | np.ndarray) -> list[Any]:
        """Round to the nearest multiple of ``q``, kept within the range."""
        first, last = self.lattice()
        multiples = np.round(np.asarray(values, dtype=float) / self.q)
        multiples = np.clip(multiples, first, last)
        return [self._multiple(k) for k in multiples]

    def _multiple(self, k: float) -> Any:
        if isinstance(self.q, int):
            return int(k) * self.q
        return float(k * self.q)

    def cdf(self, value: Any) -> float:
        """Return the CDF value ``u`` whose ``ppf`` gives ``value``.

        Only defined for normal, log-normal and beta, and their ``q_`` variants.
        """
        from scipy import stats

        kind = self.distribution.removeprefix("q_")
        if kind == "normal":
            u = stats.norm.cdf(value, loc=self.mu, scale=self.sigma)
        elif kind == "log_normal":
            u = stats.norm.cdf(math.log(value), loc=self.mu, scale=self.sigma)
        elif kind == "beta":
            u = stats.beta.cdf(value, self.a, self.b)
        else:
            raise ValueError(f"{self.distribution} is not sampled through its CDF")
        return float(np.clip(u, CDF_EPSILON, 1 - CDF_EPSILON))

    # Grid

    def grid_values(self) -> list[Any]:
        """Return the values grid search takes, as W&B enumerates them.

        ``q_uniform`` gives ``np.arange(min, max, q)``: anchored at ``min``,
        ``max`` excluded.
        """
        kind = self.distribution
        if kind == "constant":
            return [self.value]
        if kind == "categorical":
            return list(self.values)
        if kind == "int_uniform":
            return list(range(self.min, self.max + 1))
        if kind == "q_uniform":
            return np.arange(self.min, self.max, self.q).tolist()
        raise ValueError(f"grid search cannot enumerate distribution {kind}")

    def index_of(self, value: Any) -> int:
        """Return the position of ``value`` in ``values``, types compared too."""
        for index, candidate in enumerate(self.values):
            if same_value(candidate, value):
                return index
        raise ValueError(f"{value!r} is not one of the values of {self.name!r}")
