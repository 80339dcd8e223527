"""Grid-search the layer sizes of a Keras network on scikit-learn's digits.

Each trial trains a small dense network on the 8x8 digit images and logs
Keras's loss and accuracy after every epoch through
:class:`tracking.integration.keras.MetricsCallback`. Hyperband compares the
trials' validation loss as they train, and the callback ends training of a
trial it stops.

Run ``python examples/sweep_digits.py`` (about a minute on 2 cores; add
``--epochs 5`` for a quicker look). The runs go to the project
``digits-sweeps``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

# `python examples/sweep_digits.py` puts examples/ on the path, not the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tracking as wandb  # noqa: E402

logger = logging.getLogger(__name__)

PROJECT = "digits-sweeps"
SEED = 0


def sweep_config(epochs: int = 15) -> dict[str, Any]:
    """Return the grid: two hidden layer sizes, the second one optional (0)."""
    return {
        "name": "digits-layer-grid",
        "method": "grid",
        "metric": {"name": "val_loss", "goal": "minimize"},
        "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 3},
        "parameters": {
            "layers": {
                "parameters": {
                    "first": {"values": [16, 64, 128]},
                    "second": {"values": [0, 32]},
                }
            },
            "epochs": {"value": epochs},
            "batch_size": {"value": 32},
            "learning_rate": {"value": 1e-3},
        },
    }


def load_digits_split() -> tuple[Any, Any, Any, Any]:
    """Return scaled digit images and labels, split 80/20 with a fixed seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    images, labels = load_digits(return_X_y=True)
    images = (images / 16.0).astype("float32")
    return train_test_split(
        images, labels, test_size=0.2, stratify=labels, random_state=SEED
    )


def build_model(first: int, second: int, learning_rate: float) -> Any:
    """Return a compiled dense network with one or two hidden layers."""
    import keras

    layers = [keras.Input(shape=(64,)), keras.layers.Dense(first, activation="relu")]
    if second:
        layers.append(keras.layers.Dense(second, activation="relu"))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train() -> None:
    """Run one trial: train the config's network and log every epoch."""
    import keras

    from tracking.integration.keras import MetricsCallback

    keras.utils.set_random_seed(SEED)
    with wandb.init(project=PROJECT, job_type="sweep-trial") as run:
        config = run.config
        x_train, x_test, y_train, y_test = load_digits_split()
        model = build_model(
            config.layers["first"], config.layers["second"], config.learning_rate
        )
        model.fit(
            x_train,
            y_train,
            validation_data=(x_test, y_test),
            epochs=config.epochs,
            batch_size=config.batch_size,
            callbacks=[MetricsCallback()],
            verbose=0,
        )
        run.summary["parameters"] = model.count_params()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="epochs per trial")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    sweep_id = wandb.sweep(sweep_config(args.epochs), project=PROJECT)
    for result in wandb.agent(sweep_id, function=train):
        logger.info("trial %d ended %s", result.number, result.state)


if __name__ == "__main__":
    main()
