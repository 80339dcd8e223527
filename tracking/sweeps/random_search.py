"""Random search: every parameter drawn independently from its distribution."""

from __future__ import annotations

from typing import Any

import numpy as np

from tracking.sweeps.config import SweepConfig


def trial_rng(seed: int, number: int) -> np.random.Generator:
    """Return the generator of trial ``number``, so each draw can be replayed."""
    return np.random.default_rng([seed, number])


def sample_random(config: SweepConfig, rng: np.random.Generator) -> dict[str, Any]:
    """Draw one value of each parameter, as ``{dotted name: value}``."""
    return {parameter.name: parameter.sample(rng)[0] for parameter in config.parameters}
