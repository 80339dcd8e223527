"""Keras callbacks that log training to the current run.

``from tracking.integration.keras import WandbMetricsLogger`` matches the W&B
import path, so W&B Keras scripts run unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

import keras

from tracking import _state
from tracking.errors import UsageError

logger = logging.getLogger(__name__)


def _current_run() -> Any:
    run = _state.current()
    if run is None:
        raise UsageError(
            "You must call tracking.init() before training with a callback"
        )
    return run


def _learning_rate(model: Any) -> float | None:
    optimizer = getattr(model, "optimizer", None)
    rate = getattr(optimizer, "learning_rate", None)
    if rate is None:
        return None
    try:
        return float(keras.ops.convert_to_numpy(rate))
    except (TypeError, ValueError):
        return None


def _numbers(logs: dict[str, Any] | None) -> dict[str, float]:
    return {key: float(value) for key, value in (logs or {}).items()}


class MetricsCallback(keras.callbacks.Callback):
    """Log Keras's epoch metrics under their own names, plus ``epoch``.

    Each epoch logs one history row: ``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy`` (whatever the model compiles) and ``learning_rate``.
    Training stops early when the run's ``should_stop`` is set.
    """

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        run = _current_run()
        row = {"epoch": epoch, **_numbers(logs)}
        rate = _learning_rate(self.model)
        if rate is not None:
            row["learning_rate"] = rate
        run.log(row)
        if run.should_stop:
            self.model.stop_training = True


class WandbMetricsLogger(keras.callbacks.Callback):
    """W&B's Keras metrics logger: ``epoch/<metric>`` against ``epoch/epoch``.

    Parameters
    ----------
    log_freq : "epoch", "batch" or int
        Log at each epoch end, at each batch, or every ``log_freq`` batches
        (batch metrics go under ``batch/<metric>`` with ``batch/batch_step``).
    initial_global_step : int
        The first batch step, for resumed training.
    """

    def __init__(self, log_freq: str | int = "epoch", initial_global_step: int = 0):
        super().__init__()
        if log_freq == "batch":
            log_freq = 1
        if log_freq != "epoch" and not (isinstance(log_freq, int) and log_freq > 0):
            raise ValueError(
                f"log_freq must be 'epoch', 'batch' or a positive int, got {log_freq!r}"
            )
        self.log_freq = log_freq
        self.global_step = initial_global_step

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        run = _current_run()
        row = {f"epoch/{key}": value for key, value in _numbers(logs).items()}
        row["epoch/epoch"] = epoch
        rate = _learning_rate(self.model)
        if rate is not None:
            row["epoch/learning_rate"] = rate
        run.log(row)
        if run.should_stop:
            self.model.stop_training = True

    def on_train_batch_end(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        self.global_step += 1
        if self.log_freq == "epoch" or self.global_step % self.log_freq:
            return
        row = {f"batch/{key}": value for key, value in _numbers(logs).items()}
        row["batch/batch_step"] = self.global_step
        _current_run().log(row)
