"""The sweep examples: the Adult bayes sweep and the Keras digits grid."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

import tracking
from tracking.sweeps import load_sweep_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _module(name):
    spec = importlib.util.spec_from_file_location(
        f"example_{name}", EXAMPLES / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_adult_sweep_config_valid():
    config = load_sweep_config(EXAMPLES / "sweep_adult.yaml")
    assert config.method == "bayes"
    assert config.metric.name == "cv_roc_auc"
    assert config.metric.maximize
    assert (EXAMPLES.parent / config.program).is_file()
    names = {parameter.name for parameter in config.parameters}
    assert {"learning_rate", "max_leaf_nodes", "l2_regularization"} <= names


def test_adult_trial_logs_cross_validated_scores(sqlite_store):
    example = _module("sweep_adult")
    raw = load_sweep_config(EXAMPLES / "sweep_adult.yaml").raw
    raw["parameters"]["train_rows"] = {"value": 900}
    raw["parameters"]["max_iter"] = {"value": 10}
    sweep_id = tracking.sweep(raw)
    results = tracking.agent(sweep_id, function=example.train, count=1)
    assert results[0].state == "finished", results[0].error

    store = tracking.open_store()
    run = store.run("adult-sweeps", results[0].run_id)
    folds = store.history("adult-sweeps", [run["run_id"]], keys=["roc_auc"])
    assert len(folds) == 3
    assert run["summary"]["cv_roc_auc"] == pytest.approx(folds["value"].mean())
    assert 0.5 < run["summary"]["cv_roc_auc"] <= 1.0
    assert isinstance(run["config"]["max_leaf_nodes"], int)


@pytest.fixture
def one_torch_thread():
    """Run torch on one thread: on a busy 2-core machine two threads spin idle."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_digits_grid_trains_keras_network(sqlite_store, one_torch_thread):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    example = _module("sweep_digits")
    config = example.sweep_config(epochs=2)
    config["parameters"]["layers"]["parameters"]["first"]["values"] = [16]
    sweep_id = tracking.sweep(config, project=example.PROJECT)
    results = tracking.agent(sweep_id, function=example.train)
    assert [r.state for r in results] == ["finished", "finished"]

    runs = tracking.open_store().runs(example.PROJECT).sort_values("created_at")
    assert list(runs["config.layers.second"]) == [0, 32]
    assert list(runs["last_step"]) == [1, 1]
    # 64 inputs -> 16 -> 10, and 64 -> 16 -> 32 -> 10, weights and biases.
    assert list(runs["summary.parameters"]) == [
        64 * 16 + 16 + 16 * 10 + 10,
        64 * 16 + 16 + 16 * 32 + 32 + 32 * 10 + 10,
    ]
    # Better than chance (0.1) after two epochs.
    assert np.all(runs["summary.val_accuracy"] > 0.15)
