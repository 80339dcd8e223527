"""A Weights & Biases tutorial program that runs on Runlens.

The code follows the W&B quickstart, artifacts and Keras tutorials as they
teach it: ``wandb.init(config=...)``, ``config = wandb.config``, ``wandb.log``
inside the training loop, ``wandb.finish()``, artifacts for the data, and
``WandbCallback`` in ``model.fit``. Only the two import lines differ from a
W&B program::

    import wandb                                       # W&B
    import tracking as wandb                           # Runlens

    from wandb.integration.keras import WandbCallback  # W&B
    from tracking.integration.keras import WandbCallback  # Runlens

It trains on scikit-learn's 8x8 digits (1,797 images), in three runs of one
project: one logs the data as an artifact, one trains a linear classifier
with a hand-written loop, one trains a Keras MLP. Runs go to ``./runlens``
unless ``RUNLENS_STORE`` names another store::

    python examples/wandb_tutorial.py --epochs 5
"""

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import SGDClassifier  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import tracking as wandb  # noqa: E402
from tracking.integration.keras import WandbCallback  # noqa: E402

CLASSES = list(range(10))


def log_dataset(project):
    """Store the digits, split into train, validation and test, as an artifact."""
    run = wandb.init(project=project, job_type="upload-data")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=0, stratify=y
    )
    X_train, X_val, y_train, y_val = train_test_split(
        X_train, y_train, test_size=0.2, random_state=0, stratify=y_train
    )
    np.savez(
        "digits.npz",
        X_train=X_train,
        y_train=y_train,
        X_val=X_val,
        y_val=y_val,
        X_test=X_test,
        y_test=y_test,
    )
    artifact = wandb.Artifact(
        "digits",
        type="dataset",
        description="scikit-learn digits scaled to [0, 1], split 64/16/20",
        metadata={"rows": len(X), "classes": 10},
    )
    artifact.add_file("digits.npz")
    run.log_artifact(artifact)
    wandb.finish()


def load_data(run):
    data_dir = run.use_artifact("digits:latest").download()
    return np.load(os.path.join(data_dir, "digits.npz"))


def train_linear(project, epochs):
    """Train a linear classifier in a hand-written loop that logs each epoch."""
    run = wandb.init(
        project=project,
        job_type="train",
        config={"learning_rate": 0.01, "alpha": 1e-4, "epochs": epochs},
        tags=["linear"],
    )
    config = wandb.config
    wandb.define_metric("val_loss", summary="min")
    data = load_data(run)

    model = SGDClassifier(
        loss="log_loss",
        learning_rate="constant",
        eta0=config.learning_rate,
        alpha=config.alpha,
        random_state=0,
    )
    for epoch in range(config.epochs):
        model.partial_fit(data["X_train"], data["y_train"], classes=CLASSES)
        wandb.log(
            {
                "epoch": epoch,
                "loss": log_loss(
                    data["y_train"],
                    model.predict_proba(data["X_train"]),
                    labels=CLASSES,
                ),
                "val_loss": log_loss(
                    data["y_val"], model.predict_proba(data["X_val"]), labels=CLASSES
                ),
                "val_accuracy": accuracy_score(
                    data["y_val"], model.predict(data["X_val"])
                ),
            }
        )

    wandb.log(
        {
            "weights": wandb.Histogram(model.coef_),
            "example": wandb.Image(
                data["X_test"][0].reshape(8, 8), caption=f"digit {data['y_test'][0]}"
            ),
        }
    )
    wandb.sklearn.plot_classifier(
        model,
        data["X_train"],
        data["X_test"],
        data["y_train"],
        data["y_test"],
        model.predict(data["X_test"]),
        model.predict_proba(data["X_test"]),
        [str(digit) for digit in CLASSES],
        model_name="SGDClassifier",
    )
    wandb.finish()


def train_keras(project, epochs):
    """Train a Keras MLP configured by wandb.config, with WandbCallback in fit()."""
    run = wandb.init(
        project=project,
        job_type="train",
        config={
            "layer_1": 64,
            "activation": "relu",
            "dropout": 0.2,
            "learning_rate": 0.003,
            "epochs": epochs,
            "batch_size": 64,
        },
        tags=["keras"],
    )
    config = wandb.config
    wandb.define_metric("val_loss", summary="min")
    data = load_data(run)
    keras.utils.set_random_seed(0)

    model = keras.Sequential(
        [
            keras.Input(shape=(64,)),
            keras.layers.Dense(config.layer_1, activation=config.activation),
            keras.layers.Dropout(config.dropout),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        data["X_train"],
        data["y_train"],
        epochs=config.epochs,
        batch_size=config.batch_size,
        validation_data=(data["X_val"], data["y_val"]),
        callbacks=[WandbCallback(monitor="val_loss", save_model=True)],
        verbose=0,
    )
    test_loss, test_accuracy = model.evaluate(data["X_test"], data["y_test"], verbose=0)
    wandb.log({"test_loss": test_loss, "test_accuracy": test_accuracy})
    wandb.finish()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default="wandb-tutorial", help="project name")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per model")
    args = parser.parse_args()

    log_dataset(args.project)
    train_linear(args.project, args.epochs)
    train_keras(args.project, args.epochs)

    api = wandb.Api()
    for run in api.runs(args.project, filters={"jobType": "train"}):
        # Both runs define val_loss with summary="min", so the summary contains
        # {"min": ...} as in W&B, where the run table shows val_loss.min.
        best = run.summary["val_loss"]["min"]
        print(f"{run.name} {run.tags}: val_loss {best:.3f} (min)")


if __name__ == "__main__":
    main()
