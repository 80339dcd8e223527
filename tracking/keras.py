"""W&B's older import path ``wandb.keras``; the callbacks live in integration.keras."""

from __future__ import annotations

from tracking.integration.keras import (
    MetricsCallback,
    WandbCallback,
    WandbMetricsLogger,
)

__all__ = ["MetricsCallback", "WandbCallback", "WandbMetricsLogger"]
