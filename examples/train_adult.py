"""Train three kinds of income classifiers on the Adult census data as tracked runs.

The script is written like a Weights & Biases script (``import tracking as
wandb``). It stores each run in the project ``adult-income``:

- a scikit-learn logistic regression on one-hot-encoded features,
- ``HistGradientBoostingClassifier`` with several configurations, logging the
  training and validation loss of each boosting iteration,
- a Keras MLP on the one-hot-encoded features, logging each epoch.

Every run stores its model, the Adult test split (raw columns plus ``income``)
and its test accuracy, F1, ROC AUC and log loss in the summary. The
scikit-learn models take the raw DataFrame by column name. The Keras model
takes the output of a fitted ``ColumnTransformer`` stored beside it.

Run ``python examples/train_adult.py --quick`` for a small demo. The app also
imports this file by path and calls :func:`train_demo`, so importing it only
defines names.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import tracking as wandb
from analysis.data import (
    ADULT_INTEGER_COLUMNS,
    ADULT_LABEL,
    ADULT_POSITIVE,
    feature_columns,
    load_adult,
)

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

logger = logging.getLogger(__name__)

PROJECT = "adult-income"
SEED = 0

# Quick mode trains on a stratified sample of this many training rows.
QUICK_TRAIN_ROWS = 4_000

NUMERIC_COLUMNS = list(ADULT_INTEGER_COLUMNS)
CATEGORICAL_COLUMNS = [
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native_country",
]

LOGISTIC_REGRESSION_CONFIG = {"C": 1.0, "max_iter": 1000}

# Quick mode trains the first QUICK_GRADIENT_BOOSTING_CONFIGS of these.
GRADIENT_BOOSTING_CONFIGS = (
    {"learning_rate": 0.1, "max_iter": 300, "max_leaf_nodes": 31},
    {"learning_rate": 0.05, "max_iter": 500, "max_leaf_nodes": 15},
    {"learning_rate": 0.2, "max_iter": 200, "max_leaf_nodes": 63},
)
QUICK_GRADIENT_BOOSTING_CONFIGS = 2
GRADIENT_BOOSTING_EARLY_STOPPING = {
    "early_stopping": True,
    "scoring": "loss",
    "validation_fraction": 0.1,
    "n_iter_no_change": 10,
}

MLP_CONFIG = {
    "hidden_units": [64, 32],
    "learning_rate": 1e-3,
    "batch_size": 128,
    "epochs": 10,
    "validation_split": 0.1,
}
QUICK_MLP_EPOCHS = 3

TEST_DATASET = "adult-test"

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class AdultSplits:
    """The training rows and the full Adult test split, both with ``income``."""

    train: pd.DataFrame
    test: pd.DataFrame

    @property
    def features(self) -> list[str]:
        """The feature columns in file order, which the models expect."""
        return feature_columns(self.train, ADULT_LABEL)


def train_demo(
    *,
    quick: bool = False,
    progress: Progress | None = None,
    store: str | os.PathLike | None = None,
) -> list[str]:
    """Train the demo models on Adult and store each one as a finished run.

    Parameters
    ----------
    quick : bool, default False
        Train on a stratified sample of ``QUICK_TRAIN_ROWS`` training rows,
        with fewer gradient boosting configurations and Keras epochs. Test
        metrics still use the whole test split.
    progress : callable, optional
        Called as ``progress(fraction, message)`` before each run, with the
        fraction of runs done (0 to 1) and the name of the next model, and
        once more with 1.0 when all runs are stored.
    store : str or path-like, optional
        Store folder or SQLAlchemy URL. By default ``tracking.init`` uses
        ``RUNLENS_STORE`` or ``./runlens``. For a URL, ``RUNLENS_ARTIFACTS``
        sets the artifacts folder, as in ``tracking.store.resolve_location``.

    Returns
    -------
    list of str
        The ids of the stored runs, in training order.
    """
    splits = load_splits(quick=quick)
    steps = _plan_runs(quick)

    run_ids = []
    with _store_location(store):
        for index, (message, train) in enumerate(steps):
            if progress is not None:
                progress(index / len(steps), message)
            logger.info("%s (run %d of %d)", message, index + 1, len(steps))
            run_ids.append(train(splits, quick))

    if progress is not None:
        progress(1.0, f"Stored {len(run_ids)} runs in project {PROJECT!r}")
    return run_ids


def load_splits(*, quick: bool = False) -> AdultSplits:
    """Load the Adult train and test splits, sampling train in quick mode.

    Parameters
    ----------
    quick : bool, default False
        Keep a sample of ``QUICK_TRAIN_ROWS`` training rows, stratified on
        ``income``.

    Returns
    -------
    AdultSplits
    """
    train = load_adult("train")
    test = load_adult("test")
    if quick:
        from sklearn.model_selection import train_test_split

        train, _ = train_test_split(
            train,
            train_size=QUICK_TRAIN_ROWS,
            stratify=train[ADULT_LABEL],
            random_state=SEED,
        )
        train = train.reset_index(drop=True)
    return AdultSplits(train=train, test=test)


def _plan_runs(quick: bool) -> list[tuple[str, Callable[[AdultSplits, bool], str]]]:
    steps: list[tuple[str, Callable[[AdultSplits, bool], str]]] = [
        ("Training logistic regression", _train_logistic_regression)
    ]

    count = QUICK_GRADIENT_BOOSTING_CONFIGS if quick else len(GRADIENT_BOOSTING_CONFIGS)
    for number, config in enumerate(GRADIENT_BOOSTING_CONFIGS[:count], start=1):
        steps.append(
            (
                f"Training gradient boosting {number} of {count}",
                functools.partial(_train_gradient_boosting, settings=config),
            )
        )

    steps.append(("Training Keras MLP", _train_keras_mlp))
    return steps


@contextlib.contextmanager
def _store_location(store: str | os.PathLike | None) -> Iterator[None]:
    """Point ``tracking.init`` at ``store`` by setting ``RUNLENS_STORE``."""
    if store is None:
        yield
        return

    # NOTE: the variable is process-wide, so runs that another thread starts
    # meanwhile also go to this store.
    previous = os.environ.get("RUNLENS_STORE")
    os.environ["RUNLENS_STORE"] = os.fspath(store)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["RUNLENS_STORE"]
        else:
            os.environ["RUNLENS_STORE"] = previous


def one_hot_preprocessor() -> ColumnTransformer:
    """Build the imputing, scaling and one-hot encoding ``ColumnTransformer``.

    Returns
    -------
    sklearn.compose.ColumnTransformer
        Unfitted. It turns the raw Adult feature columns into a dense float
        matrix: median-imputed, standardized numbers and one-hot categories
        (unknown categories encode as all zeros).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    return ColumnTransformer(
        [
            ("numeric", numeric, NUMERIC_COLUMNS),
            ("categorical", categorical, CATEGORICAL_COLUMNS),
        ]
    )


def compute_test_metrics(y_true: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    """Compute the summary metrics from positive-class probabilities.

    Parameters
    ----------
    y_true : array of bool, shape (n,)
        True where the income is ``>50K``.
    y_score : array of float, shape (n,)
        Predicted probability of ``>50K``. A score of at least 0.5 predicts it.

    Returns
    -------
    dict
        ``test_accuracy``, ``test_f1``, ``test_roc_auc`` and ``test_log_loss``.
    """
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    y_score = np.asarray(y_score, dtype=np.float64)
    y_pred = y_score >= 0.5
    return {
        "test_accuracy": float(accuracy_score(y_true, y_pred)),
        "test_f1": float(f1_score(y_true, y_pred)),
        "test_roc_auc": float(roc_auc_score(y_true, y_score)),
        "test_log_loss": float(log_loss(y_true, y_score, labels=[False, True])),
    }


def _is_positive(frame: pd.DataFrame) -> np.ndarray:
    return (frame[ADULT_LABEL] == ADULT_POSITIVE).to_numpy(dtype=bool)


def _base_config(splits: AdultSplits, quick: bool, model: str) -> dict[str, Any]:
    return {"model": model, "train_rows": len(splits.train), "quick": quick}


def _log_test_results(run: wandb.Run, splits: AdultSplits, y_score: np.ndarray) -> None:
    """Store the test metrics in the summary and the test split as an artifact."""
    metrics = compute_test_metrics(_is_positive(splits.test), y_score)
    run.summary.update(metrics)
    run.log_dataset(splits.test, TEST_DATASET, label=ADULT_LABEL)
    logger.info(
        "run %s (%s): test accuracy %.4f, ROC AUC %.4f",
        run.id,
        run.name,
        metrics["test_accuracy"],
        metrics["test_roc_auc"],
    )


def _train_logistic_regression(splits: AdultSplits, quick: bool) -> str:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    config = {
        **_base_config(splits, quick, "LogisticRegression"),
        **LOGISTIC_REGRESSION_CONFIG,
    }
    with wandb.init(
        project=PROJECT,
        name=f"logreg-C{config['C']:g}",
        config=config,
        tags=["adult", "sklearn"],
        group="logistic-regression",
        job_type="train",
        reinit="finish_previous",
    ) as run:
        started = time.perf_counter()
        model = Pipeline(
            [
                ("preprocess", one_hot_preprocessor()),
                (
                    "classifier",
                    LogisticRegression(
                        C=run.config["C"],
                        max_iter=run.config["max_iter"],
                        random_state=SEED,
                    ),
                ),
            ]
        )
        model.fit(splits.train[splits.features], splits.train[ADULT_LABEL])
        run.summary["train_seconds"] = time.perf_counter() - started
        run.summary["n_iter"] = int(model[-1].n_iter_[0])

        y_score = _positive_probability(model, splits.test[splits.features])
        _log_test_results(run, splits, y_score)
        run.log_model(model, "model")
        return run.id


def _positive_probability(model: Any, features: pd.DataFrame) -> np.ndarray:
    """Return the ``>50K`` column of a scikit-learn classifier's probabilities."""
    classes = list(model.classes_)
    return model.predict_proba(features)[:, classes.index(ADULT_POSITIVE)]


def _ordinal_gradient_boosting(config: dict[str, Any]) -> Any:
    """Build a pipeline that ordinal-encodes categories for native HGB splits.

    NOTE: with categorical features, scikit-learn 1.9's HGB keeps a
    ``FunctionTransformer(partial(check_array))`` inside, so the skops file
    lists ``functools.partial`` and ``check_array`` as untrusted types.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    # Missing and unseen categories both encode as NaN, which the trees treat
    # as missing values.
    encoder = ColumnTransformer(
        [
            (
                "categorical",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=np.nan
                ),
                CATEGORICAL_COLUMNS,
            ),
            ("numeric", "passthrough", NUMERIC_COLUMNS),
        ]
    )
    classifier = HistGradientBoostingClassifier(
        learning_rate=config["learning_rate"],
        max_iter=config["max_iter"],
        max_leaf_nodes=config["max_leaf_nodes"],
        categorical_features=list(range(len(CATEGORICAL_COLUMNS))),
        early_stopping=config["early_stopping"],
        scoring=config["scoring"],
        validation_fraction=config["validation_fraction"],
        n_iter_no_change=config["n_iter_no_change"],
        random_state=SEED,
    )
    return Pipeline([("encode", encoder), ("classifier", classifier)])


def _train_gradient_boosting(
    splits: AdultSplits, quick: bool, settings: dict[str, Any]
) -> str:
    config = {
        **_base_config(splits, quick, "HistGradientBoostingClassifier"),
        **settings,
        **GRADIENT_BOOSTING_EARLY_STOPPING,
    }
    name = f"hgb-lr{config['learning_rate']:g}-leaves{config['max_leaf_nodes']}"
    with wandb.init(
        project=PROJECT,
        name=name,
        config=config,
        tags=["adult", "sklearn"],
        group="gradient-boosting",
        job_type="train",
        reinit="finish_previous",
    ) as run:
        started = time.perf_counter()
        model = _ordinal_gradient_boosting(run.config.as_dict())
        model.fit(splits.train[splits.features], splits.train[ADULT_LABEL])
        run.summary["train_seconds"] = time.perf_counter() - started

        # With scoring="loss" the score arrays hold the negative log loss, and
        # entry 0 is the model before the first boosting iteration.
        classifier = model[-1]
        for iteration, (train_score, val_score) in enumerate(
            zip(classifier.train_score_, classifier.validation_score_, strict=True)
        ):
            run.log(
                {"train_loss": -train_score, "val_loss": -val_score}, step=iteration
            )
        run.summary["n_iter"] = int(classifier.n_iter_)

        y_score = _positive_probability(model, splits.test[splits.features])
        _log_test_results(run, splits, y_score)
        run.log_model(model, "model")
        return run.id


def _build_mlp(n_inputs: int, hidden_units: Sequence[int], learning_rate: float) -> Any:
    import keras

    layers = [keras.Input(shape=(n_inputs,))]
    layers += [keras.layers.Dense(units, activation="relu") for units in hidden_units]
    layers.append(keras.layers.Dense(1, activation="sigmoid"))
    model = keras.Sequential(layers, name="adult_mlp")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _train_keras_mlp(splits: AdultSplits, quick: bool) -> str:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    from tracking.integration.keras import MetricsCallback

    config = {**_base_config(splits, quick, "KerasMLP"), **MLP_CONFIG}
    if quick:
        config["epochs"] = QUICK_MLP_EPOCHS
    layer_sizes = "-".join(str(units) for units in config["hidden_units"])
    with wandb.init(
        project=PROJECT,
        name=f"mlp-{layer_sizes}",
        config=config,
        tags=["adult", "keras"],
        group="keras-mlp",
        job_type="train",
        reinit="finish_previous",
    ) as run:
        keras.utils.set_random_seed(SEED)
        started = time.perf_counter()
        preprocessor = one_hot_preprocessor()
        inputs = preprocessor.fit_transform(splits.train[splits.features])
        model = _build_mlp(
            inputs.shape[1], run.config["hidden_units"], run.config["learning_rate"]
        )
        model.fit(
            inputs.astype(np.float32),
            _is_positive(splits.train).astype(np.float32),
            batch_size=run.config["batch_size"],
            epochs=run.config["epochs"],
            validation_split=run.config["validation_split"],
            callbacks=[MetricsCallback()],
            verbose=0,
        )
        run.summary["train_seconds"] = time.perf_counter() - started

        test_inputs = preprocessor.transform(splits.test[splits.features])
        y_score = model.predict(test_inputs.astype(np.float32), verbose=0)[:, 0]
        _log_test_results(run, splits, y_score)
        run.log_model(
            model,
            "model",
            preprocessor=preprocessor,
            # The sigmoid unit scores class 1, which stands for ">50K".
            metadata={"classes": ["<=50K", ADULT_POSITIVE]},
        )
        return run.id


def _summary_table(store: str | os.PathLike | None, run_ids: list[str]) -> pd.DataFrame:
    runs = wandb.open_store(store).runs(PROJECT).set_index("run_id").loc[run_ids]
    columns = {
        "name": "run",
        "state": "state",
        "summary.test_accuracy": "accuracy",
        "summary.test_f1": "F1",
        "summary.test_roc_auc": "ROC AUC",
        "summary.test_log_loss": "log loss",
        "summary.train_seconds": "train seconds",
    }
    return runs[list(columns)].rename(columns=columns).reset_index(drop=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo from the command line and print each run's test metrics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"train on {QUICK_TRAIN_ROWS:,} sampled rows with fewer configurations",
    )
    parser.add_argument(
        "--store",
        help="store folder or SQLAlchemy URL (default: $RUNLENS_STORE or ./runlens)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )

    started = time.perf_counter()
    run_ids = train_demo(quick=args.quick, store=args.store)
    elapsed = time.perf_counter() - started

    table = _summary_table(args.store, run_ids)
    print(table.to_string(index=False, float_format=lambda value: f"{value:.4f}"))
    print(f"{len(run_ids)} runs in project {PROJECT!r}, {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
