"""The W&B tutorial program runs unchanged on Runlens and stores what W&B would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tracking

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "wandb_tutorial.py"
PROJECT = "tutorial"
EPOCHS = 2


def test_source_is_written_as_wandb_teaches():
    source = EXAMPLE.read_text()
    assert re.search(r"^import tracking as wandb\b", source, flags=re.MULTILINE)
    assert re.search(
        r"^from tracking.integration.keras import WandbCallback\b",
        source,
        flags=re.MULTILINE,
    )
    assert not re.search(r"^import wandb\b", source, flags=re.MULTILINE)
    for pattern in (
        "wandb.init(",
        "config = wandb.config",
        "wandb.log(",
        "wandb.finish()",
        "WandbCallback(monitor=",
        "run.log_artifact(",
        'run.use_artifact("digits:latest")',
    ):
        assert pattern in source, pattern


def _run_tutorial(cwd: Path) -> str:
    """Run the example in a subprocess against the test's store; return stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KERAS_BACKEND": "torch"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--project", PROJECT, "--epochs", str(EPOCHS)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_tutorial_runs_unchanged(store_location, tmp_path):
    stdout = _run_tutorial(tmp_path)
    api = tracking.Api()
    runs = api.runs(PROJECT)
    assert {run.state for run in runs} == {"finished"}
    upload = [run for run in runs if run.job_type == "upload-data"]
    by_tag = {run.tags[0]: run for run in runs if run.tags}
    assert len(upload) == 1
    assert sorted(by_tag) == ["keras", "linear"]
    assert stdout.count(": val_loss ") == 2

    _check_dataset(api, upload[0], by_tag.values())
    _check_linear_run(by_tag["linear"])
    _check_keras_run(api, by_tag["keras"])


def _check_dataset(api, upload, training_runs):
    data = api.artifact(f"{PROJECT}/digits:latest", type="dataset")
    assert data.version == "v0"
    assert data.logged_by == upload.id
    assert data.metadata == {"rows": 1797, "classes": 10}
    for run in training_runs:
        assert [artifact.name for artifact in run.used_artifacts()] == ["digits:v0"]


def _check_linear_run(run):
    assert run.config == {"learning_rate": 0.01, "alpha": 1e-4, "epochs": EPOCHS}
    history = run.history(keys=["epoch", "val_loss"])
    assert history["epoch"].tolist() == list(range(EPOCHS))
    assert run.summary["val_loss"] == {"min": history["val_loss"].min()}
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert 0.5 < run.summary[key] <= 1.0, key

    media = run.media()
    assert set(media["key"]) == {"weights", "example", "confusion_matrix", "roc_curve"}
    assert run.summary["example"]["caption"].startswith("digit ")


def _check_keras_run(api, run):
    history = run.history(keys=["epoch", "val_loss", "accuracy"])
    assert history["epoch"].tolist() == list(range(EPOCHS))
    best = history["val_loss"].idxmin()
    assert run.summary["best_val_loss"] == pytest.approx(history["val_loss"].min())
    assert run.summary["best_epoch"] == history["epoch"].iloc[best]
    assert 0.0 < run.summary["test_accuracy"] <= 1.0

    model = api.artifact(f"{PROJECT}/model-{run.name}:best", type="model")
    assert model.logged_by == run.id
    assert model.metadata["epoch"] == run.summary["best_epoch"]
    assert [entry.path for entry in model.files()] == ["model-best.keras"]
