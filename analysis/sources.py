"""Models and datasets to analyse, opened from a run's artifacts."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.data import DataError
from analysis.models import ModelError, Predictor, load_model, make_predictor
from tracking import RunStore
from tracking.artifacts import artifact_files, read_dataset

logger = logging.getLogger(__name__)


def load_run_model(store: RunStore, manifest: Mapping[str, Any]) -> Predictor:
    """Load a model artifact of the user's own store into a :class:`Predictor`.

    The store is the user's own, so its skops files are loaded as trusted:
    scikit-learn pipelines legitimately contain functions that the stricter
    upload check rejects. Keras models get their stored preprocessor and the
    class names recorded at logging time.
    """
    files = artifact_files(store, manifest)
    model_files = [name for name in files if name.startswith("model.")]
    if not model_files:
        raise ModelError(f"the artifact contains no model file, only {sorted(files)}")
    model = load_model(files[model_files[0]], allow_pickle=True, trusted=True)

    preprocessor = None
    if "preprocessor.skops" in files:
        preprocessor = load_model(files["preprocessor.skops"], trusted=True)

    predictor = make_predictor(model, preprocessor=preprocessor)
    classes = manifest.get("metadata", {}).get("classes")
    if classes is not None and predictor.classes is not None:
        predictor.classes = _checked_classes(classes, predictor.classes)
    return predictor


def _checked_classes(named: Sequence[Any], found: Sequence[Any]) -> list[Any]:
    if len(named) != len(found):
        raise ModelError(
            f"the artifact names {len(named)} classes ({list(named)}) but the "
            f"model scores {len(found)}"
        )
    return list(named)


def load_run_dataset(store: RunStore, manifest: Mapping[str, Any]) -> pd.DataFrame:
    """Load a dataset artifact of the user's own store.

    Raises ``DataError`` when the stored file is unreadable.
    """
    try:
        return read_dataset(store, manifest)
    except (OSError, ValueError) as exc:
        # pyarrow's ArrowInvalid is a ValueError.
        raise DataError(
            f"the stored dataset could not be read ({exc}); the artifacts folder "
            "may be damaged. Log the dataset again from its run."
        ) from exc


def positive_index(classes: Sequence[Any], positive: Any) -> int:
    """Return the score column of the positive class.

    Matches ``positive`` against the model's classes, also across types (the
    label ``1`` matches the class ``"1"``). Raises ``ModelError`` when no class
    matches.
    """
    for index, value in enumerate(classes):
        if value == positive or str(value) == str(positive):
            return index
    raise ModelError(
        f"the positive class {positive!r} is not one of the model's classes "
        f"{list(classes)}; pick one of those"
    )


def label_values(frame: pd.DataFrame, label: str) -> list[Any]:
    """Return the distinct non-missing values of the label column, sorted."""
    values = frame[label].dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def actual_positive(frame: pd.DataFrame, label: str, positive: Any) -> np.ndarray:
    """Return whether each row's label is the positive class (missing is not)."""
    column = frame[label]
    matches = column == positive
    if not matches.any():
        matches = column.astype(str) == str(positive)
    return matches.fillna(False).to_numpy(dtype=bool)
