"""The digits CNN run on the What-If pages: thumbnails and per-digit slices."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, precision_score, recall_score

import tracking
from analysis.sources import load_run_dataset, load_run_model
from tests.app.helpers import metric_values, open_page
from tests.app.whatif_helpers import DATAPOINTS, PERFORMANCE, WHATIF, table_with_column


def _run(location: str):
    """Return the CNN's predicted digits and the test images of the stored run."""
    store = tracking.open_store(location)
    artifacts = store.artifacts("digits").set_index("type")
    predictor = load_run_model(store, artifacts.loc["model", "manifest"])
    frame = load_run_dataset(store, artifacts.loc["dataset", "manifest"])
    predicted = predictor.predict_scores(frame, label="digit").argmax(axis=1)
    return frame, predicted


def test_thumbnails_show_cnn_predictions(digits_env):
    """Check the explorer's and the editor's images and their captions."""
    frame, predicted = _run(digits_env)
    app = open_page(DATAPOINTS)
    assert not app.exception
    assert [error.value for error in app.error] == []

    captions = app.image[0].captions
    assert len(captions) == 24
    for caption in captions:
        row = int(caption.split(":")[0].removeprefix("row "))
        assert caption == f"row {row}: {predicted[row]}"

    app.switch_page(WHATIF).run()
    assert not app.exception
    assert app.image[0].captions == ["row 0 in the dataset", "row 0 as edited"]
    assert metric_values(app)["Edited prediction"] == str(predicted[0])

    # The picture comes before the pixel inputs, which sit in an expander.
    pixels = [e for e in app.expander if e.label == "Edit the 64 pixel values"]
    assert len(pixels) == 1
    assert len(pixels[0].number_input) == 64
    order = list(_walk(app.main))
    first_pixel = pixels[0].number_input[0]
    image_at = next(i for i, node in enumerate(order) if node is app.image[0])
    pixel_at = next(i for i, node in enumerate(order) if node is first_pixel)
    assert image_at < pixel_at


def _walk(node):
    """Yield the elements under ``node`` in page order."""
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _walk(child)


def test_metrics_per_digit_match_sklearn(digits_env):
    """Check per-digit slices and per-class metrics against scikit-learn."""
    frame, predicted = _run(digits_env)
    actual = frame["digit"].to_numpy()
    recall = recall_score(actual, predicted, average=None, labels=range(10))
    precision = precision_score(actual, predicted, average=None, labels=range(10))

    app = open_page(PERFORMANCE)
    app.selectbox(key="wi_slice_feature").set_value("digit").run()
    assert not app.exception
    slices = table_with_column(app, "slice", "accuracy", "macro_f1").set_index("slice")
    # The label is not bucketed, so each digit is a slice at the default 4 buckets.
    assert list(slices.index[1:]) == [str(digit) for digit in range(10)]
    for digit in range(10):
        assert slices.loc[str(digit), "count"] == (actual == digit).sum()
        assert slices.loc[str(digit), "accuracy"] == pytest.approx(recall[digit])

    classes = table_with_column(app, "class", "precision", "recall").set_index("class")
    for digit in range(10):
        assert classes.loc[str(digit), "precision"] == pytest.approx(precision[digit])
        assert classes.loc[str(digit), "recall"] == pytest.approx(recall[digit])
    assert metric_values(app)["Accuracy"] == f"{np.mean(predicted == actual):.3f}"


def test_confusion_matrix_square_with_rounded_shares(digits_env):
    """Check the 10 by 10 matrix chart and its table's rounded percentages."""
    frame, predicted = _run(digits_env)
    actual = frame["digit"].to_numpy()
    app = open_page(PERFORMANCE)
    assert not app.exception

    charts = [json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart")]
    (matrix,) = [spec for spec in charts if spec.get("title") == "Confusion matrix"]
    assert (matrix["width"], matrix["height"]) == (600, 600)
    assert matrix["config"]["axisX"]["labelAngle"] == 0

    table = table_with_column(app, "actual", "predicted", "row_percent")
    counts = confusion_matrix(actual, predicted, labels=range(10))
    shares = 100 * counts / counts.sum(axis=1, keepdims=True)
    assert table["count"].tolist() == counts.ravel().tolist()
    assert table["row_percent"].tolist() == np.round(shares, 1).ravel().tolist()
    assert (
        table["percent"].tolist()
        == np.round(100 * counts / counts.sum(), 1).ravel().tolist()
    )
