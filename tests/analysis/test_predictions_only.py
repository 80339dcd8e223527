"""Tests for analysis.predictions_only: scores read from a CSV with no model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data import read_csv
from analysis.metrics import binary_counts
from analysis.models import ModelError
from analysis.predictions_only import (
    ModelRequiredError,
    PredictionsOnlyPredictor,
    is_predictions_only,
    predictions_only_predictor,
    require_model,
)

CSV = b"""label,age,score,predicted
yes,30,0.9,10.5
no,41,0.2,3.0
no,25,0.6,4.5
yes,52,0.4,9.0
"""


@pytest.fixture
def frame() -> pd.DataFrame:
    return read_csv(CSV, name="predictions.csv")


def test_binary_scores_from_column(frame):
    predictor = predictions_only_predictor(frame, "score", label="label")
    scores = predictor.predict_scores(frame)

    assert predictor.task == "binary"
    assert predictor.classes == ["no", "yes"]
    np.testing.assert_allclose(scores[:, 1], [0.9, 0.2, 0.6, 0.4])
    np.testing.assert_allclose(scores[:, 0], [0.1, 0.8, 0.4, 0.6])
    assert predictor.feature_names == ["age", "predicted"]


def test_binary_labels_and_metrics(frame):
    predictor = predictions_only_predictor(frame, "score", label="label")
    scores = predictor.predict_scores(frame)

    labels = predictor.predict_labels(scores, threshold=0.5)
    assert labels.tolist() == ["yes", "no", "yes", "no"]
    counts = binary_counts(frame["label"], scores[:, 1], 0.5, pos_label="yes")
    assert counts == (1, 1, 1, 1)


def test_positive_class_chosen(frame):
    predictor = predictions_only_predictor(frame, "score", label="label", positive="no")
    assert predictor.classes == ["yes", "no"]


def test_explicit_classes_without_label(frame):
    predictor = predictions_only_predictor(frame, "score", classes=[0, 1])
    assert predictor.classes == [0, 1]


def test_regression_prediction_column(frame):
    predictor = predictions_only_predictor(
        frame, "predicted", task="regression", label="label"
    )
    np.testing.assert_allclose(predictor.predict_scores(frame), [10.5, 3.0, 4.5, 9.0])
    assert predictor.classes is None


def test_multiclass_columns():
    frame = pd.DataFrame(
        {
            "y": ["a", "b", "c"],
            "pa": [0.7, 0.2, 0.1],
            "pb": [0.2, 0.5, 0.1],
            "pc": [0.1, 0.3, 0.8],
        }
    )
    predictor = predictions_only_predictor(
        frame, ["pa", "pb", "pc"], task="multiclass", label="y"
    )
    scores = predictor.predict_scores(frame)
    assert scores.shape == (3, 3)
    assert predictor.predict_labels(scores).tolist() == ["a", "b", "c"]


def test_progress_reports_done(frame):
    predictor = predictions_only_predictor(frame, "score", label="label")
    done = []
    predictor.predict_scores(frame, progress=done.append)
    assert done == [1.0]


# errors


def test_text_scores_rejected():
    frame = read_csv(b"label,score\nyes,0.5\nno,high\n", name="p.csv")
    with pytest.raises(ModelError, match=r"non-numeric values in row 1 \('high'\)"):
        predictions_only_predictor(frame, "score", label="label")


def test_scores_outside_unit_interval_rejected(frame):
    bad = frame.assign(score=[0.1, 1.7, 0.2, 0.3])
    with pytest.raises(
        ModelError, match=r"has the value 1\.7 in row 1, outside \[0, 1\]"
    ):
        predictions_only_predictor(bad, "score", label="label")


def test_regression_accepts_any_finite_value(frame):
    predictor = predictions_only_predictor(frame, "predicted", task="regression")
    assert predictor.predict_scores(frame).max() == 10.5


def test_missing_score_rejected(frame):
    bad = frame.assign(score=[0.1, np.nan, 0.2, 0.3])
    with pytest.raises(ModelError, match="missing 1 value"):
        predictions_only_predictor(bad, "score", label="label")


def test_infinite_prediction_rejected(frame):
    bad = frame.assign(predicted=[1.0, np.inf, 2.0, 3.0])
    with pytest.raises(ModelError, match="must be finite"):
        predictions_only_predictor(bad, "predicted", task="regression")


def test_unknown_score_column_rejected(frame):
    with pytest.raises(ModelError, match="no score column 'prob'"):
        predictions_only_predictor(frame, "prob", label="label")


def test_three_label_values_need_multiclass():
    frame = pd.DataFrame({"y": ["a", "b", "c"], "s": [0.1, 0.2, 0.3]})
    with pytest.raises(ModelError, match="needs 2"):
        predictions_only_predictor(frame, "s", label="y")


def test_classes_needed_without_label(frame):
    with pytest.raises(ModelError, match="needs its classes"):
        predictions_only_predictor(frame, "score")


def test_multiclass_column_count_checked():
    frame = pd.DataFrame({"y": ["a", "b", "c"], "pa": [0.5, 0.5, 0.5]})
    with pytest.raises(ModelError, match="one column per class"):
        predictions_only_predictor(frame, ["pa"], task="multiclass", label="y")


def test_label_cannot_be_score(frame):
    with pytest.raises(ModelError, match="label column"):
        predictions_only_predictor(frame, "label", label="label")


# what needs a model


def test_require_model_raises_for_scores_only(frame):
    predictor = predictions_only_predictor(frame, "score", label="label")

    assert is_predictions_only(predictor)
    assert isinstance(predictor, PredictionsOnlyPredictor)
    with pytest.raises(ModelRequiredError, match="editing a datapoint needs a model"):
        require_model(predictor, "editing a datapoint")


def test_require_model_passes_real_model():
    from sklearn.linear_model import LinearRegression

    from analysis.models import make_predictor

    predictor = make_predictor(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]))
    require_model(predictor, "partial dependence")
    assert not is_predictions_only(predictor)


def test_model_required_error_is_model_error():
    assert issubclass(ModelRequiredError, ModelError)
