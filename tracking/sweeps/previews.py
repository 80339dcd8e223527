"""A few configs a sweep would run, shown when it is created."""

from __future__ import annotations

from typing import Any

from tracking.sweeps.config import SweepConfig
from tracking.sweeps.grid import grid_combination, grid_order, grid_size
from tracking.sweeps.random_search import sample_random, trial_rng


def preview_configs(
    config: SweepConfig, n: int = 3, seed: int = 0
) -> list[dict[str, Any]]:
    """Return up to ``n`` run configs of the sweep, nested as runs receive them.

    A grid gives its first combinations in issue order; random and bayes give
    draws from the parameters' distributions (bayes starts from such draws).
    """
    if config.method == "grid":
        order = grid_order(config, seed)
        indices = range(min(n, grid_size(config)))
        if order is not None:
            indices = [int(order[i]) for i in indices]
        flat = [grid_combination(config, index) for index in indices]
    else:
        flat = [sample_random(config, trial_rng(seed, number)) for number in range(n)]
    return [config.to_run_config(values) for values in flat]
