"""Keras callbacks that log training to the current run.

``from tracking.integration.keras import WandbMetricsLogger, WandbCallback``
matches W&B's ``wandb.integration.keras`` path, so W&B Keras scripts run
after ``import tracking as wandb`` with that one import changed.
"""

from __future__ import annotations

import logging
import operator
import os
import re
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402

from tracking import _state  # noqa: E402
from tracking.errors import UsageError  # noqa: E402

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

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Chart epoch metrics against the epoch and batch metrics against the
        # batch step, as W&B's logger declares them.
        run = _current_run()
        run.define_metric("epoch/epoch")
        run.define_metric("epoch/*", step_metric="epoch/epoch")
        if self.log_freq != "epoch":
            run.define_metric("batch/batch_step")
            run.define_metric("batch/*", step_metric="batch/batch_step")

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
        rate = _learning_rate(self.model)
        if rate is not None:
            row["batch/learning_rate"] = rate
        _current_run().log(row)


def _safe_artifact_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:128]


class WandbCallback(keras.callbacks.Callback):
    """W&B's classic Keras callback: log each epoch, keep the best epoch and model.

    Each epoch logs ``epoch`` and Keras's metrics in one history row. When
    ``monitor`` improves, the summary gets ``best_<monitor>`` and
    ``best_epoch`` and, with ``save_model``, the model is logged as a version
    of the ``model-<run name>`` artifact with aliases ``best`` and
    ``epoch_<n>`` (and ``latest``).

    Parameters
    ----------
    monitor : str
        The Keras metric to track, ``"val_loss"`` by default.
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; ``"auto"`` means higher for
        metrics whose name contains ``acc`` or starts with ``fmeasure``.
    save_model : bool
        Log the best model as an artifact.
    save_weights_only : bool
        Save only the weights (``.weights.h5``) instead of a ``.keras`` file.
    log_best_prefix : str
        Prefix of the summary keys; an empty string turns them off.
    log_batch_frequency : int, optional
        Also log Keras's batch metrics every that many batches.

    Other W&B arguments (sample logging, gradients, graphs) are accepted and
    ignored with a warning.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        verbose: int = 0,
        mode: str = "auto",
        save_weights_only: bool = False,
        save_model: bool = True,
        log_best_prefix: str = "best_",
        log_batch_frequency: int | None = None,
        **ignored: Any,
    ):
        super().__init__()
        run = _current_run()
        if ignored:
            logger.warning(
                "WandbCallback ignores the arguments %s", ", ".join(sorted(ignored))
            )
        if mode not in ("auto", "min", "max"):
            logger.warning("WandbCallback mode %r is unknown; using 'auto'", mode)
            mode = "auto"
        if mode == "auto":
            maximize = "acc" in monitor or monitor.startswith("fmeasure")
        else:
            maximize = mode == "max"
        self.monitor = monitor
        self.verbose = verbose
        self.save_model = save_model
        self.save_weights_only = save_weights_only
        self.log_best_prefix = log_best_prefix
        self.log_batch_frequency = log_batch_frequency
        self.monitor_op = operator.gt if maximize else operator.lt
        self.best = float("-inf") if maximize else float("inf")
        self.best_epoch: int | None = None
        # The artifact of the last best model logged, for scripts that use it.
        self.best_model_artifact: Any = None
        self._warned_missing = False

        # A resumed run starts from the best value it stored.
        previous = run.summary.get(f"{log_best_prefix}{monitor}")
        if isinstance(previous, int | float) and not isinstance(previous, bool):
            self.best = previous

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        run = _current_run()
        numbers = _numbers(logs)
        run.log({"epoch": epoch}, commit=False)
        run.log(numbers, commit=True)

        current = numbers.get(self.monitor)
        if current is None:
            if not self._warned_missing:
                logger.warning(
                    "WandbCallback monitor %r is not among the epoch metrics %s",
                    self.monitor,
                    sorted(numbers),
                )
                self._warned_missing = True
        elif self.monitor_op(current, self.best):
            if self.log_best_prefix:
                run.summary[f"{self.log_best_prefix}{self.monitor}"] = current
                run.summary[f"{self.log_best_prefix}epoch"] = epoch
            if self.verbose:
                logger.info(
                    "epoch %d: %s improved from %.5f to %.5f",
                    epoch,
                    self.monitor,
                    self.best,
                    current,
                )
            if self.save_model:
                self._log_best_model(run, epoch, current)
            self.best = current
            self.best_epoch = epoch
        if run.should_stop:
            self.model.stop_training = True

    def on_train_batch_end(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        if self.log_batch_frequency and batch % self.log_batch_frequency == 0:
            _current_run().log(_numbers(logs), commit=True)

    def _log_best_model(self, run: Any, epoch: int, current: float) -> None:
        from tracking.artifact import Artifact

        if run.store is None:
            return
        artifact = Artifact(
            _safe_artifact_name(f"model-{run.name}"),
            type="model",
            metadata={"epoch": epoch, self.monitor: current},
        )
        with tempfile.TemporaryDirectory(prefix="runlens-keras-") as folder:
            if self.save_weights_only:
                path = Path(folder) / "model-best.weights.h5"
                self.model.save_weights(path)
            else:
                path = Path(folder) / "model-best.keras"
                self.model.save(path)
            artifact.add_file(path)
            run.log_artifact(artifact, aliases=["best", f"epoch_{epoch}"])
        self.best_model_artifact = artifact
