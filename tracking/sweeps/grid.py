"""Grid search in W&B's order: parameters sorted by name, the last varying fastest."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from tracking.sweeps.config import SweepConfig
from tracking.sweeps.distributions import same_value

# A randomized grid is shuffled as a whole, so it has to fit in memory.
MAX_RANDOMIZED_GRID = 10_000_000


def grid_axes(config: SweepConfig) -> list[list[Any]]:
    """Return each parameter's grid values, in the sweep's parameter order."""
    return [parameter.grid_values() for parameter in config.parameters]


def grid_size(config: SweepConfig) -> int:
    """Return the number of combinations of the grid."""
    return math.prod(len(axis) for axis in grid_axes(config))


def grid_combination(config: SweepConfig, index: int) -> dict[str, Any]:
    """Return combination ``index`` as ``{dotted name: value}``.

    Index 0 is the first combination of ``itertools.product`` over the axes;
    the last parameter varies fastest.
    """
    axes = grid_axes(config)
    values: dict[str, Any] = {}
    for parameter, axis in zip(
        reversed(config.parameters), reversed(axes), strict=True
    ):
        index, position = divmod(index, len(axis))
        values[parameter.name] = axis[position]
    return {parameter.name: values[parameter.name] for parameter in config.parameters}


def grid_index_of(config: SweepConfig, values: Mapping[str, Any]) -> int | None:
    """Return the index of the grid combination equal to ``values``, or None.

    ``values`` maps dotted names to values. A parameter missing from it, or a
    value off the parameter's grid, matches no combination. Floats match
    within a relative 1e-9, so ``0.1 * 3`` matches a grid value of 0.3.
    """
    index = 0
    for parameter, axis in zip(config.parameters, grid_axes(config), strict=True):
        if parameter.name not in values:
            return None
        value = values[parameter.name]
        position = next(
            (
                i
                for i, candidate in enumerate(axis)
                if _same_grid_value(candidate, value)
            ),
            None,
        )
        if position is None:
            return None
        index = index * len(axis) + position
    return index


def _same_grid_value(candidate: Any, value: Any) -> bool:
    if type(candidate) is float and type(value) is float:
        return math.isclose(candidate, value, rel_tol=1e-9, abs_tol=1e-12)
    return same_value(candidate, value)


def grid_order(config: SweepConfig, seed: int) -> np.ndarray | None:
    """Return the order a ``randomize_order`` grid is issued in, else None."""
    if not config.randomize_order:
        return None
    size = grid_size(config)
    if size > MAX_RANDOMIZED_GRID:
        raise ValueError(
            f"randomize_order shuffles the whole grid, which has {size:,} "
            f"combinations (at most {MAX_RANDOMIZED_GRID:,}); remove it"
        )
    return np.random.default_rng(seed).permutation(size)


def next_grid_index(
    config: SweepConfig, issued: Collection[int], seed: int
) -> int | None:
    """Return the index of the next combination not issued yet, or None at the end."""
    size = grid_size(config)
    if len(issued) >= size:
        return None
    order = grid_order(config, seed)
    issued_set = set(issued)
    for position in range(size):
        index = position if order is None else int(order[position])
        if index not in issued_set:
            return index
    return None
