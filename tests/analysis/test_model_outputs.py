"""Tests for analysis.model_outputs against scikit-learn and row-by-row references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from analysis.model_outputs import (
    correct_predictions,
    encode_labels,
    model_outputs,
)
from analysis.models import make_predictor

TEXT = pd.StringDtype(na_value=np.nan)


def reference_correct(predictions, labels) -> list:
    """Row by row: None for a missing label, else whether the texts are equal."""
    return [
        None if pd.isna(label) else str(prediction) == str(label)
        for prediction, label in zip(predictions, labels, strict=True)
    ]


def as_list(correct) -> list:
    return [None if value is pd.NA else bool(value) for value in correct]


@pytest.fixture
def binary():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = np.where(x[:, 0] + rng.normal(size=400) > 0, "yes", "no")
    frame = pd.DataFrame(x, columns=["a", "b"])
    model = LogisticRegression().fit(frame, y)
    frame["bought"] = pd.Series(y, dtype=TEXT)
    frame.loc[[3, 50, 399], "bought"] = np.nan
    return model, make_predictor(model), frame


def test_binary_prediction_matches_sklearn(binary):
    model, predictor, frame = binary
    scores = predictor.predict_scores(frame[["a", "b"]])

    outputs = model_outputs(predictor, scores, truth=frame["bought"])

    proba = model.predict_proba(frame[["a", "b"]])
    assert outputs["prediction"].tolist() == model.predict(frame[["a", "b"]]).tolist()
    np.testing.assert_allclose(outputs["score"], proba[:, 1])
    assert list(outputs["prediction"].categories) == ["no", "yes"]
    expected = reference_correct(outputs["prediction"], frame["bought"])
    assert as_list(outputs["correct"]) == expected


def test_binary_per_row_thresholds_and_positive_class(binary):
    _, predictor, frame = binary
    scores = predictor.predict_scores(frame[["a", "b"]])
    thresholds = np.linspace(0.1, 0.9, len(frame))

    outputs = model_outputs(
        predictor, scores, truth=frame["bought"], threshold=thresholds, pos_label="no"
    )

    expected = np.where(scores[:, 0] >= thresholds, "no", "yes")
    assert outputs["prediction"].tolist() == expected.tolist()
    np.testing.assert_array_equal(outputs["score"], scores[:, 0])
    assert as_list(outputs["correct"]) == reference_correct(expected, frame["bought"])


def test_encoded_labels_reused(binary):
    _, predictor, frame = binary
    scores = predictor.predict_scores(frame[["a", "b"]])
    labels = encode_labels(frame["bought"], predictor.classes)

    for threshold in (0.2, 0.5, 0.8):
        reused = model_outputs(
            predictor, scores, truth=frame["bought"], threshold=threshold, labels=labels
        )
        fresh = model_outputs(
            predictor, scores, truth=frame["bought"], threshold=threshold
        )
        assert as_list(reused["correct"]) == as_list(fresh["correct"])


def test_multiclass_prediction_is_argmax():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 3))
    y = np.array(["cat", "dog", "eel"])[np.argmax(x + rng.normal(size=x.shape), 1)]
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    model = LogisticRegression().fit(frame, y)
    predictor = make_predictor(model)
    truth = pd.Series(y, dtype=object)
    truth[[0, 7]] = None
    scores = predictor.predict_scores(frame)

    outputs = model_outputs(predictor, scores, truth=truth)

    assert outputs["prediction"].tolist() == model.predict(frame).tolist()
    np.testing.assert_allclose(outputs["score"], model.predict_proba(frame).max(1))
    assert as_list(outputs["correct"]) == reference_correct(model.predict(frame), truth)


def test_numeric_classes_against_text_labels():
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0]})
    predictor = make_predictor(LogisticRegression().fit(frame, [0, 0, 1, 1, 1]))
    scores = predictor.predict_scores(frame)
    truth = pd.Series(["0", "1", "1", None, "2"], dtype=TEXT)

    outputs = model_outputs(predictor, scores, truth=truth)

    # "2" is no class, so it is never correct.
    predicted = outputs["prediction"].tolist()
    assert as_list(outputs["correct"]) == reference_correct(predicted, truth)
    assert as_list(outputs["correct"])[4] is False


def test_categorical_label_of_prediction_dtype_compared_directly():
    classes = ["no", "yes"]
    predictor = make_predictor(
        LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), classes * 2)
    )
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    truth = pd.Series(
        pd.Categorical(["no", "no", None, "yes"], categories=pd.Index(classes, object))
    )

    outputs = model_outputs(predictor, scores, truth=truth)

    assert as_list(outputs["correct"]) == [True, False, None, True]


def test_all_labels_missing():
    predictor = make_predictor(
        LogisticRegression().fit(np.array([[0.0], [1.0]]), ["a", "b"])
    )
    truth = pd.Series([None, None, None], dtype=object)

    outputs = model_outputs(predictor, np.full((3, 2), 0.5), truth=truth)

    assert as_list(outputs["correct"]) == [None, None, None]


def test_regression_error():
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 4.0]})
    predictor = make_predictor(LinearRegression().fit(frame, [0.0, 1.5, 2.0, 3.0]))
    scores = predictor.predict_scores(frame)
    truth = pd.Series([0.0, np.nan, 2.0, 3.0])

    outputs = model_outputs(predictor, scores, truth=truth)

    np.testing.assert_array_equal(outputs["prediction"], scores)
    np.testing.assert_allclose(outputs["error"], scores - truth.to_numpy())
    np.testing.assert_allclose(
        outputs["absolute_error"], np.abs(scores - truth.to_numpy())
    )
    assert "correct" not in outputs


def test_without_label_no_correct(binary):
    _, predictor, frame = binary

    outputs = model_outputs(predictor, predictor.predict_scores(frame[["a", "b"]]))

    assert list(outputs) == ["prediction", "score"]


def test_correct_predictions_length_checked(binary):
    _, predictor, frame = binary
    labels = encode_labels(frame["bought"], predictor.classes)

    with pytest.raises(ValueError, match="predictions but 400 labels"):
        correct_predictions(labels, np.zeros(3, dtype=np.int8))
