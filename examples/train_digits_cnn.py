"""Train a small Keras CNN on scikit-learn's 8x8 digits as a tracked run.

The script is written like a Weights & Biases script (``import tracking as
wandb``). It stores one run in the project ``digits`` with:

- the config (layer sizes, learning rate, batch size, epochs);
- Keras's loss and accuracy, on the training and validation rows, after every
  epoch, through :class:`tracking.integration.keras.MetricsCallback`;
- the model as the artifact ``model``. It takes the 64 pixel columns as they are
  (0 to 16) and reshapes them to an 8x8x1 image itself, so the What-If pages can
  score the dataset's rows;
- the test images as the dataset artifact ``digits-test``: one row per image,
  the columns ``pixel_0`` to ``pixel_63`` in the row-major order of
  ``load_digits().data`` and the label ``digit``. The What-If pages show such
  rows as thumbnails;
- ``test_accuracy`` and ``test_macro_f1`` on the test images in the summary.

Run ``python examples/train_digits_cnn.py`` (15 epochs) or add ``--quick`` (3
epochs), then open the run on the What-If, Performance and Datapoints pages.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# `python examples/train_digits_cnn.py` puts examples/ on the path, not the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Importing tracking first picks Keras's PyTorch backend when TensorFlow is missing.
import tracking as wandb  # noqa: E402

logger = logging.getLogger(__name__)

PROJECT = "digits"
SEED = 0
LABEL = "digit"
TEST_DATASET = "digits-test"
IMAGE_SIDE = 8
# load_digits() pixels are counts of set bits in 4x4 blocks, 0 to 16.
PIXEL_MAX = 16.0

CONFIG = {
    "model": "KerasCNN",
    "filters": [16, 32],
    "dense_units": 64,
    "learning_rate": 5e-3,
    "batch_size": 64,
    "epochs": 15,
    "validation_split": 0.1,
    "test_size": 0.25,
}
QUICK_EPOCHS = 3


def digits_frames(test_size: float = CONFIG["test_size"]) -> tuple[Any, Any]:
    """Return the training and test images as frames of pixels and ``digit``.

    The split is stratified on the digit, with a fixed seed.

    Returns
    -------
    tuple of pandas.DataFrame
        Columns ``pixel_0`` to ``pixel_63`` (float, 0 to 16) and ``digit``
        (int, 0 to 9).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    columns = [f"pixel_{index}" for index in range(digits.data.shape[1])]
    frame = pd.DataFrame(digits.data, columns=columns)
    frame[LABEL] = digits.target
    train, test = train_test_split(
        frame, test_size=test_size, stratify=frame[LABEL], random_state=SEED
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def build_cnn(filters: list[int], dense_units: int, learning_rate: float) -> Any:
    """Return a compiled CNN that takes 64 pixel values and scores the ten digits.

    The model rescales the pixels to 0 to 1 and reshapes them to 8x8x1 images
    itself, so its input is a dataset row as stored.
    """
    import keras

    layers = [
        keras.Input(shape=(IMAGE_SIDE * IMAGE_SIDE,)),
        keras.layers.Rescaling(1.0 / PIXEL_MAX),
        keras.layers.Reshape((IMAGE_SIDE, IMAGE_SIDE, 1)),
        keras.layers.Conv2D(filters[0], 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(filters[1], 3, padding="same", activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(dense_units, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ]
    model = keras.Sequential(layers, name="digits_cnn")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def pixels(frame: pd.DataFrame) -> np.ndarray:
    """Return a frame's pixel columns as the model's float32 input."""
    return frame.drop(columns=LABEL).to_numpy(dtype=np.float32)


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run PyTorch on one thread, then restore its thread count.

    For a model this small, more threads cost more than they save: on 2 cores
    shared with other jobs, 10 epochs took 18.7 s of CPU time with torch's
    default of 2 threads and 2.1 s with one.
    """
    import keras

    if keras.backend.backend() != "torch":
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train_digits_cnn(*, quick: bool = False) -> str:
    """Train the CNN, store it with its test images as a run, and return the run id.

    Parameters
    ----------
    quick : bool, default False
        Train for ``QUICK_EPOCHS`` epochs instead of ``CONFIG["epochs"]``.

    Returns
    -------
    str
        The id of the stored run. The store is ``RUNLENS_STORE`` or
        ``./runlens``, as for every ``tracking.init``.
    """
    import keras
    from sklearn.metrics import accuracy_score, f1_score

    from tracking.integration.keras import MetricsCallback

    config = {**CONFIG, "quick": quick}
    if quick:
        config["epochs"] = QUICK_EPOCHS
    train, test = digits_frames(config["test_size"])
    config["train_rows"] = len(train)

    name = "cnn-" + "-".join(str(count) for count in config["filters"])
    with (
        wandb.init(
            project=PROJECT,
            name=name,
            config=config,
            tags=["digits", "keras", "images"],
            job_type="train",
            reinit="finish_previous",
        ) as run,
        _one_torch_thread(),
    ):
        keras.utils.set_random_seed(SEED)
        started = time.perf_counter()
        model = build_cnn(
            run.config["filters"],
            run.config["dense_units"],
            run.config["learning_rate"],
        )
        model.fit(
            pixels(train),
            train[LABEL].to_numpy(),
            batch_size=run.config["batch_size"],
            epochs=run.config["epochs"],
            validation_split=run.config["validation_split"],
            callbacks=[MetricsCallback()],
            verbose=0,
        )
        run.summary["train_seconds"] = time.perf_counter() - started

        predicted = model.predict(pixels(test), verbose=0).argmax(axis=1)
        run.summary["test_accuracy"] = float(accuracy_score(test[LABEL], predicted))
        run.summary["test_macro_f1"] = float(
            f1_score(test[LABEL], predicted, average="macro")
        )
        # The softmax unit i scores the digit i.
        run.log_model(model, "model", metadata={"classes": list(range(10))})
        run.log_dataset(test, TEST_DATASET, label=LABEL)
        logger.info(
            "run %s (%s): test accuracy %.4f after %d epochs",
            run.id,
            run.name,
            run.summary["test_accuracy"],
            run.config["epochs"],
        )
        return run.id


def main(argv: list[str] | None = None) -> int:
    """Train from the command line and print the run's test accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"train for {QUICK_EPOCHS} epochs"
    )
    parser.add_argument(
        "--store",
        help="store folder or SQLAlchemy URL (default: $RUNLENS_STORE or ./runlens)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.store:
        os.environ["RUNLENS_STORE"] = args.store

    started = time.perf_counter()
    run_id = train_digits_cnn(quick=args.quick)
    summary = wandb.open_store(args.store).run(PROJECT, run_id)["summary"]
    print(
        f"run {run_id} in project {PROJECT!r}: test accuracy "
        f"{summary['test_accuracy']:.4f}, {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
