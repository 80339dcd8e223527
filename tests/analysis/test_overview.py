"""Tests for analysis.overview against pandas, scipy and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from sklearn.linear_model import LinearRegression, LogisticRegression

from analysis.models import make_predictor
from analysis.overview import (
    add_model_outputs,
    compare_datasets,
    features_overview,
    jensen_shannon_distance,
    overview_flags,
    population_stability_index,
    side_by_side,
)

TEXT = pd.StringDtype(na_value=np.nan)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n_rows = 500
    income = rng.normal(50, 10, n_rows)
    income[:40] = np.nan
    return pd.DataFrame(
        {
            "income": income,
            "gain": np.where(rng.random(n_rows) < 0.8, 0, rng.integers(1, 9, n_rows)),
            "constant": np.full(n_rows, 3.0),
            "city": pd.array(
                rng.choice(["paris", "rome", "oslo"], n_rows, p=[0.6, 0.3, 0.1]).astype(
                    object
                ),
                dtype=TEXT,
            ),
            "user_id": pd.array([f"u{i}" for i in range(n_rows)], dtype=TEXT),
            "member": rng.random(n_rows) < 0.3,
        }
    )


def row_of(table: pd.DataFrame, feature: str) -> pd.Series:
    return table.set_index("feature").loc[feature]


# numeric statistics


def test_numeric_stats_match_pandas(frame):
    overview = features_overview(frame)
    stats = row_of(overview.numeric, "income")
    column = frame["income"]

    assert stats["count"] == column.count()
    assert stats["missing"] == column.isna().sum()
    assert stats["missing_pct"] == pytest.approx(100 * column.isna().mean())
    assert stats["mean"] == pytest.approx(column.mean())
    assert stats["std"] == pytest.approx(column.std())
    assert stats["min"] == pytest.approx(column.min())
    assert stats["median"] == pytest.approx(column.median())
    assert stats["max"] == pytest.approx(column.max())


def test_zeros_share_of_present_values(frame):
    stats = row_of(features_overview(frame).numeric, "gain")
    expected = 100 * (frame["gain"] == 0).sum() / frame["gain"].count()
    assert stats["zeros_pct"] == pytest.approx(expected)


def test_histogram_matches_numpy(frame):
    histogram = features_overview(frame, bins=5).histograms["income"]
    finite = frame["income"].dropna().to_numpy()
    counts, edges = np.histogram(finite, bins=5)

    assert histogram["count"].tolist() == counts.tolist()
    np.testing.assert_allclose(histogram["bin_start"], edges[:-1])
    np.testing.assert_allclose(histogram["bin_end"], edges[1:])
    assert histogram["count"].sum() == frame["income"].count()


def test_constant_histogram_has_one_bin(frame):
    histogram = features_overview(frame).histograms["constant"]
    assert histogram["count"].tolist() == [len(frame)]


def test_infinite_values_excluded_and_flagged():
    frame = pd.DataFrame({"x": [1.0, 2.0, np.inf, np.nan]})
    stats = row_of(features_overview(frame).numeric, "x")
    assert stats["count"] == 3
    assert stats["max"] == 2.0
    assert stats["mean"] == pytest.approx(1.5)
    assert "infinite" in stats["flags"]


# categorical statistics


def test_categorical_stats_match_pandas(frame):
    overview = features_overview(frame, top_n=2)
    stats = row_of(overview.categorical, "city")
    counts = frame["city"].value_counts()

    assert stats["count"] == frame["city"].count()
    assert stats["missing"] == 0
    assert stats["unique"] == frame["city"].nunique()
    assert stats["top"] == counts.index[0]
    assert stats["top_count"] == counts.iloc[0]
    assert stats["top_pct"] == pytest.approx(100 * counts.iloc[0] / len(frame))

    bar = overview.bars["city"]
    assert bar["value"].tolist() == counts.index[:2].tolist()
    assert bar["count"].tolist() == counts.iloc[:2].tolist()
    np.testing.assert_allclose(bar["share"], counts.iloc[:2] / len(frame))


def test_booleans_are_categorical(frame):
    overview = features_overview(frame)
    assert "member" in set(overview.categorical["feature"])
    assert "member" not in set(overview.numeric["feature"])


def test_missing_categories_counted():
    frame = pd.DataFrame({"c": pd.array(["a", None, "a", "b"], dtype=TEXT)})
    stats = row_of(features_overview(frame).categorical, "c")
    assert stats["count"] == 3
    assert stats["missing"] == 1
    assert stats["missing_pct"] == 25.0
    assert stats["top"] == "a"


# flags


def test_problem_flags(frame):
    flags = overview_flags(features_overview(frame))

    assert flags["income"] == ("many_missing",)
    assert flags["gain"] == ("mostly_zeros",)
    assert flags["constant"] == ("constant",)
    assert "all_unique" in flags["user_id"]
    assert "high_cardinality" in flags["user_id"]
    assert "city" not in flags


def test_all_missing_and_dominant_flags():
    frame = pd.DataFrame(
        {
            "empty": [np.nan] * 40,
            "mostly_a": pd.array(["a"] * 39 + ["b"], dtype=TEXT),
        }
    )
    flags = overview_flags(features_overview(frame))
    assert flags["empty"] == ("all_missing",)
    assert flags["mostly_a"] == ("dominant_value",)


# model outputs as features


def test_binary_outputs_added(frame):
    data = frame.dropna().reset_index(drop=True)
    data["bought"] = np.where(data["income"] > 50, "yes", "no")
    model = LogisticRegression().fit(data[["income"]], data["bought"])
    predictor = make_predictor(model)
    scores = predictor.predict_scores(data)

    result = add_model_outputs(data, predictor, scores, label="bought", threshold=0.7)

    expected = np.where(scores[:, 1] >= 0.7, "yes", "no")
    assert result["prediction"].astype(str).tolist() == expected.tolist()
    np.testing.assert_allclose(result["score"], scores[:, 1])
    assert result["correct"].tolist() == (expected == data["bought"]).tolist()
    overview = features_overview(result)
    assert "prediction" in set(overview.categorical["feature"])
    assert "score" in set(overview.numeric["feature"])
    assert "correct" in set(overview.categorical["feature"])


def test_numeric_classes_match_text_labels():
    data = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})
    predictor = make_predictor(LogisticRegression().fit(data[["x"]], data["y"]))
    scores = predictor.predict_scores(data[["x"]])
    as_text = data.assign(y=pd.array(["0", "0", "1", None], dtype=TEXT))

    result = add_model_outputs(as_text, predictor, scores, label="y")

    assert result["correct"].tolist()[:3] == [True, True, True]
    assert result["correct"].isna().tolist() == [False, False, False, True]


def test_regression_error_added():
    data = pd.DataFrame({"x": [0.0, 1.0, 2.0, 4.0], "y": [0.0, 1.5, 2.0, 3.0]})
    predictor = make_predictor(LinearRegression().fit(data[["x"]], data["y"]))
    scores = predictor.predict_scores(data, label="y")

    result = add_model_outputs(data, predictor, scores, label="y", prefix="A ")

    np.testing.assert_allclose(result["A error"], scores - data["y"])
    np.testing.assert_allclose(result["A absolute_error"], np.abs(scores - data["y"]))


def test_output_column_clash_rejected():
    data = pd.DataFrame({"x": [0.0, 1.0], "prediction": [1.0, 2.0]})
    predictor = make_predictor(LinearRegression().fit(data[["x"]], [0.0, 1.0]))
    with pytest.raises(ValueError, match="pass a prefix"):
        add_model_outputs(data, predictor, np.zeros(2))


# distances between datasets


def test_psi_hand_computed():
    # (0.4 - 0.5) ln(0.4 / 0.5) + 0 + (0.3 - 0.2) ln(0.3 / 0.2)
    expected = -0.1 * math.log(0.8) + 0.1 * math.log(1.5)
    assert population_stability_index([50, 30, 20], [40, 30, 30]) == pytest.approx(
        expected
    )
    assert population_stability_index([5, 3, 2], [5, 3, 2]) == 0.0


def test_psi_empty_bin_uses_epsilon():
    # Bin 3 is empty in the expected counts: its share 0 becomes 1e-4.
    expected = (
        (0.5 - 0.5) * 0
        + (0.25 - 0.5) * math.log(0.25 / 0.5)
        + (0.25 - 1e-4) * math.log(0.25 / 1e-4)
    )
    psi = population_stability_index([1, 1, 0], [2, 1, 1], epsilon=1e-4)
    assert psi == pytest.approx(expected)


def test_js_distance_matches_scipy():
    expected = jensenshannon([50, 30, 20, 0], [40, 30, 20, 10], base=2)
    assert jensen_shannon_distance([50, 30, 20, 0], [40, 30, 20, 10]) == pytest.approx(
        expected
    )
    assert jensen_shannon_distance([1, 0], [0, 1]) == pytest.approx(1.0)


def test_compare_same_data_shows_no_shift(frame):
    comparison = compare_datasets(frame, frame.sample(frac=1, random_state=1))
    table = comparison.table.set_index("feature")

    np.testing.assert_allclose(table["psi"], 0, atol=1e-12)
    np.testing.assert_allclose(table["js_distance"], 0, atol=1e-6)
    assert not table["skewed"].any()
    assert (table["shift"] == "none").all()


def test_compare_flags_shifted_feature(frame):
    current = frame.copy()
    current["income"] = current["income"] + 15
    comparison = compare_datasets(frame, current, ["income", "city"])
    table = comparison.table.set_index("feature")

    assert table.loc["income", "skewed"]
    assert table.loc["income", "shift"] == "significant"
    assert not table.loc["city", "skewed"]


def test_compare_uses_reference_deciles(frame):
    current = frame.iloc[:250]
    comparison = compare_datasets(frame, current, ["income"])
    bins = comparison.distributions["income"]

    finite = frame["income"].dropna()
    inner = np.unique(np.quantile(finite, np.linspace(0, 1, 11)[1:-1]))
    reference_counts = np.bincount(
        np.searchsorted(inner, finite, side="right"), minlength=inner.size + 1
    )
    expected_shares = np.append(reference_counts, frame["income"].isna().sum()) / len(
        frame
    )
    np.testing.assert_allclose(bins["reference_share"], expected_shares)
    assert bins["bin"].iloc[-1] == "(missing)"

    current_values = current["income"]
    current_counts = np.bincount(
        np.searchsorted(inner, current_values.dropna(), side="right"),
        minlength=inner.size + 1,
    )
    expected_current = np.append(current_counts, current_values.isna().sum())
    psi = population_stability_index(
        np.append(reference_counts, frame["income"].isna().sum()), expected_current
    )
    assert comparison.table["psi"].iloc[0] == pytest.approx(psi)


def test_compare_categories_union_and_missing():
    reference = pd.DataFrame({"c": pd.array(["a", "a", "b", None], dtype=TEXT)})
    current = pd.DataFrame({"c": pd.array(["a", "c", "c", "c"], dtype=TEXT)})
    comparison = compare_datasets(reference, current)
    bins = comparison.distributions["c"]

    assert bins["bin"].tolist() == ["a", "b", "c", "(missing)"]
    np.testing.assert_allclose(bins["reference_share"], [0.5, 0.25, 0, 0.25])
    np.testing.assert_allclose(bins["current_share"], [0.25, 0, 0.75, 0])
    psi = population_stability_index([2, 1, 0, 1], [1, 0, 3, 0])
    assert comparison.table["psi"].iloc[0] == pytest.approx(psi)
    assert comparison.table["js_distance"].iloc[0] == pytest.approx(
        jensenshannon([2, 1, 0, 1], [1, 0, 3, 0], base=2)
    )


def test_side_by_side_joins_on_feature(frame):
    first = features_overview(frame).numeric
    second = features_overview(frame.iloc[:100]).numeric
    joined = side_by_side(first, second, names=("train", "test"))

    assert joined["feature"].tolist() == first["feature"].tolist()
    assert joined["mean (train)"].tolist() == first["mean"].tolist()
    assert joined["count (test)"].tolist() == second["count"].tolist()
