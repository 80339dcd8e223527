"""Tune HistGradientBoosting on the Adult census data with a bayes sweep.

The script is written like a W&B sweep script (``import tracking as wandb``):
:func:`train` runs one trial, reading its hyperparameters from
``wandb.config`` and logging the 3-fold cross-validated ROC AUC and log loss
of each fold and their means.

- ``python examples/sweep_adult.py --count 20`` creates the sweep from
  ``sweep_adult.yaml`` and runs 20 trials in this process (``--n-jobs 2`` runs
  two at once).
- ``python -m tracking agent ID`` runs this file once per trial; it then
  trains once and exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# `python examples/sweep_adult.py` puts examples/ on the path, not the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tracking as wandb  # noqa: E402
from analysis.data import ADULT_LABEL, ADULT_POSITIVE, load_adult  # noqa: E402

logger = logging.getLogger(__name__)

SWEEP_CONFIG = Path(__file__).with_name("sweep_adult.yaml")
SEED = 0
FOLDS = 3


def adult_features(rows: int = 0, seed: int = SEED) -> tuple[pd.DataFrame, np.ndarray]:
    """Return Adult's training features (text as categories) and 0/1 labels.

    ``rows`` > 0 takes a stratified sample of that many rows.
    """
    frame = load_adult("train")
    if rows and rows < len(frame):
        from sklearn.model_selection import train_test_split

        frame, _ = train_test_split(
            frame,
            train_size=rows,
            stratify=frame[ADULT_LABEL],
            random_state=seed,
        )
    labels = (frame[ADULT_LABEL] == ADULT_POSITIVE).to_numpy(dtype=int)
    features = frame.drop(columns=[ADULT_LABEL])
    for column in features.columns:
        if not pd.api.types.is_numeric_dtype(features[column]):
            features[column] = features[column].astype("category")
    return features, labels


def cross_validate(
    params: dict[str, Any],
    features: pd.DataFrame,
    labels: np.ndarray,
    seed: int = SEED,
) -> list[dict[str, float]]:
    """Fit one model per fold and return each fold's ROC AUC and log loss."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    scores = []
    for train_index, test_index in folds.split(features, labels):
        model = HistGradientBoostingClassifier(
            categorical_features="from_dtype", random_state=seed, **params
        )
        model.fit(features.iloc[train_index], labels[train_index])
        proba = model.predict_proba(features.iloc[test_index])[:, 1]
        scores.append(
            {
                "roc_auc": roc_auc_score(labels[test_index], proba),
                "log_loss": log_loss(labels[test_index], proba),
            }
        )
    return scores


def model_params(config: Any) -> dict[str, Any]:
    """Return the HistGradientBoostingClassifier arguments of a run config."""
    return {
        "learning_rate": config["learning_rate"],
        "max_leaf_nodes": int(config["max_leaf_nodes"]),
        "min_samples_leaf": config["min_samples_leaf"],
        "l2_regularization": config["l2_regularization"],
        "max_features": config["max_features"],
        "max_iter": config["max_iter"],
    }


def train() -> None:
    """Run one trial: cross-validate the config's model and log its scores."""
    with wandb.init(job_type="sweep-trial") as run:
        features, labels = adult_features(rows=run.config.get("train_rows", 0))
        scores = cross_validate(model_params(run.config), features, labels)
        for fold, score in enumerate(scores):
            run.log(
                {
                    "fold": fold,
                    "roc_auc": score["roc_auc"],
                    "log_loss": score["log_loss"],
                }
            )
        run.summary["cv_roc_auc"] = float(np.mean([s["roc_auc"] for s in scores]))
        run.summary["cv_log_loss"] = float(np.mean([s["log_loss"] for s in scores]))
        run.log({"cv_roc_auc": run.summary["cv_roc_auc"]})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="trials to run")
    parser.add_argument("--n-jobs", type=int, default=1, help="trials run at once")
    parser.add_argument("--sweep", help="join this sweep id instead of creating one")
    # An agent passes the parameters as --name=value too; the config has them.
    args, _ = parser.parse_known_args(argv)

    if os.environ.get("WANDB_SWEEP_ID"):
        train()
        return
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    sweep_id = args.sweep or wandb.sweep(str(SWEEP_CONFIG))
    wandb.agent(sweep_id, function=train, count=args.count, n_jobs=args.n_jobs)


if __name__ == "__main__":
    main()
