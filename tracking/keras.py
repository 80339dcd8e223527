"""W&B's older import path ``wandb.keras``, which re-exports integration.keras."""

from __future__ import annotations

from tracking.integration.keras import (
    MetricsCallback,
    WandbCallback,
    WandbMetricsLogger,
)

__all__ = ["MetricsCallback", "WandbCallback", "WandbMetricsLogger"]
