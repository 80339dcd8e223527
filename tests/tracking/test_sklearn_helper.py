"""The scikit-learn helper: classifier metrics, confusion matrix and ROC tables."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestCentroid

import tracking
from tracking.media import load_media
from tracking.sklearn import log_classifier, plot_classifier


class FixedClassifier:
    """A fitted binary classifier with fixed outputs, for hand-computed checks."""

    classes_ = np.array([0, 1])

    def predict(self, X):
        return np.array([0, 1, 1, 1])

    def predict_proba(self, X):
        positive = np.array([0.1, 0.6, 0.65, 0.8])
        return np.column_stack([1 - positive, positive])


def _tables(run):
    store = tracking.open_store()
    media = store.media(run.project, run.id)
    return {
        row.key: load_media(store.artifact_root, row.pointer).get_dataframe()
        for row in media.itertuples()
    }


def test_binary_metrics_hand_computed(store_location):
    run = tracking.init(project="sk")
    result = log_classifier(run, FixedClassifier(), np.zeros((4, 1)), [0, 0, 1, 1])
    run.finish()

    expected = {
        "accuracy": 0.75,
        "precision": 2 / 3,
        "recall": 1.0,
        "f1": 0.8,
        "roc_auc": 1.0,
    }
    assert result == pytest.approx(expected)
    summary = tracking.open_store().run("sk", run.id)["summary"]
    assert {key: summary[key] for key in expected} == pytest.approx(expected)

    tables = _tables(run)
    confusion = tables["confusion_matrix"]
    assert confusion.values.tolist() == [[0, 0, 1], [0, 1, 1], [1, 0, 0], [1, 1, 2]]
    roc = tables["roc_curve"]
    fpr, tpr, _ = roc_curve([0, 0, 1, 1], [0.1, 0.6, 0.65, 0.8])
    assert roc["class"].unique().tolist() == [1]
    assert roc["fpr"].tolist() == pytest.approx(fpr.tolist())
    assert roc["tpr"].tolist() == pytest.approx(tpr.tolist())


def test_multiclass_matches_sklearn(store_location):
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.4, random_state=0, stratify=y
    )
    model = LogisticRegression(max_iter=200, C=0.05).fit(X_train, y_train)
    names = ["setosa", "versicolor", "virginica"]
    run = tracking.init(project="sk")
    result = log_classifier(run, model, X_test, y_test, labels=names, prefix="test_")
    run.finish()

    y_pred = model.predict(X_test)
    proba = model.predict_proba(X_test)
    assert result["accuracy"] == pytest.approx(accuracy_score(y_test, y_pred))
    for name, metric in (
        ("precision", precision_score),
        ("recall", recall_score),
        ("f1", f1_score),
    ):
        reference = metric(y_test, y_pred, average="weighted")
        assert result[name] == pytest.approx(reference), name
    assert result["roc_auc"] == pytest.approx(
        roc_auc_score(y_test, proba, multi_class="ovr", average="weighted")
    )
    summary = tracking.open_store().run("sk", run.id)["summary"]
    assert summary["test_accuracy"] == pytest.approx(result["accuracy"])

    tables = _tables(run)
    confusion = tables["test_confusion_matrix"].pivot(
        index="Actual", columns="Predicted", values="nPredictions"
    )
    reference = confusion_matrix(y_test, y_pred)
    assert confusion.loc[names, names].values.tolist() == reference.tolist()
    roc = tables["test_roc_curve"]
    assert roc["class"].unique().tolist() == names
    for index, name in enumerate(names):
        fpr, tpr, _ = roc_curve(y_test == index, proba[:, index])
        curve = roc[roc["class"] == name]
        assert curve["fpr"].tolist() == pytest.approx(fpr.tolist())
        assert curve["tpr"].tolist() == pytest.approx(tpr.tolist())


def test_labels_must_match_classes(sqlite_store):
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=300).fit(X, y)
    run = tracking.init(project="sk")
    with pytest.raises(ValueError, match="2 names for 3 classes"):
        log_classifier(run, model, X, y, labels=["a", "b"])
    run.finish()


def test_model_without_scores_skips_roc(sqlite_store, caplog):
    X = np.array([[0.0], [0.1], [1.0], [1.1]])
    y = np.array([0, 0, 1, 1])
    model = NearestCentroid().fit(X, y)
    if hasattr(model, "predict_proba") or hasattr(model, "decision_function"):
        model = _PredictOnly(model)
    run = tracking.init(project="sk")
    result = log_classifier(run, model, X, y)
    run.finish()
    assert "roc_auc" not in result
    assert result["accuracy"] == 1.0
    assert "no ROC curve" in caplog.text
    assert list(_tables(run)) == ["confusion_matrix"]


class _PredictOnly:
    def __init__(self, model):
        self._model = model
        self.classes_ = model.classes_

    def predict(self, X):
        return self._model.predict(X)


def test_plot_classifier_wandb_signature(sqlite_store):
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=300).fit(X, y)
    run = tracking.init(project="sk")
    result = tracking.sklearn.plot_classifier(
        model,
        X,
        X,
        y,
        y,
        model.predict(X),
        model.predict_proba(X),
        ["a", "b", "c"],
        model_name="lr",
    )
    assert run.summary["accuracy"] == pytest.approx(result["accuracy"])
    run.finish()
    with pytest.raises(tracking.UsageError, match="before sklearn.plot_classifier"):
        plot_classifier(model, X, X, y, y)
