"""Tests for analysis.pdp against scikit-learn's partial_dependence and brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.inspection import partial_dependence as sklearn_partial_dependence
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from analysis import pdp
from analysis.models import make_predictor
from analysis.pdp import (
    feature_grid,
    partial_dependence,
    partial_dependence_2d,
    partial_dependence_all,
)
from analysis.predictions_only import ModelRequiredError, predictions_only_predictor
from analysis.registry import register_model, unregister_model

TEXT = pd.StringDtype(na_value=np.nan)


def make_frame(n_rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """Two float features, a text category whose value 'late' starts at row 100."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n_rows)
    x2 = rng.uniform(-2, 2, size=n_rows)
    category = rng.choice(["a", "b", "c"], size=n_rows).astype(object)
    category[100:] = np.where(rng.random(n_rows - 100) < 0.5, "late", category[100:])
    logit = (
        1.5 * x1
        - x2
        + np.select([category == "late", category == "b"], [2.0, -1.0], 0.0)
    )
    target = np.where(rng.random(n_rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "category": pd.array(category, dtype=TEXT),
            "target": pd.array(target, dtype=TEXT),
        }
    )


def fit_pipeline(frame: pd.DataFrame, estimator, target: str = "target"):
    preprocess = ColumnTransformer(
        [
            ("onehot", OneHotEncoder(handle_unknown="ignore"), ["category"]),
            ("numbers", "passthrough", ["x1", "x2"]),
        ]
    )
    model = make_pipeline(preprocess, estimator)
    return model.fit(frame[["x1", "x2", "category"]], frame[target])


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture(scope="module")
def classifier(frame):
    return fit_pipeline(frame, LogisticRegression())


@pytest.fixture(scope="module")
def predictor(classifier):
    return make_predictor(classifier)


def inputs(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["x1", "x2", "category"]]


# grids


def test_quantile_grid_matches_numpy():
    column = pd.Series([5.0, 1.0, 3.0, np.nan, 2.0, 4.0, np.inf])
    grid = feature_grid(column, method="quantile", n_points=5)
    expected = np.quantile([1.0, 2.0, 3.0, 4.0, 5.0], np.linspace(0, 1, 5))
    np.testing.assert_allclose(grid, expected)


def test_uniform_grid_spans_min_to_max():
    column = pd.Series([0.0, 10.0, 2.5, np.nan])
    np.testing.assert_allclose(
        feature_grid(column, method="uniform", n_points=5), [0, 2.5, 5, 7.5, 10]
    )


def test_integer_grid_is_rounded_and_deduplicated():
    column = pd.Series([1, 1, 1, 1, 2, 2, 3], dtype="int64")
    grid = feature_grid(column, method="uniform", n_points=10)
    assert grid.dtype == np.int64
    assert grid.tolist() == [1, 2, 3]


def test_value_range_overrides_column_range():
    column = pd.Series([0.0, 1.0])
    grid = feature_grid(column, n_points=3, value_range=(10, 20))
    assert grid.tolist() == [10.0, 15.0, 20.0]


def test_categorical_grid_top_k_plus_included_value():
    column = pd.Series(["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"] + [None], dtype=TEXT)
    grid = feature_grid(column, top_k=2, include=("d", np.nan))
    assert grid.tolist() == ["a", "b", "d"]


def test_categorical_grid_skips_unused_categories():
    column = pd.Series(pd.Categorical(["x", "x", "y"], categories=["x", "y", "z"]))
    assert feature_grid(column).tolist() == ["x", "y"]


def test_grid_rejects_bad_options():
    column = pd.Series([1.0, 2.0])
    with pytest.raises(ValueError, match="method"):
        feature_grid(column, method="percentile")
    with pytest.raises(ValueError, match="n_points"):
        feature_grid(column, n_points=1)


def test_category_seen_after_row_50_is_in_grid(frame, predictor):
    """The What-If Tool takes categories from the first 50 rows only."""
    assert "late" not in set(frame["category"].iloc[:50])

    result = partial_dependence(frame, predictor, "category", label="target")

    assert "late" in result.grid.tolist()
    late = result.grid.tolist().index("late")
    assert np.isfinite(result.average["model"][late])


# against scikit-learn


@pytest.mark.parametrize("feature", ["x1", "category"])
def test_average_matches_sklearn(frame, classifier, predictor, feature):
    ours = partial_dependence(
        frame, predictor, feature, sample_size=None, label="target"
    )
    reference = sklearn_partial_dependence(
        classifier,
        inputs(frame),
        [feature],
        custom_values={feature: ours.grid},
        method="brute",
        kind="average",
    )
    np.testing.assert_allclose(ours.average["model"], reference["average"][0])


@pytest.mark.parametrize("feature", ["x2", "category"])
def test_individual_lines_match_sklearn(frame, classifier, predictor, feature):
    ours = partial_dependence(
        frame,
        predictor,
        feature,
        sample_size=None,
        n_ice=len(frame),
        label="target",
    )
    reference = sklearn_partial_dependence(
        classifier,
        inputs(frame),
        [feature],
        custom_values={feature: ours.grid},
        method="brute",
        kind="individual",
    )
    assert ours.ice_positions.tolist() == list(range(len(frame)))
    np.testing.assert_allclose(ours.individual["model"], reference["individual"][0])


def test_multiclass_uses_chosen_class(frame):
    labels = pd.Series(
        np.select([frame["x1"] > 0.5, frame["x2"] > 0], ["high", "mid"], "low"),
        dtype=TEXT,
    )
    data = frame.assign(level=labels)
    model = fit_pipeline(data, LogisticRegression(), target="level")
    predictor = make_predictor(model)
    class_index = list(model.classes_).index("mid")

    ours = partial_dependence(
        data, predictor, "x1", sample_size=None, target_class="mid", label="level"
    )
    reference = sklearn_partial_dependence(
        model,
        inputs(data),
        ["x1"],
        custom_values={"x1": ours.grid},
        method="brute",
        kind="average",
    )
    np.testing.assert_allclose(ours.average["model"], reference["average"][class_index])
    assert ours.output == "score of 'mid'"


def test_multiclass_without_target_class_raises(frame):
    data = frame.assign(level=np.where(frame["x1"] > 0.5, "h", "l"))
    data.loc[data["x2"] > 1, "level"] = "m"
    predictor = make_predictor(fit_pipeline(data, LogisticRegression(), "level"))
    with pytest.raises(ValueError, match="target_class"):
        partial_dependence(data, predictor, "x1", label="level")


def test_regression_matches_sklearn(frame):
    data = frame.assign(amount=3 * frame["x1"] ** 2 + frame["x2"])
    model = fit_pipeline(data, LinearRegression(), target="amount")
    predictor = make_predictor(model)

    ours = partial_dependence(data, predictor, "x1", sample_size=None, label="amount")
    reference = sklearn_partial_dependence(
        model,
        inputs(data),
        ["x1"],
        custom_values={"x1": ours.grid},
        method="brute",
        kind="average",
    )
    np.testing.assert_allclose(ours.average["model"], reference["average"][0])
    assert ours.output == "prediction"


def test_two_feature_heatmap_matches_sklearn(frame, classifier, predictor):
    ours = partial_dependence_2d(
        frame, predictor, ("x1", "category"), sample_size=None, label="target"
    )
    x_grid, y_grid = ours.grids
    reference = sklearn_partial_dependence(
        classifier,
        inputs(frame),
        ["x1", "category"],
        custom_values={"x1": x_grid, "category": y_grid},
        method="brute",
        kind="average",
    )
    assert ours.values["model"].shape == (len(x_grid), len(y_grid))
    np.testing.assert_allclose(ours.values["model"], reference["average"][0])
    assert len(ours.to_frame()) == len(x_grid) * len(y_grid)


# the selected row, sampling, centring, two models


def test_row_line_is_the_rows_predictions(frame, predictor):
    position = 7
    result = partial_dependence(
        frame, predictor, "x2", position=position, label="target"
    )
    rows = frame.iloc[[position] * len(result.grid)].reset_index(drop=True)
    rows["x2"] = result.grid
    expected = predictor.predict_scores(rows, label="target")[:, 1]

    np.testing.assert_allclose(result.average["model"], expected)
    np.testing.assert_allclose(result.individual["model"][0], expected)
    assert result.n_rows == 1
    assert result.description == "ICE line of row 7"


def test_row_grid_includes_rows_rare_category(predictor):
    data = make_frame(seed=1)
    data.loc[250, "category"] = "rare"
    result = partial_dependence(
        data, predictor, "category", position=250, top_k=2, label="target"
    )
    assert result.grid.tolist()[-1] == "rare"
    assert len(result.grid) == 3


def test_sample_is_seeded_and_described(frame, predictor):
    first = partial_dependence(
        frame, predictor, "x1", sample_size=40, n_ice=40, label="target"
    )
    again = partial_dependence(
        frame, predictor, "x1", sample_size=40, n_ice=40, label="target"
    )
    other_seed = partial_dependence(
        frame, predictor, "x1", sample_size=40, n_ice=40, label="target", random_state=1
    )

    assert first.sampled
    assert first.n_rows == 40
    assert first.description == "mean over a random sample of 40 of 300 rows (seed 0)"
    assert first.ice_positions.tolist() == again.ice_positions.tolist()
    assert first.ice_positions.tolist() != other_seed.ice_positions.tolist()
    np.testing.assert_allclose(
        first.average["model"], first.individual["model"].mean(axis=0)
    )


def test_all_rows_used_when_fewer_than_sample(frame, predictor):
    result = partial_dependence(frame, predictor, "x1", label="target")
    assert not result.sampled
    assert result.random_state is None
    assert result.description == "mean over all 300 rows"


def test_centered_lines_start_at_zero(frame, predictor):
    plain = partial_dependence(frame, predictor, "x1", label="target")
    centered = partial_dependence(frame, predictor, "x1", label="target", centered=True)

    assert centered.average["model"][0] == 0
    np.testing.assert_allclose(centered.individual["model"][:, 0], 0)
    np.testing.assert_allclose(
        centered.average["model"], plain.average["model"] - plain.average["model"][0]
    )
    assert centered.variation == pytest.approx(plain.variation)


def test_two_models_give_one_line_each(frame, predictor):
    other = make_predictor(fit_pipeline(frame, LogisticRegression(C=0.01)))
    both = partial_dependence(frame, {"A": predictor, "B": other}, "x1", label="target")
    alone = partial_dependence(frame, other, "x1", label="target")

    assert list(both.average) == ["A", "B"]
    np.testing.assert_allclose(both.average["B"], alone.average["model"])
    assert set(both.to_frame()["model"]) == {"A", "B"}


def test_models_of_different_tasks_rejected(frame, predictor):
    data = frame.assign(amount=frame["x1"])
    regressor = make_predictor(fit_pipeline(data, LinearRegression(), "amount"))
    with pytest.raises(ValueError, match="different tasks"):
        partial_dependence(data, {"A": predictor, "B": regressor}, "x1")


def test_blocks_give_same_result(frame, predictor, monkeypatch):
    whole = partial_dependence(frame, predictor, "category", label="target")
    monkeypatch.setattr(pdp, "MAX_PREDICTED_ROWS", 50)
    in_blocks = partial_dependence(frame, predictor, "category", label="target")
    np.testing.assert_allclose(in_blocks.average["model"], whole.average["model"])


# every feature, sorted by variation


def test_all_features_sorted_by_variation(frame, predictor):
    results = partial_dependence_all(frame, predictor, label="target")

    assert {result.feature for result in results} == {"x1", "x2", "category"}
    variations = [result.variation for result in results]
    assert variations == sorted(variations, reverse=True)
    for result in results:
        line = result.average["model"]
        if result.kind == "numeric":
            expected = np.sum(np.abs(np.diff(line)))
        else:
            expected = line.max() - line.min()
        assert result.variation == pytest.approx(expected)


def test_all_features_match_single_feature(frame, predictor):
    results = partial_dependence_all(frame, predictor, label="target", sample_size=50)
    for result in results:
        single = partial_dependence(
            frame, predictor, result.feature, label="target", sample_size=50
        )
        np.testing.assert_allclose(result.average["model"], single.average["model"])


# dtypes and errors


def test_model_sees_original_dtypes():
    seen = []

    def predict(batch: pd.DataFrame) -> np.ndarray:
        seen.append(dict(batch.dtypes))
        return (batch["count"].to_numpy() > 2).astype(float)

    data = pd.DataFrame(
        {
            "count": pd.Series([1, 2, 3, 4], dtype="int64"),
            "colour": pd.Categorical(["r", "g", "r", "b"]),
            "flag": [True, False, True, False],
        }
    )
    predictor = register_model("dtype-check", predict, task="binary", classes=[0, 1])
    try:
        partial_dependence_all(data, predictor)
    finally:
        unregister_model("dtype-check")

    for dtypes in seen:
        assert dtypes["count"] == np.dtype("int64")
        assert isinstance(dtypes["colour"], pd.CategoricalDtype)
        assert dtypes["flag"] == np.dtype(bool)


def test_predictions_only_needs_a_model(frame):
    data = frame.assign(score=np.linspace(0, 1, len(frame)))
    predictor = predictions_only_predictor(data, "score", label="target")
    with pytest.raises(ModelRequiredError, match="partial dependence needs a model"):
        partial_dependence(data, predictor, "x1", label="target")
    with pytest.raises(ModelRequiredError):
        partial_dependence_2d(data, predictor, ("x1", "x2"), label="target")


def test_unknown_feature_and_label_rejected(frame, predictor):
    with pytest.raises(ValueError, match="not in the data"):
        partial_dependence(frame, predictor, "height")
    with pytest.raises(ValueError, match="label column"):
        partial_dependence(frame, predictor, "target", label="target")


def test_feature_without_values_rejected(frame, predictor):
    data = frame.assign(x1=np.nan)
    with pytest.raises(ValueError, match="'x1' has no usable value"):
        partial_dependence(data, predictor, "x1", label="target")
