"""Keras callbacks: per-epoch and every-N-batch metrics, and the WandbCallback."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402

import tracking  # noqa: E402
from tracking import artifact_store  # noqa: E402
from tracking.integration.keras import (  # noqa: E402
    MetricsCallback,
    WandbCallback,
    WandbMetricsLogger,
)


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    return model


def _data(rows: int = 10):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.1).astype("float32")
    return x, y


def _history(run, keys=None):
    return tracking.Api().run(f"{run.project}/{run.id}").history(keys=keys)


def test_metrics_callback_logs_each_epoch(store_location):
    x, y = _data()
    run = tracking.init(project="keras")
    model = _model()
    fit = model.fit(
        x,
        y,
        epochs=3,
        batch_size=5,
        validation_split=0.2,
        verbose=0,
        callbacks=[MetricsCallback()],
    )
    run.finish()
    frame = _history(run)
    assert frame["epoch"].tolist() == [0, 1, 2]
    assert frame["loss"].tolist() == pytest.approx(fit.history["loss"])
    assert frame["val_loss"].tolist() == pytest.approx(fit.history["val_loss"])
    assert frame["learning_rate"].tolist() == pytest.approx([0.05] * 3)


def test_metrics_logger_every_n_batches(store_location):
    x, y = _data(rows=10)
    run = tracking.init(project="keras")
    _model().fit(
        x,
        y,
        epochs=2,
        batch_size=2,
        verbose=0,
        callbacks=[WandbMetricsLogger(log_freq=3)],
    )
    run.finish()

    # 5 batches an epoch, 10 in all: batches 3, 6 and 9 are logged.
    batches = _history(run, keys=["batch/batch_step", "batch/loss"])
    assert batches["batch/batch_step"].tolist() == [3, 6, 9]
    epochs = _history(run, keys=["epoch/epoch", "epoch/loss"])
    assert epochs["epoch/epoch"].tolist() == [0, 1]
    lrs = _history(run, keys=["epoch/learning_rate"])["epoch/learning_rate"]
    assert lrs.tolist() == pytest.approx([0.05, 0.05])

    metrics = tracking.open_store().run("keras", run.id)["metrics"]
    assert metrics["epoch/*"]["step_metric"] == "epoch/epoch"
    assert metrics["batch/*"]["step_metric"] == "batch/batch_step"


def test_metrics_logger_rejects_bad_frequency():
    with pytest.raises(ValueError, match="log_freq"):
        WandbMetricsLogger(log_freq=0)


def test_wandb_callback_tracks_best_epoch(store_location, tmp_path):
    run = tracking.init(project="keras", name="cb run")
    callback = WandbCallback(monitor="val_loss")
    model = _model()
    callback.set_model(model)
    epochs = [(1.0, 0.9), (0.8, 0.5), (0.7, 0.6), (0.6, 0.4), (0.5, 0.45)]
    for epoch, (loss, val_loss) in enumerate(epochs):
        # Stand-in for training: each epoch ends with other weights.
        model.set_weights([np.full((3, 1), epoch, "float32"), np.zeros(1, "float32")])
        callback.on_epoch_end(epoch, {"loss": loss, "val_loss": val_loss})
    run.finish()

    summary = tracking.open_store().run("keras", run.id)["summary"]
    assert summary["best_val_loss"] == 0.4
    assert summary["best_epoch"] == 3
    frame = _history(run)
    assert frame["epoch"].tolist() == [0, 1, 2, 3, 4]
    assert frame["val_loss"].tolist() == [0.9, 0.5, 0.6, 0.4, 0.45]

    # Improvements at epochs 0, 1 and 3 each logged a model version.
    versions = artifact_store.list_versions(
        tracking.open_store(), "keras", "model-cb_run"
    )
    assert [v.manifest["metadata"]["epoch"] for v in versions] == [0, 1, 3]
    assert versions[-1].aliases == ("latest", "best", "epoch_3")
    assert [entry for entry in versions[-1].manifest["files"]] == ["model-best.keras"]
    assert callback.best_model_artifact.version == "v2"
    best = tracking.Api().artifact("keras/model-cb_run:best")
    folder = Path(best.download(tmp_path / "best"))
    kernel = keras.saving.load_model(folder / "model-best.keras").get_weights()[0]
    assert kernel.ravel().tolist() == [3.0, 3.0, 3.0]


def test_wandb_callback_auto_mode_maximises_accuracy(sqlite_store):
    run = tracking.init(project="keras")
    callback = WandbCallback(monitor="val_accuracy", save_model=False)
    callback.set_model(_model())
    for epoch, accuracy in enumerate([0.5, 0.7, 0.6]):
        callback.on_epoch_end(epoch, {"val_accuracy": accuracy})
    assert run.summary["best_val_accuracy"] == 0.7
    assert run.summary["best_epoch"] == 1
    run.finish()
    assert tracking.Api().run(f"keras/{run.id}").logged_artifacts() == []


def test_wandb_callback_resumes_from_stored_best(sqlite_store):
    run = tracking.init(project="keras", id="k1")
    run.summary["best_val_loss"] = 0.3
    run.finish(exit_code=1)
    resumed = tracking.init(project="keras", id="k1", resume="must")
    callback = WandbCallback(save_model=False)
    callback.set_model(_model())
    callback.on_epoch_end(0, {"val_loss": 0.35})
    assert resumed.summary["best_val_loss"] == 0.3
    callback.on_epoch_end(1, {"val_loss": 0.2})
    assert resumed.summary["best_val_loss"] == 0.2
    resumed.finish()


def test_wandb_callback_best_model_reloads(store_location, tmp_path):
    x, y = _data(rows=40)
    run = tracking.init(project="keras")
    model = _model()
    callback = WandbCallback(monitor="val_loss")
    model.fit(
        x,
        y,
        epochs=4,
        batch_size=8,
        validation_split=0.25,
        verbose=0,
        callbacks=[callback],
    )
    run.finish()

    best = tracking.Api().artifact(f"keras/model-{run.name}:best")
    folder = Path(best.download(tmp_path / "best"))
    reloaded = keras.saving.load_model(folder / "model-best.keras")
    summary = tracking.open_store().run("keras", run.id)["summary"]
    val_loss = reloaded.evaluate(x[30:], y[30:], verbose=0)
    assert val_loss == pytest.approx(summary["best_val_loss"], rel=1e-4)


def test_callbacks_need_a_run():
    with pytest.raises(tracking.UsageError, match="before training"):
        WandbCallback()
