"""Integrations with training libraries, at W&B's import paths."""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    # ``wandb.integration.keras`` loads Keras only when a script reaches it.
    if name == "keras":
        return importlib.import_module("tracking.integration.keras")
    raise AttributeError(f"module 'tracking.integration' has no attribute {name!r}")
