"""The Adult demo script: tracked runs, their metrics, histories and artifacts."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

import tracking
from analysis.data import load_adult
from tracking.artifacts import artifact_files, read_dataset

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_adult.py"
PROJECT = "adult-income"
METRICS = ("test_accuracy", "test_f1", "test_roc_auc", "test_log_loss")

# Quick mode: logistic regression, two gradient boosting configurations, the MLP.
QUICK_RUN_GROUPS = [
    "logistic-regression",
    "gradient-boosting",
    "gradient-boosting",
    "keras-mlp",
]


@dataclass
class Demo:
    """The outcome of one quick demo, shared by the tests of this module."""

    module: ModuleType
    store: tracking.RunStore
    run_ids: list[str]
    progress: list[tuple[float, str]]
    store_env_before: str | None
    store_env_after: str | None

    def runs_in_group(self, group: str) -> list[str]:
        runs = self.store.runs(PROJECT)
        return runs.loc[runs["group"] == group, "run_id"].tolist()


def load_example() -> ModuleType:
    """Import the script by path, as the app does."""
    spec = importlib.util.spec_from_file_location("train_adult_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def train_adult() -> ModuleType:
    return load_example()


@pytest.fixture(scope="module")
def demo(train_adult, tmp_path_factory) -> Demo:
    location = tmp_path_factory.mktemp("demo") / "store"
    progress: list[tuple[float, str]] = []
    before = os.environ.get("RUNLENS_STORE")

    run_ids = train_adult.train_demo(
        quick=True,
        store=location,
        progress=lambda fraction, message: progress.append((fraction, message)),
    )

    return Demo(
        module=train_adult,
        store=tracking.open_store(location),
        run_ids=run_ids,
        progress=progress,
        store_env_before=before,
        store_env_after=os.environ.get("RUNLENS_STORE"),
    )


def artifact_manifest(store: tracking.RunStore, run_id: str, name: str) -> dict:
    table = store.artifacts(PROJECT, run_id)
    rows = table[table["name"] == name]
    assert len(rows) == 1, f"run {run_id} has {len(rows)} artifacts named {name!r}"
    return rows.iloc[0]["manifest"]


def load_skops(path: Path) -> Any:
    return skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))


def load_sklearn_model(store: tracking.RunStore, run_id: str) -> Any:
    files = artifact_files(store, artifact_manifest(store, run_id, "model"))
    return load_skops(files["model.skops"])


def load_test_dataset(store: tracking.RunStore, run_id: str) -> pd.DataFrame:
    return read_dataset(store, artifact_manifest(store, run_id, "adult-test"))


def test_quick_demo_run_ids(demo):
    runs = demo.store.runs(PROJECT)

    assert len(demo.run_ids) == 4
    assert runs["run_id"].tolist() == demo.run_ids
    assert runs["group"].tolist() == QUICK_RUN_GROUPS


def test_quick_demo_runs_finished(demo):
    runs = demo.store.runs(PROJECT)

    assert runs["state"].tolist() == ["finished"] * 4
    assert runs["exit_code"].tolist() == [0] * 4


def test_quick_demo_summary_metrics(demo):
    for run_id in demo.run_ids:
        summary = demo.store.run(PROJECT, run_id)["summary"]
        for key in METRICS:
            assert key in summary, f"run {run_id} summary lacks {key}"
        assert 0.0 <= summary["test_accuracy"] <= 1.0
        assert 0.0 <= summary["test_f1"] <= 1.0
        assert 0.5 < summary["test_roc_auc"] <= 1.0
        assert summary["test_log_loss"] > 0.0


def test_quick_demo_configs(demo):
    runs = demo.store.runs(PROJECT).set_index("run_id")
    logistic = runs.loc[demo.runs_in_group("logistic-regression")[0]]
    boosting = runs.loc[demo.runs_in_group("gradient-boosting")]

    assert logistic["config.C"] == 1.0
    assert logistic["config.max_iter"] == 1000
    assert logistic["config.train_rows"] == 4000
    assert boosting["config.learning_rate"].tolist() == [0.1, 0.05]
    assert boosting["config.max_leaf_nodes"].tolist() == [31, 15]
    assert boosting["config.early_stopping"].tolist() == [True, True]


@pytest.mark.parametrize("group", ["logistic-regression", "gradient-boosting"])
def test_stored_sklearn_model_reproduces_summary(demo, group):
    run_id = demo.runs_in_group(group)[0]
    summary = demo.store.run(PROJECT, run_id)["summary"]
    model = load_sklearn_model(demo.store, run_id)
    test = load_test_dataset(demo.store, run_id)
    features = test.drop(columns="income")
    y_true = test["income"] == ">50K"

    predicted = model.predict(features)
    score = model.predict_proba(features)[:, list(model.classes_).index(">50K")]

    assert accuracy_score(test["income"], predicted) == pytest.approx(
        summary["test_accuracy"], abs=1e-12
    )
    assert f1_score(test["income"], predicted, pos_label=">50K") == pytest.approx(
        summary["test_f1"], abs=1e-12
    )
    assert roc_auc_score(y_true, score) == pytest.approx(
        summary["test_roc_auc"], abs=1e-12
    )
    assert log_loss(y_true, score) == pytest.approx(summary["test_log_loss"], abs=1e-12)


def test_stored_keras_model_reproduces_summary(demo):
    import keras

    run_id = demo.runs_in_group("keras-mlp")[0]
    summary = demo.store.run(PROJECT, run_id)["summary"]
    files = artifact_files(demo.store, artifact_manifest(demo.store, run_id, "model"))
    model = keras.saving.load_model(files["model.keras"])
    preprocessor = load_skops(files["preprocessor.skops"])
    test = load_test_dataset(demo.store, run_id)
    y_true = test["income"] == ">50K"

    inputs = preprocessor.transform(test.drop(columns="income")).astype(np.float32)
    score = model.predict(inputs, verbose=0)[:, 0].astype(np.float64)

    assert accuracy_score(y_true, score >= 0.5) == pytest.approx(
        summary["test_accuracy"], abs=1e-12
    )
    assert roc_auc_score(y_true, score) == pytest.approx(
        summary["test_roc_auc"], abs=1e-9
    )


def test_dataset_artifact_is_test_split(demo):
    expected = load_adult("test")

    for run_id in demo.run_ids:
        manifest = artifact_manifest(demo.store, run_id, "adult-test")
        assert manifest["label"] == "income"
        assert manifest["rows"] == len(expected)
        pd.testing.assert_frame_equal(load_test_dataset(demo.store, run_id), expected)


def test_keras_history_per_epoch(demo):
    run_id = demo.runs_in_group("keras-mlp")[0]
    history = demo.store.history(PROJECT, [run_id])
    epochs = list(range(demo.module.QUICK_MLP_EPOCHS))

    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        steps = history.loc[history["key"] == key, "step"].tolist()
        assert steps == epochs, f"{key} logged at steps {steps}"


def test_gradient_boosting_history_per_iteration(demo):
    for run_id in demo.runs_in_group("gradient-boosting"):
        classifier = load_sklearn_model(demo.store, run_id)[-1]
        history = demo.store.history(PROJECT, [run_id]).sort_values("step")
        val_loss = history[history["key"] == "val_loss"]
        train_loss = history[history["key"] == "train_loss"]

        # Entry 0 of the score arrays is the model before the first iteration.
        iterations = list(range(classifier.n_iter_ + 1))
        assert val_loss["step"].tolist() == iterations
        assert train_loss["step"].tolist() == iterations
        np.testing.assert_allclose(
            val_loss["value"], -classifier.validation_score_, rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(
            train_loss["value"], -classifier.train_score_, rtol=0, atol=1e-12
        )


def test_gradient_boosting_quick_accuracy(demo):
    for run_id in demo.runs_in_group("gradient-boosting"):
        summary = demo.store.run(PROJECT, run_id)["summary"]
        assert summary["test_accuracy"] > 0.80


def test_progress_called_between_runs(demo):
    fractions = [fraction for fraction, _ in demo.progress]
    messages = [message for _, message in demo.progress]

    assert fractions == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert messages[0] == "Training logistic regression"
    assert messages[-1] == "Stored 4 runs in project 'adult-income'"


def test_store_variable_restored(demo):
    assert demo.store_env_after == demo.store_env_before


def test_failing_run_marked_failed(train_adult, tmp_path, monkeypatch):
    def fail() -> None:
        raise RuntimeError("preprocessor failed")

    monkeypatch.setattr(train_adult, "one_hot_preprocessor", fail)
    location = tmp_path / "store"

    with pytest.raises(RuntimeError, match="preprocessor failed"):
        train_adult.train_demo(quick=True, store=location)

    runs = tracking.open_store(location).runs(PROJECT)
    assert runs["state"].tolist() == ["failed"]
    assert runs["exit_code"].tolist() == [1]


@pytest.mark.parametrize("store_location", ["postgresql"], indirect=True)
def test_quick_demo_on_postgresql(train_adult, store_location):
    run_ids = train_adult.train_demo(quick=True, store=store_location)

    store = tracking.open_store(store_location)
    runs = store.runs(PROJECT)
    assert runs["run_id"].tolist() == run_ids
    assert runs["state"].tolist() == ["finished"] * 4

    run_id = run_ids[0]
    model = load_sklearn_model(store, run_id)
    test = load_test_dataset(store, run_id)
    accuracy = accuracy_score(
        test["income"], model.predict(test.drop(columns="income"))
    )
    summary = store.run(PROJECT, run_id)["summary"]
    assert accuracy == pytest.approx(summary["test_accuracy"], abs=1e-12)
