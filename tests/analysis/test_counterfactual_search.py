"""Tests for analysis.counterfactual_search on models with known decision rules."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from analysis.counterfactual import distance_stats, distances, nearest_counterfactual
from analysis.counterfactual_search import generate_counterfactuals
from analysis.models import make_predictor
from analysis.predictions_only import ModelRequiredError, predictions_only_predictor
from analysis.registry import register_model, unregister_model

TEXT = pd.StringDtype(na_value=np.nan)
FEATURES = ["a", "b", "colour", "sex"]


def make_frame(n_rows: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.integers(0, 11, n_rows),
            "b": rng.integers(0, 11, n_rows),
            "colour": pd.array(
                rng.choice(["red", "green", "blue"], n_rows).astype(object),
                dtype=TEXT,
            ),
            "sex": pd.array(rng.choice(["f", "m"], n_rows).astype(object), dtype=TEXT),
            "label": rng.integers(0, 2, n_rows),
        }
    )


def rule_model(name, rule, *, task="binary", classes=(0, 1)):
    """Register a predict function built from a rule on the frame."""

    def predict(frame: pd.DataFrame) -> np.ndarray:
        return rule(frame)

    return register_model(
        name,
        predict,
        task=task,
        classes=None if task == "regression" else list(classes),
        feature_names=FEATURES,
    )


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture
def linear_rule():
    """Positive when a + 2 b >= 20, with a smooth score."""
    predictor = rule_model(
        "linear-rule",
        lambda f: 1 / (1 + np.exp(-(f["a"] + 2 * f["b"] - 19.5).to_numpy(float))),
    )
    yield predictor
    unregister_model("linear-rule")


def first_negative(frame: pd.DataFrame, predictor) -> int:
    scores = predictor.predict_scores(frame)[:, 1]
    return int(np.flatnonzero(scores < 0.5)[0])


def brute_force_minimum(frame, predictor, position, reached, mutable, max_changes):
    """Smallest distance over every change of up to max_changes features."""
    stats = distance_stats(frame, exclude=["label"])
    query = frame.iloc[position]
    options = {
        name: [value for value in frame[name].dropna().unique() if value != query[name]]
        for name in mutable
    }
    rows = []
    for n_changes in range(1, max_changes + 1):
        for names in itertools.combinations(mutable, n_changes):
            for values in itertools.product(*(options[name] for name in names)):
                row = query.to_dict()
                row.update(dict(zip(names, values, strict=True)))
                rows.append(row)
    candidates = pd.DataFrame(rows).astype(frame.dtypes.to_dict())
    ok = reached(predictor.predict_scores(candidates))
    all_distances = distances(candidates, query, stats)
    return float(all_distances[ok].min())


# minimality


def test_closest_matches_brute_force(frame, linear_rule):
    position = first_negative(frame, linear_rule)
    result = generate_counterfactuals(frame, linear_rule, position, label="label")

    expected = brute_force_minimum(
        frame,
        linear_rule,
        position,
        lambda scores: scores[:, 1] >= 0.5,
        ["a", "b", "colour", "sex"],
        max_changes=3,
    )
    assert result.exhaustive
    assert result.counterfactuals[0].distance == pytest.approx(expected)


def test_logistic_regression_closest_is_minimal():
    frame = make_frame(n_rows=80, seed=3)
    frame["label"] = (frame["a"] - frame["b"] > 1).astype(int)
    model = LogisticRegression().fit(frame[["a", "b"]], frame["label"])
    predictor = make_predictor(model)
    position = first_negative(frame, predictor)

    result = generate_counterfactuals(
        frame, predictor, position, label="label", max_changes=2
    )
    expected = brute_force_minimum(
        frame,
        predictor,
        position,
        lambda scores: scores[:, 1] >= 0.5,
        ["a", "b"],
        max_changes=2,
    )
    assert result.counterfactuals[0].distance == pytest.approx(expected)
    assert set(result.counterfactuals[0].changed_features) <= {"a", "b"}


def test_decision_tree_split_is_found():
    """A tree splitting at b > 6.5 needs b raised to 7, the closest value."""
    from sklearn.tree import DecisionTreeClassifier

    frame = make_frame(n_rows=100, seed=4)
    frame["label"] = (frame["b"] > 6.5).astype(int)
    model = DecisionTreeClassifier(max_depth=1).fit(frame[["a", "b"]], frame["label"])
    predictor = make_predictor(model)
    position = int(np.flatnonzero(frame["b"] == 3)[0])

    result = generate_counterfactuals(frame, predictor, position, label="label")

    best = result.counterfactuals[0]
    assert best.changed_features == ("b",)
    assert best.changes[0].old == 3
    assert best.changes[0].new == 7


# every counterfactual valid


def test_every_counterfactual_reaches_target(frame, linear_rule):
    position = first_negative(frame, linear_rule)
    result = generate_counterfactuals(frame, linear_rule, position, k=5)

    assert result.found
    rows = pd.concat([counterfactual.row for counterfactual in result.counterfactuals])
    scores = linear_rule.predict_scores(rows)[:, 1]
    assert (scores >= 0.5).all()
    for counterfactual in result.counterfactuals:
        assert counterfactual.prediction == 1
        assert counterfactual.score >= 0.5


def test_distance_matches_counterfactual_module(frame, linear_rule):
    position = first_negative(frame, linear_rule)
    stats = distance_stats(frame, exclude=["label"])
    for metric in ("l1", "l2"):
        result = generate_counterfactuals(
            frame, linear_rule, position, stats=stats, metric=metric, label="label"
        )
        for counterfactual in result.counterfactuals:
            expected = distances(
                counterfactual.row, frame.iloc[position], stats, metric=metric
            )[0]
            assert counterfactual.distance == pytest.approx(expected)


def test_counterfactuals_diverse_and_sorted(frame, linear_rule):
    position = first_negative(frame, linear_rule)
    result = generate_counterfactuals(frame, linear_rule, position, k=3)

    found = result.counterfactuals
    assert len(found) == 3
    rows = {tuple(counterfactual.row.iloc[0]) for counterfactual in found}
    assert len(rows) == 3
    assert found[0].distance == min(counterfactual.distance for counterfactual in found)
    feature_sets = {counterfactual.changed_features for counterfactual in found}
    assert len(feature_sets) >= 2


def test_counterfactuals_are_sparse(frame, linear_rule):
    """No counterfactual keeps a change it does not need."""
    position = first_negative(frame, linear_rule)
    result = generate_counterfactuals(frame, linear_rule, position, k=3)
    query = frame.iloc[[position]].reset_index(drop=True)

    for counterfactual in result.counterfactuals:
        for change in counterfactual.changes:
            reverted = counterfactual.row.copy()
            reverted[change.feature] = query[change.feature]
            assert linear_rule.predict_scores(reverted)[0, 1] < 0.5


def test_old_and_new_values_reported(frame, linear_rule):
    position = first_negative(frame, linear_rule)
    result = generate_counterfactuals(frame, linear_rule, position)
    query = frame.iloc[position]

    for counterfactual in result.counterfactuals:
        for change in counterfactual.changes:
            assert change.old == query[change.feature]
            assert change.new == counterfactual.row[change.feature].iloc[0]
            assert change.new != change.old
    table = result.to_frame(frame)
    assert len(table) == 1 + len(result.counterfactuals)
    assert table["distance"].iloc[0] == 0


# constraints


def test_immutable_features_never_change(frame, linear_rule):
    position = first_negative(frame, linear_rule)
    result = generate_counterfactuals(
        frame, linear_rule, position, immutable=["b", "sex"], k=4
    )

    assert result.found
    for counterfactual in result.counterfactuals:
        assert "b" not in counterfactual.changed_features
        assert "sex" not in counterfactual.changed_features
        assert counterfactual.row["b"].iloc[0] == frame["b"].iloc[position]


def test_permitted_ranges_respected(frame, linear_rule):
    position = first_negative(frame, linear_rule)
    result = generate_counterfactuals(
        frame,
        linear_rule,
        position,
        permitted_ranges={"a": (8, 10), "b": (0, 9), "colour": {"red"}},
        k=5,
    )

    assert result.found
    for counterfactual in result.counterfactuals:
        row = counterfactual.row.iloc[0]
        if "a" in counterfactual.changed_features:
            assert 8 <= row["a"] <= 10
        if "b" in counterfactual.changed_features:
            assert 0 <= row["b"] <= 9
        if "colour" in counterfactual.changed_features:
            assert row["colour"] == "red"


def test_immutable_blocks_and_names_constraint(frame):
    predictor = rule_model("a-only", lambda f: (f["a"] >= 9).to_numpy(float))
    try:
        position = int(np.flatnonzero(frame["a"] < 9)[0])
        stats = distance_stats(frame, exclude=["label"])
        result = generate_counterfactuals(
            frame, predictor, position, immutable=["a", "sex"], stats=stats
        )
        scores = predictor.predict_scores(frame)
    finally:
        unregister_model("a-only")

    assert not result.found
    assert [c.kind for c in result.blocking] == ["immutable"]
    assert result.blocking[0].feature == "a"
    assert "no counterfactual while 'a' is immutable" in result.message
    expected = nearest_counterfactual(frame, position, scores[:, 1] >= 0.5, stats=stats)
    assert result.nearest_real == expected


def test_range_blocks_and_names_constraint(frame):
    predictor = rule_model("a-range", lambda f: (f["a"] >= 9).to_numpy(float))
    try:
        position = int(np.flatnonzero(frame["a"] < 3)[0])
        result = generate_counterfactuals(
            frame, predictor, position, permitted_ranges={"a": (0, 5)}
        )
    finally:
        unregister_model("a-range")

    assert not result.found
    assert [c.kind for c in result.blocking] == ["range"]
    assert "no counterfactual while 'a' is limited to [0, 5]" in result.message
    assert result.nearest_real is not None


def test_max_changes_blocks_and_names_constraint(frame):
    predictor = rule_model(
        "both-high", lambda f: ((f["a"] >= 9) & (f["b"] >= 9)).to_numpy(float)
    )
    try:
        position = int(np.flatnonzero((frame["a"] < 9) & (frame["b"] < 9))[0])
        result = generate_counterfactuals(frame, predictor, position, max_changes=1)
    finally:
        unregister_model("both-high")

    assert not result.found
    assert [c.kind for c in result.blocking] == ["max_changes"]
    assert "at most 1 changed feature" in result.message


def test_no_answer_without_constraints_says_so(frame):
    predictor = rule_model("never", lambda f: np.zeros(len(f)))
    try:
        result = generate_counterfactuals(frame, predictor, 0)
    finally:
        unregister_model("never")

    assert not result.found
    assert result.blocking == []
    assert "may not reach the target" in result.message
    assert result.nearest_real is None


def test_bad_constraints_rejected(frame, linear_rule):
    with pytest.raises(ValueError, match="unknown feature 'height'"):
        generate_counterfactuals(frame, linear_rule, 0, immutable=["height"])
    with pytest.raises(ValueError, match="must be \\(min, max\\)"):
        generate_counterfactuals(frame, linear_rule, 0, permitted_ranges={"a": (5, 1)})
    with pytest.raises(ValueError, match="collection of categories"):
        generate_counterfactuals(
            frame, linear_rule, 0, permitted_ranges={"colour": "red"}
        )


# targets


def test_binary_threshold_counts(frame, linear_rule):
    """At threshold 0.9 a row scoring 0.6 is negative and must reach 0.9."""
    scores = linear_rule.predict_scores(frame)[:, 1]
    position = int(np.flatnonzero((scores > 0.5) & (scores < 0.9))[0])
    result = generate_counterfactuals(frame, linear_rule, position, threshold=0.9)

    assert result.original_prediction == 0
    assert all(counterfactual.score >= 0.9 for counterfactual in result.counterfactuals)


def test_multiclass_desired_class(frame):
    def three_classes(f):
        total = (f["a"] + f["b"]).to_numpy(float)
        logits = np.column_stack([10 - total, np.zeros(len(f)), total - 10])
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    predictor = rule_model(
        "three", three_classes, task="multiclass", classes=["low", "mid", "high"]
    )
    try:
        position = int(np.flatnonzero((frame["a"] + frame["b"]) < 5)[0])
        result = generate_counterfactuals(
            frame, predictor, position, desired_class="high"
        )
        rows = pd.concat(
            [counterfactual.row for counterfactual in result.counterfactuals]
        )
        predicted = np.argmax(predictor.predict_scores(rows), axis=1)
    finally:
        unregister_model("three")

    assert result.found
    assert result.original_prediction == "low"
    assert (predicted == 2).all()
    assert all(
        counterfactual.prediction == "high" for counterfactual in result.counterfactuals
    )
    assert result.target == "class 'high'"


def test_regression_desired_range(frame):
    predictor = rule_model(
        "sum", lambda f: (f["a"] + f["b"]).to_numpy(float), task="regression"
    )
    try:
        position = int(np.flatnonzero((frame["a"] + frame["b"]) < 8)[0])
        result = generate_counterfactuals(
            frame, predictor, position, desired_range=(15, 16), k=3
        )
        rows = pd.concat(
            [counterfactual.row for counterfactual in result.counterfactuals]
        )
        predictions = predictor.predict_scores(rows)
    finally:
        unregister_model("sum")

    assert result.found
    assert ((predictions >= 15) & (predictions <= 16)).all()
    assert result.target == "prediction in [15, 16]"


def test_regression_needs_range(frame):
    predictor = rule_model("sum-2", lambda f: f["a"].to_numpy(float), task="regression")
    try:
        with pytest.raises(ValueError, match="desired_range"):
            generate_counterfactuals(frame, predictor, 0)
    finally:
        unregister_model("sum-2")


def test_row_already_at_target(frame, linear_rule):
    position = first_negative(frame, linear_rule)
    result = generate_counterfactuals(frame, linear_rule, position, desired_class=0)
    assert not result.found
    assert "already reaches the target" in result.message


# search modes and inputs


def test_sampled_search_stays_valid(frame, linear_rule):
    position = first_negative(frame, linear_rule)
    result = generate_counterfactuals(
        frame, linear_rule, position, max_exhaustive=10, n_samples=300, k=3
    )
    assert not result.exhaustive
    assert result.found
    rows = pd.concat([counterfactual.row for counterfactual in result.counterfactuals])
    assert (linear_rule.predict_scores(rows)[:, 1] >= 0.5).all()


def test_search_is_deterministic(frame, linear_rule):
    position = first_negative(frame, linear_rule)
    runs = [
        generate_counterfactuals(
            frame, linear_rule, position, max_exhaustive=10, n_samples=200
        )
        for _ in range(2)
    ]
    first, second = ([a.changes for a in run.counterfactuals] for run in runs)
    assert first == second


def test_missing_values_in_selected_row(frame, linear_rule):
    data = frame.copy()
    data["a"] = data["a"].astype(float)
    position = first_negative(data, linear_rule)
    data.loc[position, "colour"] = np.nan
    result = generate_counterfactuals(data, linear_rule, position, label="label")

    assert result.found
    for counterfactual in result.counterfactuals:
        assert np.isfinite(counterfactual.distance)


def test_predictions_only_needs_a_model(frame):
    data = frame.assign(score=np.linspace(0, 1, len(frame)))
    predictor = predictions_only_predictor(data, "score", label="label")
    with pytest.raises(ModelRequiredError, match="generated counterfactuals"):
        generate_counterfactuals(data, predictor, 0, label="label")


def test_integer_categories_with_permitted_set():
    frame = make_frame(seed=5)
    frame["grade"] = pd.Categorical(np.arange(len(frame)) % 3 + 1)

    def predict(f: pd.DataFrame) -> np.ndarray:
        return (f["grade"].astype(int) == 3).to_numpy(float)

    predictor = register_model(
        "grade", predict, task="binary", classes=[0, 1], feature_names=["grade"]
    )
    try:
        position = int(np.flatnonzero(frame["grade"] == 1)[0])
        result = generate_counterfactuals(
            frame, predictor, position, permitted_ranges={"grade": {2, 3}}
        )
    finally:
        unregister_model("grade")

    assert result.found
    assert result.counterfactuals[0].changes[0].feature == "grade"
    assert result.counterfactuals[0].changes[0].new == 3
    assert isinstance(result.counterfactuals[0].row["grade"].dtype, pd.CategoricalDtype)
