"""The data and models that bench_whatif.py times: 1,000,000 Adult-shaped rows.

The dataset resamples the Adult training split with replacement and jitters its
integer columns. Three HistGradientBoosting pipelines are fitted on the original
split, one per What-If task, and score the large dataset once:

* binary: ``income`` (the label of the Adult data);
* multiclass: ``relationship``, 6 classes;
* regression: ``hours_per_week``.

Fitting and scoring take from 10 seconds to a few minutes per model on a busy
2-core machine, so the scores can be kept in a cache folder. A model is then
fitted only when a timed operation needs it (partial dependence, binary only).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# `python bench/bench_whatif.py` puts bench/ on the path, not the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.data import (  # noqa: E402
    ADULT_INTEGER_COLUMNS,
    ADULT_LABEL,
    ADULT_POSITIVE,
    load_adult,
)
from analysis.models import Predictor, make_predictor  # noqa: E402

logger = logging.getLogger(__name__)

# Standard deviation of the jitter added to integer columns, as a share of the
# column's own standard deviation.
JITTER_SCALE = 0.05
# The label column of each task.
TASK_LABELS = {
    "binary": ADULT_LABEL,
    "multiclass": "relationship",
    "regression": "hours_per_week",
}


@dataclass(frozen=True)
class ScoredTask:
    """One task's model and its scores on the large dataset.

    Attributes
    ----------
    task : {"binary", "multiclass", "regression"}
    label : str
        The label column.
    features : list of str
        The model's input columns: every column but the task's label and
        ``income``.
    classes : list or None
        Class labels in score column order, None for regression.
    predictor : Predictor or None
        The fitted pipeline, wrapped as the What-If pages wrap a model. None
        when the scores came from the cache and no model was requested.
    scores : numpy.ndarray
        ``predictor.predict_scores`` of the large dataset: ``(n, n_classes)``
        class scores, or ``(n,)`` predicted values.
    from_cache : bool
        Whether the scores were read from the cache folder.
    """

    task: str
    label: str
    features: list[str]
    classes: list[Any] | None
    predictor: Predictor | None
    scores: np.ndarray
    from_cache: bool


def adult_shaped(rows: int, seed: int = 0) -> pd.DataFrame:
    """Resample the Adult training split to ``rows`` rows and jitter its numbers.

    Integer columns get Gaussian noise of ``JITTER_SCALE`` times their standard
    deviation, rounded and clipped to the column's original range, so the
    values stay plausible but most rows differ from their source row.
    """
    source = load_adult("train")
    rng = np.random.default_rng(seed)
    frame = source.iloc[rng.integers(0, len(source), rows)].reset_index(drop=True)
    for column in ADULT_INTEGER_COLUMNS:
        values = frame[column].to_numpy(dtype=float)
        noise = rng.normal(0.0, JITTER_SCALE * source[column].std(), rows)
        jittered = np.clip(
            np.round(values + noise), source[column].min(), source[column].max()
        )
        frame[column] = jittered.astype(np.int64)
    return frame


def model_features(task: str, columns: list[str]) -> list[str]:
    """Return the input columns of a task's model: no label of the task or income."""
    excluded = {TASK_LABELS[task], ADULT_LABEL}
    return [name for name in columns if name not in excluded]


def fitted_pipeline(train: pd.DataFrame, task: str) -> Any:
    """Fit an ordinal-encoding HistGradientBoosting pipeline for ``task``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    features = model_features(task, list(train.columns))
    text = [column for column in features if column not in ADULT_INTEGER_COLUMNS]
    encoder = ColumnTransformer(
        [
            (
                "text",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                ),
                text,
            )
        ],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    estimator = (
        HistGradientBoostingRegressor
        if task == "regression"
        else HistGradientBoostingClassifier
    )
    model = estimator(categorical_features=text, random_state=0)
    pipeline = Pipeline([("encode", encoder), ("model", model)])
    pipeline.set_output(transform="pandas")
    pipeline.fit(train[features], train[TASK_LABELS[task]])
    return pipeline


def scored_task(
    frame: pd.DataFrame,
    task: str,
    cache: Path | None,
    seed: int,
    *,
    need_model: bool = False,
) -> ScoredTask:
    """Score ``frame`` with the task's pipeline, reading or writing ``cache``.

    The pipeline is fitted when the scores are not cached or ``need_model`` is
    True.
    """
    train = load_adult("train")
    label = TASK_LABELS[task]
    features = model_features(task, list(frame.columns))
    # scikit-learn's classes_ are the sorted distinct labels.
    classes = None if task == "regression" else sorted(train[label].dropna().unique())

    path = None if cache is None else cache / f"whatif-{task}-{len(frame)}-{seed}.npy"
    from_cache = path is not None and path.exists()
    predictor = None
    if need_model or not from_cache:
        predictor = make_predictor(fitted_pipeline(train, task), task=task)

    if from_cache:
        logger.info("reading cached %s scores from %s", task, path)
        scores = np.load(path)
    else:
        logger.info("scoring %d rows with the %s model", len(frame), task)
        scores = predictor.predict_scores(frame[features])
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, scores)
    return ScoredTask(task, label, features, classes, predictor, scores, from_cache)


@dataclass(frozen=True)
class Workload:
    """The large dataset, the Adult training split and the three scored tasks."""

    frame: pd.DataFrame
    train: pd.DataFrame
    binary: ScoredTask
    multiclass: ScoredTask
    regression: ScoredTask

    @property
    def positive_scores(self) -> np.ndarray:
        """The binary model's score of ``>50K``."""
        return self.binary.scores[:, self.binary.classes.index(ADULT_POSITIVE)]

    @property
    def y_true(self) -> np.ndarray:
        """Whether each row's income is ``>50K``."""
        return (self.frame[ADULT_LABEL] == ADULT_POSITIVE).to_numpy()

    def excluded(self, task: ScoredTask) -> tuple[str, ...]:
        """Columns left out of a task's distance: those its model does not see."""
        return tuple(name for name in self.frame.columns if name not in task.features)
