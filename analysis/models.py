"""Load saved models and compute their predictions on a DataFrame.

Supported files are scikit-learn estimators saved with skops (``.skops``), Keras 3
models (``.keras`` and legacy ``.h5``) and, only when the caller allows it, pickle
files written by joblib or pickle (``.joblib``, ``.pkl``, ``.pickle``). Loading a
pickle runs whatever code the file contains, so uploads of pickle files are off by
default.

A loaded model is wrapped in a :class:`Predictor`, which stores the task, the class
labels and the input columns, and returns scores in one layout for every library.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

TASKS = ("binary", "multiclass", "regression")

# Model file suffixes and the loader that reads each one.
MODEL_SUFFIXES = {
    ".skops": "skops",
    ".keras": "keras",
    ".h5": "keras",
    ".joblib": "pickle",
    ".pkl": "pickle",
    ".pickle": "pickle",
}

# Top-level packages whose classes an uploaded skops file may contain.
TRUSTED_MODULE_ROOTS = frozenset({"sklearn", "numpy", "scipy"})

# Rows per Keras forward pass inside one batch of predict_scores.
KERAS_BATCH_SIZE = 8192

# Exceptions that the loaders raise on a truncated, corrupt or incompatible file.
# Catching these (and not every Exception) keeps programming errors visible.
_MALFORMED_FILE_ERRORS = (
    OSError,
    EOFError,
    zipfile.BadZipFile,
    pickle.UnpicklingError,
    KeyError,
    IndexError,
    ValueError,
    TypeError,
    AttributeError,
    ImportError,
)

_ZIP_SIGNATURE = b"PK\x03\x04"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# HDF5 files start with the signature at byte 0 unless they have a user block, in
# which case it sits at byte 512, 1024, 2048, ...
_HDF5_SIGNATURE_OFFSETS = (0, 512, 1024, 2048)
_PICKLE_PROTOCOL_BYTE = 0x80

_PICKLE_REJECTED = (
    "{name} is a pickle file, and loading a pickle file can run arbitrary code. "
    "Uploads of pickle files (.joblib, .pkl, .pickle) are off unless the operator "
    "sets the environment variable RUNLENS_ALLOW_PICKLE=1 (or the Streamlit secret "
    "allow_pickle = true). Save the model with skops instead: "
    'skops.io.dump(model, "model.skops").'
)


class ModelError(ValueError):
    """A model file or model that Runlens cannot load or use.

    The message is written for the user: it names the file, value or column and gives
    the next step.
    """


# --------------------------------------------------------------------------------------
# Loading


def load_model(
    path: str | os.PathLike[str],
    *,
    allow_pickle: bool = False,
    trusted: bool = False,
) -> Any:
    """Load a model file, choosing the loader by the file's suffix.

    Parameters
    ----------
    path : str or path-like
        A ``.skops``, ``.keras``, ``.h5``, ``.joblib``, ``.pkl`` or ``.pickle`` file.
    allow_pickle : bool, default False
        Load pickle files with :func:`joblib.load`. Only set this for files the
        operator trusts, because unpickling runs code stored in the file.
    trusted : bool, default False
        Accept every type that a ``.skops`` file names, as for the user's own model
        store. When False, only classes and numpy ufuncs from the sklearn, numpy
        and scipy packages are accepted.

    Returns
    -------
    object
        The loaded estimator or Keras model.

    Raises
    ------
    ModelError
        If the suffix is not supported, the file is missing, malformed or contains
        untrusted types, or it is a pickle file and ``allow_pickle`` is False.
    """
    path = Path(path)
    return _load_file(path, path.name, allow_pickle=allow_pickle, trusted=trusted)


def load_model_bytes(data: bytes, filename: str, *, allow_pickle: bool = False) -> Any:
    """Load an uploaded model from its bytes.

    Only the suffix of ``filename`` is used, to pick the loader, and its base name
    appears in error messages. The bytes go to a temporary file that is deleted after
    loading. Types in a ``.skops`` upload are checked as in ``load_model`` with
    ``trusted=False``.

    Parameters
    ----------
    data : bytes
        Contents of the uploaded file.
    filename : str
        Name of the file as the client sent it. It is never used as a path.
    allow_pickle : bool, default False
        Load pickle files, see :func:`load_model`.

    Returns
    -------
    object
        The loaded estimator or Keras model.

    Raises
    ------
    ModelError
        As :func:`load_model`.
    """
    display_name = PurePath(filename).name or "upload"
    suffix = PurePath(display_name).suffix.lower()
    _loader_for_suffix(suffix, display_name)
    if MODEL_SUFFIXES[suffix] == "pickle" and not allow_pickle:
        raise ModelError(_PICKLE_REJECTED.format(name=repr(display_name)))

    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as handle:
        handle.write(data)
        temp_path = Path(handle.name)
    try:
        return _load_file(
            temp_path, display_name, allow_pickle=allow_pickle, trusted=False
        )
    finally:
        temp_path.unlink(missing_ok=True)


def _loader_for_suffix(suffix: str, display_name: str) -> str:
    loader = MODEL_SUFFIXES.get(suffix)
    if loader is None:
        accepted = ", ".join(MODEL_SUFFIXES)
        raise ModelError(
            f"cannot load {display_name!r}: unsupported file type "
            f"{suffix or '(no suffix)'!r}. Accepted suffixes: {accepted}."
        )
    return loader


def _load_file(path: Path, display_name: str, *, allow_pickle: bool, trusted: bool):
    loader = _loader_for_suffix(path.suffix.lower(), display_name)
    if loader == "pickle" and not allow_pickle:
        raise ModelError(_PICKLE_REJECTED.format(name=repr(display_name)))
    if not path.is_file():
        raise ModelError(f"model file not found: {str(path)!r}")

    _check_file_signature(path, display_name, path.suffix.lower())

    try:
        if loader == "skops":
            return _load_skops(path, display_name, trusted=trusted)
        if loader == "keras":
            return _load_keras(path)
        import joblib

        return joblib.load(path)
    except ModelError:
        # ModelError is a ValueError, so without this clause the next one would
        # wrap the loaders' own messages.
        raise
    except _MALFORMED_FILE_ERRORS as exc:
        logger.warning("Failed to load model %s", display_name, exc_info=True)
        raise ModelError(
            f"failed to load {display_name!r} as a {path.suffix} model: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


# Limits on what a model archive may unpack to, checked from its ZIP directory
# before any member is read. NOTE: sized for models of up to a few hundred MB;
# raise them for larger models.
MAX_UNPACKED_BYTES = 2 * 1024**3
MAX_COMPRESSION_RATIO = 200


def _check_archive_size(path: Path, display_name: str, suffix: str) -> None:
    """Raise ModelError for a ZIP whose members would unpack to too much data."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(
            f"{display_name!r} is not a valid {suffix} file ({exc}); it may be "
            "truncated. Save or upload the model again."
        ) from exc

    unpacked = sum(member.file_size for member in members)
    packed = max(sum(member.compress_size for member in members), 1)
    if unpacked > MAX_UNPACKED_BYTES or unpacked / packed > MAX_COMPRESSION_RATIO:
        raise ModelError(
            f"{display_name!r} unpacks to {unpacked:,} bytes from {packed:,} "
            f"(limit {MAX_UNPACKED_BYTES:,} bytes and a ratio of "
            f"{MAX_COMPRESSION_RATIO}); it is not a model this page will load"
        )


def _check_file_signature(path: Path, display_name: str, suffix: str) -> None:
    """Raise ModelError when the first bytes do not match the format of the suffix."""
    with path.open("rb") as handle:
        head = handle.read(max(_HDF5_SIGNATURE_OFFSETS) + len(_HDF5_SIGNATURE))

    if not head:
        raise ModelError(f"{display_name!r} is empty.")
    is_pickle_suffix = MODEL_SUFFIXES[suffix] == "pickle"
    if head[0] == _PICKLE_PROTOCOL_BYTE and not is_pickle_suffix:
        raise ModelError(
            f"{display_name!r} is not a valid {suffix} file: its content is a pickle. "
            "Save the model with skops (.skops) or Keras (.keras) instead."
        )
    if suffix in (".skops", ".keras") and not head.startswith(_ZIP_SIGNATURE):
        raise ModelError(
            f"{display_name!r} is not a valid {suffix} file: a {suffix} file is a "
            "ZIP archive, and this file does not start with a ZIP header."
        )
    if suffix in (".skops", ".keras"):
        _check_archive_size(path, display_name, suffix)
    if suffix == ".h5" and not any(
        head[offset : offset + len(_HDF5_SIGNATURE)] == _HDF5_SIGNATURE
        for offset in _HDF5_SIGNATURE_OFFSETS
    ):
        raise ModelError(
            f"{display_name!r} is not a valid .h5 file: the HDF5 signature is missing."
        )


def _load_skops(path: Path, display_name: str, *, trusted: bool) -> Any:
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=path)
    if not trusted:
        rejected = [name for name in untrusted if not _is_allowed_skops_type(name)]
        if rejected:
            raise ModelError(
                f"{display_name!r} contains types that are not allowed in an "
                f"uploaded model: {', '.join(rejected)}. Only classes and numpy "
                "ufuncs from sklearn, numpy and scipy are accepted, because other "
                "classes and any stored function can run code when the model is "
                "used. Save the model without custom classes or functions, or open "
                "it from your own model store."
            )
    return skops.io.load(path, trusted=untrusted)


# Functions that scikit-learn's own estimators store and that do nothing but
# validate or wrap: HistGradientBoosting with categorical features keeps a
# FunctionTransformer(partial(check_array, ...)). skops lists the target of a
# partial separately, so allowing partial itself lets no other function in.
ALLOWED_SKOPS_FUNCTIONS = frozenset(
    {"functools.partial", "sklearn.utils.validation.check_array"}
)


def _is_allowed_skops_type(name: str) -> bool:
    """Return whether a type name from a skops file passes the upload allowlist.

    The name must be in a package of TRUSTED_MODULE_ROOTS and resolve to a class or
    a numpy ufunc. Plain functions are not allowed even from those packages, because
    an estimator such as FunctionTransformer calls them at predict time with
    arguments that the file chooses.
    """
    if name in ALLOWED_SKOPS_FUNCTIONS:
        return True
    if name.split(".", 1)[0] not in TRUSTED_MODULE_ROOTS:
        return False
    resolved = _resolve_qualified_name(name)
    return isinstance(resolved, type | np.ufunc)


def _resolve_qualified_name(name: str) -> Any:
    """Import the object a dotted name refers to, or return None if there is none."""
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            resolved = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            resolved = getattr(resolved, attribute, None)
            if resolved is None:
                return None
        return resolved
    return None


def _load_keras(path: Path) -> Any:
    import keras

    return keras.saving.load_model(path, safe_mode=True, compile=False)


# --------------------------------------------------------------------------------------
# Prediction


@dataclass(kw_only=True)
class Predictor:
    """A model together with what Runlens needs to call it on a DataFrame.

    Attributes
    ----------
    model : object
        A fitted scikit-learn estimator or a Keras model.
    task : {"binary", "multiclass", "regression"}
        The prediction task.
    classes : list or None
        Class labels in the column order of the scores. None for regression.
    feature_names : list of str or None
        Input columns in the order the model expects. None when the model was fitted
        without column names. The model then receives every column except the
        label, in the frame's order.
    n_features : int or None
        Number of input values per row that the model (or the preprocessor) expects,
        when known.
    preprocessor : object or None
        A fitted scikit-learn transformer applied to the input columns before the
        model, for Keras models trained on encoded features.
    frame_input : bool
        Pass the model a DataFrame even without feature names, as registered
        predict functions expect. Otherwise such a model receives an array.
    """

    model: Any
    task: str
    classes: list[Any] | None
    feature_names: list[str] | None = None
    n_features: int | None = None
    preprocessor: Any = None
    is_keras: bool = field(default=False, repr=False)
    frame_input: bool = field(default=False, repr=False)

    def predict_scores(
        self,
        frame: pd.DataFrame,
        batch_size: int = 65536,
        progress: Callable[[float], object] | None = None,
        *,
        label: str | None = None,
    ) -> np.ndarray:
        """Compute class probabilities or regression predictions for every row.

        Parameters
        ----------
        frame : pandas.DataFrame
            Data containing the input columns. Other columns are ignored when the
            model has feature names.
        batch_size : int, default 65536
            Rows passed to the model per call.
        progress : callable, optional
            Called with the fraction of rows done (0 to 1) after each batch.
        label : str, optional
            Label column to leave out when the model has no feature names.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, n_classes)`` of float probabilities for classification, in
            the order of ``classes``, or ``(n,)`` of predictions for regression.

        Raises
        ------
        ModelError
            If columns are missing or the model's output has an unexpected shape.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        check_columns(frame, self, label=label)
        inputs = self._input_frame(frame, label)

        batches = []
        n_rows = len(inputs)
        for start in range(0, n_rows, batch_size):
            stop = min(start + batch_size, n_rows)
            batch = inputs.iloc[start:stop]
            try:
                batches.append(self._predict_batch(batch))
            except ModelError:
                raise
            except (ValueError, TypeError) as exc:
                raise ModelError(_prediction_failure(batch, exc)) from exc
            if progress is not None:
                progress(stop / n_rows)

        if not batches:
            width = () if self.task == "regression" else (len(self.classes or ()),)
            return np.empty((0, *width), dtype=float)
        return np.concatenate(batches)

    def predict_labels(
        self, scores: np.ndarray, threshold: float = 0.5, pos_index: int = 1
    ) -> np.ndarray:
        """Turn scores from ``predict_scores`` into predicted class labels.

        Binary: the positive class (``classes[pos_index]``) when its score is at
        least ``threshold``, else the other class. Multiclass: the class with the
        highest score, the first one on ties. ``threshold`` is ignored there.

        Parameters
        ----------
        scores : numpy.ndarray
            Output of :meth:`predict_scores`, shape ``(n, n_classes)``.
        threshold : float, default 0.5
            Decision threshold on the positive class score.
        pos_index : int, default 1
            Column of the positive class in ``scores``.

        Returns
        -------
        numpy.ndarray
            Shape ``(n,)`` of labels taken from ``classes``.
        """
        if self.task == "regression" or self.classes is None:
            raise ValueError("predict_labels needs a classification model")
        scores = np.asarray(scores)
        classes = np.asarray(self.classes)
        if scores.ndim != 2 or scores.shape[1] != len(classes):
            raise ValueError(
                f"scores must have shape (n, {len(classes)}), got {scores.shape}"
            )

        if self.task == "multiclass":
            return classes[np.argmax(scores, axis=1)]
        if pos_index not in (0, 1):
            raise ValueError(f"pos_index must be 0 or 1, got {pos_index}")
        is_positive = scores[:, pos_index] >= threshold
        return np.where(is_positive, classes[pos_index], classes[1 - pos_index])

    def _input_frame(self, frame: pd.DataFrame, label: str | None) -> pd.DataFrame:
        if self.feature_names is not None:
            return frame.loc[:, self.feature_names]
        return frame.drop(columns=[label]) if label in frame.columns else frame

    def _predict_batch(self, batch: pd.DataFrame) -> np.ndarray:
        inputs: Any = batch
        if self.preprocessor is not None:
            inputs = self.preprocessor.transform(batch)
        elif self.feature_names is None and not (self.is_keras or self.frame_input):
            # A model fitted on an array warns when it receives column names.
            inputs = batch.to_numpy()

        if self.is_keras:
            raw = self._predict_keras(inputs)
        elif self.task == "regression":
            raw = self.model.predict(inputs)
        else:
            raw = self.model.predict_proba(inputs)
        return self._standardize_output(np.asarray(raw, dtype=float))

    def _predict_keras(self, inputs: Any) -> np.ndarray:
        if hasattr(inputs, "toarray"):
            inputs = inputs.toarray()
        if isinstance(inputs, pd.DataFrame):
            text_columns = _non_numeric_columns(inputs)
            if text_columns:
                raise ModelError(_keras_text_columns_message(text_columns))
            inputs = inputs.to_numpy(dtype=np.float32, na_value=np.nan)
        inputs = np.asarray(inputs, dtype=np.float32)
        return self.model.predict(
            inputs, batch_size=min(KERAS_BATCH_SIZE, len(inputs)), verbose=0
        )

    def _standardize_output(self, raw: np.ndarray) -> np.ndarray:
        if self.task == "regression":
            if raw.ndim == 2 and raw.shape[1] == 1:
                raw = raw[:, 0]
            if raw.ndim != 1:
                raise ModelError(
                    f"a regression model must return one value per row, but it "
                    f"returned an array of shape {raw.shape}"
                )
            return raw

        if raw.ndim == 1:
            raw = raw[:, np.newaxis]
        if raw.shape[1] == 1 and len(self.classes or ()) == 2:
            # A single sigmoid output is the score of class 1.
            raw = np.column_stack([1.0 - raw[:, 0], raw[:, 0]])
        if raw.shape[1] != len(self.classes or ()):
            raise ModelError(
                f"the model returned {raw.shape[1]} score column(s) but has "
                f"{len(self.classes or ())} classes: {self.classes}"
            )
        return raw


def make_predictor(
    model: Any,
    *,
    preprocessor: Any = None,
    task: str | None = None,
    feature_names: Sequence[str] | None = None,
) -> Predictor:
    """Wrap a loaded model in a :class:`Predictor`, detecting its task.

    scikit-learn: a model with ``classes_`` is a classifier and must have
    ``predict_proba``. Two classes make it binary, more make it multiclass. A model
    without ``classes_`` is a regressor. Keras: a single output unit with a sigmoid
    activation is binary with classes ``[0, 1]``, a softmax over ``k`` units has
    classes ``0 .. k-1`` (binary when ``k`` is 2), and a single unit with any other
    activation is a regressor.

    Parameters
    ----------
    model : object
        A fitted scikit-learn estimator or a Keras model.
    preprocessor : object, optional
        A fitted scikit-learn transformer to apply to the input columns first.
    task : {"binary", "multiclass", "regression"}, optional
        Overrides the detected task.
    feature_names : sequence of str, optional
        Input columns, for a model that does not store them. By default they come
        from ``feature_names_in_`` of the preprocessor or the model.

    Returns
    -------
    Predictor

    Raises
    ------
    ModelError
        If the object is not a usable model or the task cannot be detected.
    """
    if task is not None and task not in TASKS:
        raise ModelError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")

    if _is_keras_model(model):
        detected_task, classes, n_features = _describe_keras_model(model, task)
    else:
        detected_task, classes, n_features = _describe_sklearn_model(model, task)

    if preprocessor is not None:
        n_features = _n_features_in(preprocessor)
    names = feature_names
    if names is None:
        names = _feature_names_in(preprocessor if preprocessor is not None else model)
    if names is not None:
        names = [str(name) for name in names]
        n_features = len(names)

    final_task = task or detected_task
    if final_task == "binary" and len(classes or ()) != 2:
        raise ModelError(
            f"task 'binary' needs a model with 2 classes, but this one has "
            f"{len(classes or ())}: {classes}. Pass task='multiclass'."
        )

    return Predictor(
        model=model,
        task=final_task,
        classes=None if final_task == "regression" else classes,
        feature_names=names,
        n_features=n_features,
        preprocessor=preprocessor,
        is_keras=_is_keras_model(model),
    )


def _is_keras_model(model: Any) -> bool:
    return type(model).__module__.split(".", 1)[0] == "keras"


def _feature_names_in(estimator: Any) -> list[str] | None:
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else [str(name) for name in names]


def _n_features_in(estimator: Any) -> int | None:
    count = getattr(estimator, "n_features_in_", None)
    return None if count is None else int(count)


def _describe_sklearn_model(
    model: Any, task: str | None
) -> tuple[str, list[Any] | None, int | None]:
    if not hasattr(model, "predict"):
        raise ModelError(
            f"an object of type {type(model).__name__} is not a model: it has no "
            "predict method"
        )
    n_features = _n_features_in(model)

    if task == "regression" or (task is None and not hasattr(model, "classes_")):
        return "regression", None, n_features

    if not hasattr(model, "classes_"):
        raise ModelError(
            f"task {task!r} needs a classifier, but {type(model).__name__} has no "
            "classes_ attribute"
        )
    if not hasattr(model, "predict_proba"):
        raise ModelError(
            f"{type(model).__name__} has no predict_proba method, and the What-If "
            "analysis needs class probabilities. For SVC set probability=True, or "
            "wrap the model in sklearn.calibration.CalibratedClassifierCV."
        )
    classes = np.asarray(model.classes_).tolist()
    if len(classes) < 2:
        raise ModelError(
            f"the classifier was fitted on a single class ({classes}); it needs at "
            "least two"
        )
    return ("binary" if len(classes) == 2 else "multiclass"), classes, n_features


def _describe_keras_model(
    model: Any, task: str | None
) -> tuple[str, list[Any] | None, int | None]:
    input_shape = model.input_shape
    if isinstance(input_shape, list | dict) or len(input_shape) != 2:
        raise ModelError(
            f"the Keras model expects input of shape {input_shape}; Runlens supports "
            "models with one input of shape (batch, features)"
        )
    output_shape = model.output_shape
    if isinstance(output_shape, list | dict) or len(output_shape) != 2:
        raise ModelError(
            f"the Keras model returns output of shape {output_shape}; Runlens "
            "supports models with one output of shape (batch, units)"
        )
    n_features = input_shape[1]
    n_outputs = output_shape[1]
    activation = _final_activation(model)

    if task == "regression":
        return "regression", None, n_features
    if n_outputs == 1 and (task is not None or activation == "sigmoid"):
        return "binary", [0, 1], n_features
    if n_outputs == 1:
        return "regression", None, n_features
    if task is not None or activation == "softmax":
        return (
            ("binary" if n_outputs == 2 else "multiclass"),
            list(range(n_outputs)),
            n_features,
        )
    raise ModelError(
        f"cannot tell whether the {n_outputs} outputs of the Keras model are class "
        f"probabilities: the last layer's activation is {activation!r}, not "
        "softmax. Pass task='multiclass' or task='binary' if they are."
    )


def _final_activation(model: Any) -> str | None:
    """Return the name of the activation applied by the model's last layer."""
    layer = model.layers[-1] if model.layers else None
    if layer is None:
        return None
    if type(layer).__name__ == "Softmax":
        return "softmax"
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None)


# --------------------------------------------------------------------------------------
# Column checks


def check_columns(
    frame: pd.DataFrame, predictor: Predictor, label: str | None = None
) -> None:
    """Raise ModelError unless ``frame`` contains the inputs the model needs.

    With feature names, every named column must be present and the label must not be
    one of them. Without feature names, the columns other than the label must match
    the model's input width, and for a Keras model without a preprocessor they must
    all be numeric.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data to predict on.
    predictor : Predictor
        The wrapped model.
    label : str, optional
        Name of the label column, which is never passed to the model.

    Raises
    ------
    ModelError
        Naming the missing, extra or non-numeric columns.
    """
    if predictor.feature_names is not None:
        if label is not None and label in predictor.feature_names:
            raise ModelError(
                f"the model uses the label column {label!r} as an input feature; "
                "choose another label column or a model trained without it"
            )
        missing = [name for name in predictor.feature_names if name not in frame]
        if missing:
            raise ModelError(
                f"the data is missing {len(missing)} column(s) that the model needs: "
                f"{', '.join(missing)}. The data has: {', '.join(map(str, frame))}."
            )
        return

    columns = [column for column in frame.columns if column != label]
    width = predictor.n_features
    if width is not None and len(columns) != width:
        message = (
            f"the model expects {width} input columns, but the data has "
            f"{len(columns)} besides the label: {', '.join(map(str, columns))}."
        )
        if len(columns) > width:
            extra = ", ".join(map(str, columns[width:]))
            message += f" The columns past the first {width} are: {extra}."
        raise ModelError(
            message + " Remove the extra columns or supply a fitted preprocessor."
        )

    if predictor.is_keras and predictor.preprocessor is None:
        text_columns = _non_numeric_columns(frame[columns])
        if text_columns:
            raise ModelError(_keras_text_columns_message(text_columns))


def _non_numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [
        str(column)
        for column, dtype in frame.dtypes.items()
        if not pd.api.types.is_numeric_dtype(dtype)
    ]


def _keras_text_columns_message(columns: list[str]) -> str:
    return (
        f"columns {', '.join(columns)} are not numeric, but a Keras model without a "
        "preprocessor needs numbers in every input column. Supply the fitted "
        "preprocessor used in training, or encode these columns first."
    )


def _prediction_failure(batch: pd.DataFrame, exc: Exception) -> str:
    """Describe why the model rejected a batch, naming the columns to fix."""
    problems = []
    for column in batch.columns:
        values = batch[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(
            values
        ):
            numbers = values.to_numpy(dtype=float, na_value=np.nan)
            if np.isnan(numbers).any():
                problems.append(f"{column!r} has missing values")
            if np.isinf(numbers).any():
                problems.append(f"{column!r} has infinite values")
    reason = str(exc).splitlines()[0][:300].rstrip(".")
    message = f"the model could not score the data: {reason}"
    if problems:
        message += ". In the data, " + "; ".join(problems[:10])
        message += ". Fill or drop those values, or use a model that accepts them."
    else:
        message += ". Check that each column has the type the model was trained on."
    return message
