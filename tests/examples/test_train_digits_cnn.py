"""The digits CNN example: config, epoch history, model and test images as a run."""

from __future__ import annotations

import contextlib
import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

import tracking
from analysis.images import image_layout
from analysis.sources import load_run_dataset, load_run_model
from tracking.artifacts import artifact_files

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_digits_cnn.py"
PROJECT = "digits"


@dataclass
class Trained:
    """The outcome of one quick training, shared by the tests of this module."""

    module: ModuleType
    store: tracking.RunStore
    run_id: str
    printed: str
    torch_threads: tuple[int, int]

    def manifest(self, kind: str) -> dict:
        table = self.store.artifacts(PROJECT, self.run_id)
        rows = table[table["type"] == kind]
        assert len(rows) == 1, f"the run has {len(rows)} {kind} artifacts"
        return rows.iloc[0]["manifest"]


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_digits_cnn", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Trained:
    """Run the script's command line with --quick against a new store."""
    import torch

    module = load_example()
    location = tmp_path_factory.mktemp("digits") / "store"
    before = torch.get_num_threads()
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        # main() sets RUNLENS_STORE; the patch restores it afterwards.
        patch.setenv("RUNLENS_STORE", str(location))
        patch.delenv("RUNLENS_ARTIFACTS", raising=False)
        assert module.main(["--quick", "--store", str(location)]) == 0
    store = tracking.open_store(location)
    (run_id,) = store.runs(PROJECT)["run_id"].tolist()
    return Trained(
        module=module,
        store=store,
        run_id=run_id,
        printed=printed.getvalue(),
        torch_threads=(before, torch.get_num_threads()),
    )


def test_logged_accuracy_matches_model(trained):
    """Check the summary against the stored model's predictions on the test images."""
    import keras

    summary = trained.store.run(PROJECT, trained.run_id)["summary"]
    files = artifact_files(trained.store, trained.manifest("model"))
    model = keras.saving.load_model(files["model.keras"])
    test = load_run_dataset(trained.store, trained.manifest("dataset"))
    pixels = test.drop(columns="digit").to_numpy(dtype=np.float32)
    predicted = model.predict(pixels, verbose=0).argmax(axis=1)

    assert summary["test_accuracy"] == pytest.approx(
        accuracy_score(test["digit"], predicted), abs=1e-12
    )
    assert summary["test_macro_f1"] == pytest.approx(
        f1_score(test["digit"], predicted, average="macro"), abs=1e-12
    )
    assert summary["test_accuracy"] > 0.85
    assert f"test accuracy {summary['test_accuracy']:.4f}" in trained.printed


def test_model_is_a_cnn_on_pixel_rows(trained):
    """Check that the model takes 64 pixels, convolves 8x8x1 images, and loads."""
    import keras

    files = artifact_files(trained.store, trained.manifest("model"))
    model = keras.saving.load_model(files["model.keras"])
    assert model.input_shape == (None, 64)
    convolutions = [
        layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
    ]
    assert len(convolutions) == 2
    assert convolutions[0].input.shape == (None, 8, 8, 1)

    predictor = load_run_model(trained.store, trained.manifest("model"))
    assert predictor.task == "multiclass"
    assert predictor.classes == list(range(10))


def test_config_and_epoch_history(trained):
    """Check the config and one history row per epoch of each Keras metric."""
    config = trained.store.run(PROJECT, trained.run_id)["config"]
    assert config["epochs"] == trained.module.QUICK_EPOCHS
    assert config["quick"] is True
    assert config["filters"] == [16, 32]
    assert config["batch_size"] == trained.module.CONFIG["batch_size"]

    history = trained.store.history(PROJECT, [trained.run_id])
    epochs = list(range(trained.module.QUICK_EPOCHS))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "epoch"):
        steps = history.loc[history["key"] == key, "step"].tolist()
        assert steps == epochs, f"{key} logged at steps {steps}"


def test_dataset_is_test_images(trained):
    """Check the dataset artifact: the test split, labelled, as 8x8 pixel rows."""
    manifest = trained.manifest("dataset")
    test = load_run_dataset(trained.store, manifest)
    _, expected = trained.module.digits_frames()

    assert manifest["label"] == "digit"
    pd.testing.assert_frame_equal(test, expected)
    layout = image_layout([name for name in test.columns if name != "digit"])
    assert layout is not None
    assert layout.side == 8
    assert len(test) == 450


def test_torch_threads_restored(trained):
    before, after = trained.torch_threads
    assert after == before
