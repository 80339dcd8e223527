"""Tests for analysis.models: loading model files and computing scores."""

from __future__ import annotations

import io
import os
import pickle
import tempfile
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from analysis.models import (
    ModelError,
    Predictor,
    check_columns,
    load_model,
    load_model_bytes,
    make_predictor,
)

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402


class DoublingTransformer(TransformerMixin, BaseEstimator):
    """A custom class, which the skops upload allowlist must reject."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) * 2


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 80
    return pd.DataFrame(
        {
            "age": rng.integers(18, 70, n).astype(float),
            "colour": rng.choice(["red", "green", "blue"], n),
            "hours": rng.normal(40, 8, n),
            "income": rng.choice(["no", "yes"], n),
        }
    )


def fit_pipeline(frame: pd.DataFrame) -> Pipeline:
    encoder = ColumnTransformer(
        [
            ("categories", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
            ("numbers", StandardScaler(), ["age", "hours"]),
        ]
    )
    features = frame[["age", "colour", "hours"]]
    return make_pipeline(encoder, LogisticRegression()).fit(features, frame["income"])


def dense_model(n_inputs: int, units: int, activation: str | None) -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((n_inputs,)),
            keras.layers.Dense(5, activation="relu"),
            keras.layers.Dense(units, activation=activation),
        ]
    )


def numeric_frame(n_rows: int, n_columns: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(n_rows, n_columns))
    return pd.DataFrame(values, columns=[f"x{i}" for i in range(n_columns)])


# scikit-learn and skops


def test_skops_pipeline_round_trip(frame, tmp_path):
    pipeline = fit_pipeline(frame)
    path = tmp_path / "model.skops"
    skops.io.dump(pipeline, path)

    loaded = load_model(path)
    predictor = make_predictor(loaded)

    expected = pipeline.predict_proba(frame[["age", "colour", "hours"]])
    np.testing.assert_allclose(predictor.predict_scores(frame), expected)
    assert predictor.task == "binary"
    assert predictor.feature_names == ["age", "colour", "hours"]


def test_string_classes_from_classes_attribute(frame):
    predictor = make_predictor(fit_pipeline(frame))

    assert predictor.classes == ["no", "yes"]
    scores = predictor.predict_scores(frame)
    labels = predictor.predict_labels(scores, threshold=0.5)
    expected = np.where(scores[:, 1] >= 0.5, "yes", "no")
    np.testing.assert_array_equal(labels, expected)


def test_columns_passed_by_name_without_label(frame):
    pipeline = fit_pipeline(frame)
    predictor = make_predictor(pipeline)
    shuffled = frame[["income", "hours", "colour", "age"]].assign(extra=1)

    scores = predictor.predict_scores(shuffled)

    expected = pipeline.predict_proba(frame[["age", "colour", "hours"]])
    np.testing.assert_allclose(scores, expected)


def test_batches_and_progress(frame):
    predictor = make_predictor(fit_pipeline(frame))
    fractions: list[float] = []

    batched = predictor.predict_scores(frame, batch_size=30, progress=fractions.append)

    np.testing.assert_allclose(batched, predictor.predict_scores(frame))
    assert fractions == pytest.approx([30 / 80, 60 / 80, 1.0])


def test_empty_frame_gives_empty_scores(frame):
    predictor = make_predictor(fit_pipeline(frame))

    scores = predictor.predict_scores(frame.iloc[:0])

    assert scores.shape == (0, 2)


def test_multiclass_sklearn(frame):
    model = LogisticRegression().fit(frame[["age", "hours"]], frame["colour"])
    predictor = make_predictor(model)

    scores = predictor.predict_scores(frame)

    assert predictor.task == "multiclass"
    assert predictor.classes == ["blue", "green", "red"]
    np.testing.assert_allclose(scores, model.predict_proba(frame[["age", "hours"]]))
    labels = predictor.predict_labels(scores)
    np.testing.assert_array_equal(labels, model.predict(frame[["age", "hours"]]))


def test_regression_sklearn(frame):
    model = LinearRegression().fit(frame[["age"]], frame["hours"])
    predictor = make_predictor(model)

    scores = predictor.predict_scores(frame)

    assert predictor.task == "regression"
    assert predictor.classes is None
    assert scores.shape == (len(frame),)
    np.testing.assert_allclose(scores, model.predict(frame[["age"]]))


def test_model_fitted_on_array_gets_columns_by_position(frame):
    features = frame[["age", "hours"]].to_numpy()
    model = LogisticRegression().fit(features, frame["income"])
    predictor = make_predictor(model)

    scores = predictor.predict_scores(frame[["age", "hours", "income"]], label="income")

    assert predictor.feature_names is None
    np.testing.assert_allclose(scores, model.predict_proba(features))


def test_classifier_without_predict_proba(frame):
    model = SVC().fit(frame[["age", "hours"]], frame["income"])

    with pytest.raises(ModelError, match="probability=True"):
        make_predictor(model)


def test_object_without_predict():
    with pytest.raises(ModelError, match="no predict method"):
        make_predictor(object())


def test_binary_task_needs_two_classes(frame):
    model = LogisticRegression().fit(frame[["age", "hours"]], frame["colour"])

    with pytest.raises(ModelError, match="needs a model with 2 classes"):
        make_predictor(model, task="binary")


def test_task_override_rejects_unknown_task(frame):
    with pytest.raises(ModelError, match="unknown task"):
        make_predictor(fit_pipeline(frame), task="ranking")


# check_columns


def test_check_columns_lists_missing_columns(frame):
    predictor = make_predictor(fit_pipeline(frame))

    with pytest.raises(ModelError) as excinfo:
        check_columns(frame.drop(columns=["age", "hours"]), predictor, label="income")

    message = str(excinfo.value)
    assert "missing 2 column(s)" in message
    assert "age, hours" in message


def test_check_columns_accepts_complete_frame(frame):
    predictor = make_predictor(fit_pipeline(frame))

    check_columns(frame, predictor, label="income")


def test_check_columns_rejects_label_as_feature(frame):
    predictor = make_predictor(fit_pipeline(frame))

    with pytest.raises(ModelError, match="label column 'age'"):
        check_columns(frame, predictor, label="age")


def test_predict_scores_checks_columns(frame):
    predictor = make_predictor(fit_pipeline(frame))

    with pytest.raises(ModelError, match="colour"):
        predictor.predict_scores(frame.drop(columns=["colour"]))


def test_check_columns_keras_width_lists_extra_columns():
    predictor = make_predictor(dense_model(3, 1, "sigmoid"))
    data = numeric_frame(4, 5).assign(label=1)

    with pytest.raises(ModelError) as excinfo:
        check_columns(data, predictor, label="label")

    message = str(excinfo.value)
    assert "expects 3 input columns" in message
    assert "has 5" in message
    assert "past the first 3 are: x3, x4" in message


def test_check_columns_keras_text_column():
    predictor = make_predictor(dense_model(2, 1, "sigmoid"))
    data = pd.DataFrame({"x0": [1.0, 2.0], "word": ["a", "b"]})

    with pytest.raises(ModelError, match="word are not numeric"):
        check_columns(data, predictor)


# Keras


def test_keras_sigmoid_output_gives_two_columns(tmp_path):
    model = dense_model(3, 1, "sigmoid")
    path = tmp_path / "model.keras"
    model.save(path)
    data = numeric_frame(50, 3)

    predictor = make_predictor(load_model(path))
    scores = predictor.predict_scores(data)

    expected = model.predict(data.to_numpy(dtype=np.float32), verbose=0)[:, 0]
    assert predictor.task == "binary"
    assert predictor.classes == [0, 1]
    assert scores.shape == (50, 2)
    np.testing.assert_allclose(scores[:, 1], expected, rtol=1e-6)
    np.testing.assert_allclose(scores[:, 0], 1 - expected, rtol=1e-6)


def test_keras_softmax_output(tmp_path):
    model = dense_model(4, 3, "softmax")
    path = tmp_path / "model.keras"
    model.save(path)
    data = numeric_frame(20, 4)

    predictor = make_predictor(load_model(path))
    scores = predictor.predict_scores(data)

    expected = model.predict(data.to_numpy(dtype=np.float32), verbose=0)
    assert predictor.task == "multiclass"
    assert predictor.classes == [0, 1, 2]
    assert scores.shape == (20, 3)
    np.testing.assert_allclose(scores, expected, rtol=1e-6)


def test_keras_two_unit_softmax_is_binary():
    predictor = make_predictor(dense_model(2, 2, "softmax"))

    assert predictor.task == "binary"
    assert predictor.classes == [0, 1]


def test_keras_regression_is_squeezed(tmp_path):
    model = dense_model(3, 1, None)
    path = tmp_path / "model.keras"
    model.save(path)
    data = numeric_frame(10, 3)

    predictor = make_predictor(load_model(path))
    scores = predictor.predict_scores(data)

    expected = model.predict(data.to_numpy(dtype=np.float32), verbose=0)
    assert predictor.task == "regression"
    assert scores.shape == (10,)
    np.testing.assert_allclose(scores, expected[:, 0], rtol=1e-6)


def test_keras_legacy_h5_file(tmp_path):
    model = dense_model(3, 1, "sigmoid")
    path = tmp_path / "model.h5"
    model.save(path)
    data = numeric_frame(5, 3)

    scores = make_predictor(load_model(path)).predict_scores(data)

    expected = model.predict(data.to_numpy(dtype=np.float32), verbose=0)[:, 0]
    np.testing.assert_allclose(scores[:, 1], expected, rtol=1e-6)


def test_keras_with_preprocessor(frame):
    preprocessor = ColumnTransformer(
        [
            ("categories", OneHotEncoder(sparse_output=True), ["colour"]),
            ("numbers", StandardScaler(), ["age", "hours"]),
        ]
    ).fit(frame[["age", "colour", "hours"]])
    model = dense_model(5, 1, "sigmoid")

    predictor = make_predictor(model, preprocessor=preprocessor)
    scores = predictor.predict_scores(frame)

    encoded = np.asarray(preprocessor.transform(frame), dtype=np.float32)
    expected = model.predict(encoded, verbose=0)[:, 0]
    assert predictor.feature_names == ["age", "colour", "hours"]
    np.testing.assert_allclose(scores[:, 1], expected, rtol=1e-6)


def test_keras_wide_output_without_softmax_needs_task():
    model = dense_model(2, 3, None)

    with pytest.raises(ModelError, match="task='multiclass'"):
        make_predictor(model)
    assert make_predictor(model, task="multiclass").classes == [0, 1, 2]


# file handling and safety


def test_pickle_rejected_without_allow_pickle(frame, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(fit_pipeline(frame), path)

    with pytest.raises(ModelError) as excinfo:
        load_model(path)

    message = str(excinfo.value)
    assert "can run arbitrary code" in message
    assert "RUNLENS_ALLOW_PICKLE=1" in message
    assert "allow_pickle = true" in message
    assert 'skops.io.dump(model, "model.skops")' in message


def test_pickle_loaded_with_allow_pickle(frame, tmp_path):
    pipeline = fit_pipeline(frame)
    path = tmp_path / "model.pkl"
    joblib.dump(pipeline, path)

    loaded = load_model(path, allow_pickle=True)

    np.testing.assert_allclose(
        make_predictor(loaded).predict_scores(frame),
        pipeline.predict_proba(frame[["age", "colour", "hours"]]),
    )


def test_pickle_upload_rejected_before_loading(frame):
    data = pickle.dumps(fit_pipeline(frame))

    with pytest.raises(ModelError, match="RUNLENS_ALLOW_PICKLE"):
        load_model_bytes(data, "model.pickle")


@pytest.mark.parametrize("filename", ["model.txt", "model", "model.onnx"])
def test_unknown_suffix(tmp_path, filename):
    path = tmp_path / filename
    path.write_bytes(b"data")

    with pytest.raises(ModelError) as excinfo:
        load_model(path)

    message = str(excinfo.value)
    assert "unsupported file type" in message
    assert ".skops, .keras, .h5, .joblib, .pkl, .pickle" in message


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "absent.skops")


def skops_bytes_without_schema() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", "{}")
    return buffer.getvalue()


def keras_bytes_without_config() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", "{}")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("model.skops", b"not a model at all", "ZIP header"),
        ("model.skops", b"", "is empty"),
        ("model.skops", skops_bytes_without_schema(), "failed to load"),
        ("model.keras", b"\x00\x01\x02garbage", "ZIP header"),
        ("model.keras", keras_bytes_without_config(), "failed to load"),
        ("model.h5", b"garbage bytes", "HDF5 signature"),
        ("model.skops", pickle.dumps({"a": 1}), "its content is a pickle"),
    ],
)
def test_corrupt_upload_raises_model_error(filename, data, reason):
    with pytest.raises(ModelError) as excinfo:
        load_model_bytes(data, filename)

    message = str(excinfo.value)
    assert reason in message
    assert repr(filename) in message


def test_truncated_skops_file(frame):
    data = skops.io.dumps(fit_pipeline(frame))

    with pytest.raises(ModelError, match="'model.skops' is not a valid .skops file"):
        load_model_bytes(data[: len(data) // 2], "model.skops")


def test_corrupt_pickle_with_allow_pickle(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(b"\x80\x04garbage")

    with pytest.raises(ModelError, match="failed to load 'model.pkl'"):
        load_model(path, allow_pickle=True)


def test_upload_uses_only_suffix_and_removes_temp_file(frame, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    pipeline = fit_pipeline(frame)
    data = skops.io.dumps(pipeline)

    loaded = load_model_bytes(data, "../../elsewhere/model.SKOPS")

    np.testing.assert_allclose(
        make_predictor(loaded).predict_scores(frame),
        pipeline.predict_proba(frame[["age", "colour", "hours"]]),
    )
    assert list(tmp_path.iterdir()) == []


def test_temp_file_removed_after_failed_upload(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    with pytest.raises(ModelError):
        load_model_bytes(skops_bytes_without_schema(), "model.skops")

    assert list(tmp_path.iterdir()) == []


def test_skops_custom_type_rejected(frame, tmp_path):
    model = make_pipeline(DoublingTransformer(), LogisticRegression())
    model.fit(frame[["age", "hours"]], frame["income"])
    path = tmp_path / "custom.skops"
    skops.io.dump(model, path)

    with pytest.raises(ModelError) as excinfo:
        load_model(path)

    message = str(excinfo.value)
    assert message.startswith("'custom.skops' contains types that are not allowed")
    assert "DoublingTransformer" in message


def test_skops_custom_type_loaded_when_trusted(frame, tmp_path):
    model = make_pipeline(DoublingTransformer(), LogisticRegression())
    model.fit(frame[["age", "hours"]], frame["income"])
    path = tmp_path / "custom.skops"
    skops.io.dump(model, path)

    loaded = load_model(path, trusted=True)

    # The custom first step records no column names, so the model gets every column.
    np.testing.assert_allclose(
        make_predictor(loaded).predict_scores(frame[["age", "hours"]]),
        model.predict_proba(frame[["age", "hours"]]),
    )


def test_skops_stored_function_rejected(frame):
    # numpy.clip is a plain function, which FunctionTransformer would call with
    # arguments from the file, so only a trusted load accepts it.
    model = make_pipeline(
        FunctionTransformer(np.clip, kw_args={"a_min": 0, "a_max": 1})
    )
    model.fit(frame[["age", "hours"]])
    data = skops.io.dumps(model)

    with pytest.raises(ModelError, match="numpy.clip"):
        load_model_bytes(data, "model.skops")


def test_skops_tree_model_types_accepted(frame):
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(n_estimators=3, random_state=0)
    model.fit(frame[["age", "hours"]], frame["income"])
    data = skops.io.dumps(model)
    assert skops.io.get_untrusted_types(data=data) == ["sklearn.tree._tree.Tree"]

    loaded = load_model_bytes(data, "forest.skops")

    np.testing.assert_allclose(
        make_predictor(loaded).predict_scores(frame),
        model.predict_proba(frame[["age", "hours"]]),
    )


def test_predict_labels_rejects_regression(frame):
    model = LinearRegression().fit(frame[["age"]], frame["hours"])
    predictor = make_predictor(model)

    assert isinstance(predictor, Predictor)
    with pytest.raises(ValueError, match="needs a classification model"):
        predictor.predict_labels(np.zeros((1, 2)))


@pytest.mark.parametrize("suffix", [".skops", ".keras"])
def test_archive_that_unpacks_too_far_rejected(tmp_path, suffix):
    import zipfile

    path = tmp_path / f"bomb{suffix}"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", b"0" * 50_000_000)
    with pytest.raises(ModelError, match="unpacks to 50,000,000 bytes"):
        load_model(path)


def test_upload_accepts_categorical_gradient_boosting(tmp_path):
    from sklearn.ensemble import HistGradientBoostingClassifier

    frame = pd.DataFrame(
        {
            "colour": pd.Categorical(["red", "blue", "green", "red"] * 10),
            "size": np.arange(40, dtype=float),
        }
    )
    target = np.arange(40) % 2
    model = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=5
    ).fit(frame, target)
    path = tmp_path / "hgb.skops"
    skops.io.dump(model, path)

    loaded = load_model(path)
    np.testing.assert_array_equal(
        loaded.predict_proba(frame), model.predict_proba(frame)
    )
