"""Tests for analysis.registry: predict functions registered in code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.models import ModelError, Predictor
from analysis.registry import (
    register_model,
    registered_model,
    registered_model_names,
    unregister_model,
)


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [0.0, 1.0, 2.0, 3.0],
            "colour": ["red", "blue", "red", "blue"],
            "label": ["no", "no", "yes", "yes"],
        }
    )


@pytest.fixture
def names():
    """Names registered by a test, removed afterwards."""
    registered: list[str] = []
    yield registered
    for name in registered:
        unregister_model(name)


def test_binary_positive_score_function(frame, names):
    names.append("step")
    predictor = register_model(
        "step",
        lambda f: (f["x"] >= 2).to_numpy(float) * 0.8 + 0.1,
        task="binary",
        classes=["no", "yes"],
        feature_names=["x"],
    )
    scores = predictor.predict_scores(frame, label="label")

    assert isinstance(predictor, Predictor)
    np.testing.assert_allclose(scores[:, 1], [0.1, 0.1, 0.9, 0.9])
    np.testing.assert_allclose(scores[:, 0], [0.9, 0.9, 0.1, 0.1])
    assert predictor.predict_labels(scores).tolist() == ["no", "no", "yes", "yes"]


def test_function_receives_only_named_columns(frame, names):
    received = []

    def predict(batch: pd.DataFrame) -> np.ndarray:
        received.append(list(batch.columns))
        return np.zeros(len(batch))

    names.append("columns")
    predictor = register_model(
        "columns", predict, task="regression", feature_names=["colour", "x"]
    )
    predictor.predict_scores(frame)
    assert received == [["colour", "x"]]


def test_without_feature_names_gets_frame_minus_label(frame, names):
    received = []

    def predict(batch):
        received.append(batch)
        return np.zeros(len(batch))

    names.append("no-names")
    predictor = register_model("no-names", predict, task="regression")
    predictor.predict_scores(frame, label="label")

    assert isinstance(received[0], pd.DataFrame)
    assert list(received[0].columns) == ["x", "colour"]


def test_multiclass_probabilities(frame, names):
    names.append("three")
    probabilities = np.array(
        [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.3, 0.3, 0.4]]
    )
    predictor = register_model(
        "three",
        lambda f: probabilities[: len(f)],
        task="multiclass",
        classes=["a", "b", "c"],
        feature_names=["x"],
    )
    scores = predictor.predict_scores(frame)
    np.testing.assert_allclose(scores, probabilities)
    assert predictor.predict_labels(scores).tolist() == ["a", "b", "c", "c"]


def test_batches_are_passed_separately(frame, names):
    sizes = []

    def predict(batch):
        sizes.append(len(batch))
        return batch["x"].to_numpy()

    names.append("batched")
    predictor = register_model("batched", predict, task="regression")
    result = predictor.predict_scores(frame, batch_size=3, label="label")

    assert sizes == [3, 1]
    np.testing.assert_allclose(result, frame["x"])


def test_torch_module_output(frame, names):
    import torch

    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.Sigmoid())

    def predict(batch):
        inputs = torch.tensor(batch[["x"]].to_numpy(), dtype=torch.float32)
        return network(inputs)

    names.append("torch")
    predictor = register_model(
        "torch", predict, task="binary", classes=[0, 1], feature_names=["x"]
    )
    scores = predictor.predict_scores(frame)

    with torch.no_grad():
        inputs = torch.tensor(frame[["x"]].to_numpy(), dtype=torch.float32)
        expected = network(inputs).numpy()[:, 0]
    np.testing.assert_allclose(scores[:, 1], expected, rtol=1e-6)


# the registry


def test_lookup_list_and_replace(names):
    names.extend(["first", "second"])
    register_model("second", lambda f: np.zeros(len(f)), task="regression")
    original = register_model("first", lambda f: np.zeros(len(f)), task="regression")
    replacement = register_model("first", lambda f: np.ones(len(f)), task="regression")

    assert registered_model("first") is replacement
    assert registered_model("first") is not original
    assert {"first", "second"} <= set(registered_model_names())


def test_unknown_name_lists_registered(names):
    names.append("known")
    register_model("known", lambda f: np.zeros(len(f)), task="regression")
    with pytest.raises(
        ModelError, match="no model is registered as 'missing'.*'known'"
    ):
        registered_model("missing")


def test_unregister_removes(names):
    register_model("temporary", lambda f: np.zeros(len(f)), task="regression")
    unregister_model("temporary")
    unregister_model("temporary")
    assert "temporary" not in registered_model_names()


# invalid registrations and outputs


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "ranking"}, "unknown task 'ranking'"),
        ({"task": "binary"}, "needs classes"),
        ({"task": "binary", "classes": [0, 1, 2]}, "needs 2 classes"),
        ({"task": "multiclass", "classes": ["a", "a", "b"]}, "repeat a label"),
        ({"task": "regression", "classes": [0, 1]}, "do not pass classes"),
    ],
)
def test_invalid_registration_rejected(kwargs, message):
    with pytest.raises(ModelError, match=message):
        register_model("invalid", lambda f: f, **kwargs)
    assert "invalid" not in registered_model_names()


def test_non_callable_rejected():
    with pytest.raises(ModelError, match="must be callable"):
        register_model("bad", "predict", task="regression")
    with pytest.raises(ModelError, match="non-empty name"):
        register_model(" ", lambda f: f, task="regression")


def test_wrong_length_output_rejected(frame, names):
    names.append("short")
    predictor = register_model("short", lambda f: np.zeros(2), task="regression")
    with pytest.raises(ModelError, match="returned shape \\(2,\\) for 4 rows"):
        predictor.predict_scores(frame, label="label")


def test_text_output_rejected(frame, names):
    names.append("text")
    predictor = register_model(
        "text", lambda f: ["a"] * len(f), task="binary", classes=[0, 1]
    )
    with pytest.raises(ModelError, match="non-numeric"):
        predictor.predict_scores(frame, label="label")


def test_margins_rejected_for_classifier(frame, names):
    names.append("margins")
    predictor = register_model(
        "margins", lambda f: f["x"].to_numpy() - 1.5, task="binary", classes=[0, 1]
    )
    with pytest.raises(ModelError, match="outside \\[0, 1\\].*sigmoid"):
        predictor.predict_scores(frame, label="label")


def test_wrong_score_width_rejected(frame, names):
    names.append("width")
    predictor = register_model(
        "width",
        lambda f: np.full((len(f), 3), 1 / 3),
        task="binary",
        classes=[0, 1],
    )
    with pytest.raises(ModelError, match="3 score column"):
        predictor.predict_scores(frame, label="label")
