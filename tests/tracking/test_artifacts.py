"""Model and dataset artifacts: content addressing and round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression

import tracking
from tracking import StoreError
from tracking.artifacts import artifact_files, blob_path, read_dataset


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(size=50),
            "colour": rng.choice(["red", "blue"], size=50),
            "label": rng.integers(0, 2, size=50),
        }
    )


def test_sklearn_model_round_trip(store_location, frame):
    model = LogisticRegression().fit(frame[["x"]], frame["label"])
    with tracking.init(project="art") as run:
        run.log_model(model, "clf")
    store = tracking.open_store()
    table = store.artifacts("art", run.id)
    assert table["name"].tolist() == ["clf"]
    assert table["format"].tolist() == ["skops"]
    paths = artifact_files(store, table.iloc[0]["manifest"])
    path = paths["model.skops"]
    loaded = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    np.testing.assert_array_equal(
        loaded.predict_proba(frame[["x"]]), model.predict_proba(frame[["x"]])
    )


def test_same_content_stored_once(sqlite_store, frame):
    with tracking.init(project="art") as run:
        run.log_dataset(frame, "data", label="label")
        run.log_dataset(frame, "data-again", label="label")
    store = tracking.open_store()
    table = store.artifacts("art")
    assert table["digest"].nunique() == 1
    blobs = list((store.artifact_root / "blobs").rglob("*.parquet"))
    assert len(blobs) == 1


def test_dataset_round_trip(store_location, frame):
    frame = frame.assign(missing=[None, "a"] * 25, big=np.arange(50) * 10**12)
    with tracking.init(project="art") as run:
        run.log_dataset(frame, "data", label="label")
    store = tracking.open_store()
    row = store.artifacts("art", run.id).iloc[0]
    assert row["manifest"]["label"] == "label"
    assert row["manifest"]["rows"] == 50
    pd.testing.assert_frame_equal(read_dataset(store, row["manifest"]), frame)


def test_dataset_label_must_exist(sqlite_store, frame):
    with tracking.init(project="art") as run:
        with pytest.raises(ValueError, match="'target' is not in the frame"):
            run.log_dataset(frame, "data", label="target")


def test_joblib_format_kept_on_request(sqlite_store, frame):
    model = LogisticRegression().fit(frame[["x"]], frame["label"])
    with tracking.init(project="art") as run:
        run.log_model(model, "clf", format="joblib")
    table = tracking.open_store().artifacts("art")
    assert table["format"].tolist() == ["joblib"]
    assert list(table.iloc[0]["manifest"]["files"]) == ["model.joblib"]


def test_non_model_rejected(sqlite_store):
    with tracking.init(project="art") as run:
        with pytest.raises(TypeError, match="scikit-learn estimators and Keras"):
            run.log_model({"weights": [1, 2]}, "bad")


def test_keras_model_with_preprocessor(sqlite_store, frame):
    import keras
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(frame[["x"]])
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, "sigmoid")])
    with tracking.init(project="art") as run:
        run.log_model(model, "mlp", preprocessor=scaler)
    store = tracking.open_store()
    row = store.artifacts("art").iloc[0]
    assert row["format"] == "keras"
    paths = artifact_files(store, row["manifest"])
    assert sorted(paths) == ["model.keras", "preprocessor.skops"]
    loaded = keras.saving.load_model(paths["model.keras"])
    inputs = scaler.transform(frame[["x"]])
    np.testing.assert_allclose(
        loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0)
    )


def test_tampered_manifest_rejected(tmp_path):
    with pytest.raises(StoreError, match="malformed"):
        blob_path(tmp_path, "../../etc/passwd", ".skops")
    with pytest.raises(StoreError, match="malformed"):
        blob_path(tmp_path, "a" * 64, ".sh")


def test_missing_blob_reported(sqlite_store, frame):
    with tracking.init(project="art") as run:
        run.log_dataset(frame, "data")
    store = tracking.open_store()
    manifest = store.artifacts("art").iloc[0]["manifest"]
    for path in artifact_files(store, manifest).values():
        path.unlink()
    with pytest.raises(StoreError, match="missing"):
        artifact_files(store, manifest)
