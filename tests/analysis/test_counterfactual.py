"""Tests for analysis.counterfactual against a brute-force reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.counterfactual import (
    Counterfactual,
    distance_stats,
    distances,
    nearest_counterfactual,
    nearest_counterfactual_regression,
)
from analysis.data import ADULT_LABEL, load_adult

# brute-force reference, written from the definitions


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def reference_std(values: list, ddof: int = 1) -> float:
    """Standard deviation of the present values, dividing by n - ddof."""
    present = [float(v) for v in values if not is_missing(v)]
    mean = sum(present) / len(present)
    return math.sqrt(sum((v - mean) ** 2 for v in present) / (len(present) - ddof))


def reference_match_probability(values: list) -> float:
    present = [v for v in values if not is_missing(v)]
    counts: dict = {}
    for value in present:
        counts[value] = counts.get(value, 0) + 1
    return sum((count / len(present)) ** 2 for count in counts.values())


def reference_distance(rows, anchor, features, numeric, metric) -> list[float]:
    """Distance from ``anchor`` (a dict) to every row (a list of dicts)."""
    columns = {name: [row[name] for row in rows] for name in features}
    result = []
    for row in rows:
        total = 0.0
        for name in features:
            a, b = anchor[name], row[name]
            if is_missing(a) or is_missing(b):
                term = 1.0
            elif name in numeric:
                std = reference_std(columns[name])
                term = 0.0 if std == 0 else abs(a - b) / std
            else:
                term = 0.0 if a == b else reference_match_probability(columns[name])
            total += term if metric == "l1" else term**2
        result.append(total if metric == "l1" else math.sqrt(total))
    return result


def reference_nearest(rows, position, predicted, features, numeric, metric):
    all_distances = reference_distance(rows, rows[position], features, numeric, metric)
    best = None
    for index, distance in enumerate(all_distances):
        if index == position or predicted[index] == predicted[position]:
            continue
        if best is None or distance < all_distances[best]:
            best = index
    return best, (None if best is None else all_distances[best])


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of Python values, with every missing value as None."""
    return [
        {name: (None if pd.isna(value) else value) for name, value in row.items()}
        for row in frame.to_dict("records")
    ]


def mixed_frame(seed: int, n_rows: int = 40) -> pd.DataFrame:
    """A random table with missing values, a zero-std column and categories."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n_rows).astype(float)
    age[rng.random(n_rows) < 0.15] = np.nan
    hours = rng.normal(40, 10, n_rows).round(1)
    colour = rng.choice(["red", "green", "blue"], n_rows).astype(object)
    colour[rng.random(n_rows) < 0.15] = None
    return pd.DataFrame(
        {
            "age": age,
            "hours": hours,
            "constant": np.full(n_rows, 3.0),
            "colour": pd.Series(colour, dtype="str"),
            "size": pd.Series(rng.choice(["S", "M"], n_rows), dtype="category"),
            "row_id": [f"id-{i}" for i in range(n_rows)],
            "label": rng.integers(0, 2, n_rows),
        }
    )


NUMERIC = {"age", "hours", "constant"}
FEATURES = ["age", "hours", "constant", "colour", "size"]


# distance_stats


@pytest.mark.parametrize("ddof", [1, 0])
def test_stats_std_with_ddof(ddof):
    frame = mixed_frame(0)

    stats = distance_stats(frame, exclude=["label"], ddof=ddof)

    for name in ("age", "hours"):
        expected = reference_std([row[name] for row in records(frame)], ddof)
        assert stats.numeric_std[name] == pytest.approx(expected)
    assert stats.numeric_std["constant"] == 0.0


def test_stats_default_is_sample_std():
    stats = distance_stats(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}))

    assert stats.numeric_std["x"] == pytest.approx(math.sqrt(5 / 3))


def test_stats_single_value_has_zero_std():
    stats = distance_stats(pd.DataFrame({"x": [2.0, np.nan, np.nan]}))

    assert stats.numeric_std["x"] == 0.0


def test_stats_match_probability_ignores_missing():
    frame = mixed_frame(1)

    stats = distance_stats(frame, exclude=["label"])

    expected = reference_match_probability([r["colour"] for r in records(frame)])
    assert stats.match_probability["colour"] == pytest.approx(expected)


def test_stats_skip_unique_text_and_excluded():
    frame = mixed_frame(2)

    stats = distance_stats(frame, exclude=["label"])

    assert stats.features == tuple(FEATURES)
    assert stats.skipped == ("row_id",)
    assert "label" not in stats.numeric_std


# hand-computed case


@pytest.fixture
def small() -> pd.DataFrame:
    # x: mean 2, squared deviations 1 + 1 + 1 + 1 + 0 = 4, so the sample std is
    # sqrt(4 / 4) = 1. c: non-missing frequencies a 3/4 and b 1/4, so a mismatch
    # costs 9/16 + 1/16 = 5/8. z has std 0.
    return pd.DataFrame(
        {
            "x": [1.0, 3.0, 1.0, 3.0, 2.0],
            "c": ["a", "a", "b", None, "a"],
            "z": [5, 5, 5, 5, 5],
        }
    )


def test_hand_computed_l1(small):
    stats = distance_stats(small)

    result = distances(small, 0, stats, metric="l1")

    np.testing.assert_allclose(result, [0.0, 2.0, 5 / 8, 3.0, 1.0])


def test_hand_computed_l2_takes_square_root(small):
    stats = distance_stats(small)

    result = distances(small, 0, stats, metric="l2")

    np.testing.assert_allclose(result, [0.0, 2.0, 5 / 8, math.sqrt(5), 1.0])


def test_hand_computed_counterfactual(small):
    stats = distance_stats(small)

    found = nearest_counterfactual(small, 0, [0, 1, 1, 1, 0], stats=stats)

    assert found == Counterfactual(position=2, distance=5 / 8, differing_features=["c"])


def test_hand_computed_feature_subset(small):
    stats = distance_stats(small)
    predicted = [0, 1, 1, 1, 0]

    result = distances(small, 0, stats, features=["x"])
    found = nearest_counterfactual(small, 0, predicted, stats=stats, features=["x"])

    np.testing.assert_allclose(result, [0.0, 2.0, 0.0, 2.0, 1.0])
    assert found == Counterfactual(position=2, distance=0.0, differing_features=[])


def test_anchor_series_with_missing_values(small):
    stats = distance_stats(small)
    anchor = pd.Series({"x": np.nan, "c": "b", "z": 5})

    result = distances(small, anchor, stats)

    # x is missing on the anchor, so every row gets 1 for x.
    np.testing.assert_allclose(result, [1 + 5 / 8, 1 + 5 / 8, 1.0, 2.0, 1 + 5 / 8])


def test_anchor_series_without_feature_counts_as_missing(small):
    stats = distance_stats(small)

    result = distances(small, pd.Series({"x": 1.0, "c": "a"}), stats)

    # z is absent from the anchor, so every row gets 1 for z.
    np.testing.assert_allclose(result, [1.0, 3.0, 1 + 5 / 8, 4.0, 2.0])


def test_none_and_nan_both_missing():
    frame = pd.DataFrame(
        {"v": [1.0, np.nan, 3.0], "w": pd.array([1, None, 2], "Int64")}
    )
    stats = distance_stats(frame)

    result = distances(frame, 0, stats)

    # Sample stds: v of [1, 3] is sqrt(2) and w of [1, 2] is sqrt(0.5). Both terms
    # of row 2 are then sqrt(2).
    np.testing.assert_allclose(result, [0.0, 2.0, 2 * math.sqrt(2)])


def test_unknown_feature_rejected(small):
    stats = distance_stats(small)

    with pytest.raises(ValueError, match="not usable"):
        distances(small, 0, stats, features=["x", "nope"])


def test_unknown_metric_rejected(small):
    with pytest.raises(ValueError, match="metric"):
        distances(small, 0, distance_stats(small), metric="cosine")


# against the brute-force reference


@pytest.mark.parametrize("encode", [False, True])
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("metric", ["l1", "l2"])
@pytest.mark.parametrize(
    "features", [None, ["age", "colour"], ["constant", "size"], ["hours"]]
)
def test_distances_match_reference(seed, metric, features, encode):
    frame = mixed_frame(seed)
    stats = distance_stats(frame, exclude=["label"], encode=encode)
    rows = records(frame)
    used = features or FEATURES

    for position in (0, 7, 19):
        result = distances(frame, position, stats, metric=metric, features=features)
        expected = reference_distance(rows, rows[position], used, NUMERIC, metric)
        np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("encode", [False, True])
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("metric", ["l1", "l2"])
@pytest.mark.parametrize("features", [None, ["colour", "size"], ["age"]])
def test_nearest_matches_reference(seed, metric, features, encode):
    frame = mixed_frame(seed)
    stats = distance_stats(frame, exclude=["label"], encode=encode)
    rows = records(frame)
    used = features or FEATURES
    predicted = frame["label"].to_numpy()

    for position in range(len(frame)):
        found = nearest_counterfactual(
            frame, position, predicted, stats=stats, metric=metric, features=features
        )
        best, distance = reference_nearest(
            rows, position, predicted, used, NUMERIC, metric
        )
        assert found is not None
        assert found.position == best
        assert found.distance == pytest.approx(distance, abs=1e-12)


def test_differing_features_listed_in_column_order():
    frame = mixed_frame(3)
    stats = distance_stats(frame, exclude=["label"])
    predicted = frame["label"].to_numpy()

    found = nearest_counterfactual(frame, 0, predicted, stats=stats)

    rows = records(frame)
    expected = [
        name for name in FEATURES if rows[0][name] != rows[found.position][name]
    ]
    assert found.differing_features == expected


# encoded features against the brute-force reference and the column path


def tied_frame() -> pd.DataFrame:
    """Few distinct values, so many rows tie, with missing values in each column."""
    return pd.DataFrame(
        {
            "n": [1.0, 2.0, np.nan, 1.0, 2.0, 1.0, np.nan, 2.0, 1.0, 3.0],
            "c": ["a", "b", "a", None, "b", "a", "a", None, "b", "a"],
            "k": pd.Series(list("xyxyxyxyxx"), dtype="category"),
        }
    )


@pytest.mark.parametrize("encode", [False, True])
@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_ties_and_missing_match_reference(encode, metric):
    frame = tied_frame()
    stats = distance_stats(frame, encode=encode)
    rows = records(frame)
    predicted = [0, 1, 1, 0, 1, 0, 1, 0, 1, 1]

    for position in range(len(frame)):
        found = nearest_counterfactual(
            frame, position, predicted, stats=stats, metric=metric
        )
        best, distance = reference_nearest(
            rows, position, predicted, ["n", "c", "k"], {"n"}, metric
        )
        assert found.position == best
        assert found.distance == pytest.approx(distance, abs=1e-12)


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult("train")


@pytest.mark.parametrize("metric", ["l1", "l2"])
@pytest.mark.parametrize(
    "features", [None, ["age", "education", "hours_per_week"], ["occupation"]]
)
def test_encoded_distances_equal_column_path_on_adult(adult, metric, features):
    plain = distance_stats(adult, exclude=[ADULT_LABEL])
    encoded = distance_stats(adult, exclude=[ADULT_LABEL], encode=True)

    for position in (0, 1, 27, 4_000, 32_560):
        expected = distances(adult, position, plain, metric=metric, features=features)
        result = distances(adult, position, encoded, metric=metric, features=features)
        assert np.array_equal(result, expected)


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_encoded_nearest_equals_column_path_on_adult(adult, metric):
    plain = distance_stats(adult, exclude=[ADULT_LABEL])
    encoded = distance_stats(adult, exclude=[ADULT_LABEL], encode=True)
    predicted = adult["sex"].to_numpy()
    predictions = adult["hours_per_week"].to_numpy(dtype=float)

    for position in (0, 5, 999, 20_000):
        assert nearest_counterfactual(
            adult, position, predicted, stats=encoded, metric=metric
        ) == nearest_counterfactual(
            adult, position, predicted, stats=plain, metric=metric
        )
        assert nearest_counterfactual_regression(
            adult, position, predictions, stats=encoded, metric=metric
        ) == nearest_counterfactual_regression(
            adult, position, predictions, stats=plain, metric=metric
        )


def test_edited_anchor_encoded_equals_column_path(adult):
    plain = distance_stats(adult, exclude=[ADULT_LABEL])
    encoded = distance_stats(adult, exclude=[ADULT_LABEL], encode=True)
    anchor = adult.iloc[10].copy()
    anchor["occupation"] = "Astronaut"  # in no row
    anchor["workclass"] = np.nan
    anchor["age"] = 200

    expected = distances(adult, anchor, plain)
    result = distances(adult, anchor, encoded)

    assert np.array_equal(result, expected)


def test_match_probability_equals_value_counts(adult):
    stats = distance_stats(adult, exclude=[ADULT_LABEL])

    for name, probability in stats.match_probability.items():
        shares = adult[name].dropna().value_counts(normalize=True).to_numpy(float)
        assert probability == float(np.sum(shares**2)), name


def odd_dtypes_frame() -> pd.DataFrame:
    """Columns whose equality is easy to get wrong when comparing codes."""
    return pd.DataFrame(
        {
            "flag": [True, False, True, True, False, False],
            "size": pd.Categorical(
                ["S", "M", None, "S", "M", "S"], categories=["S", "M", "XL"]
            ),
            "mixed": pd.Series([1, "1", 1.0, None, "a", 2], dtype=object),
            "count": pd.array([1, None, 3, 3, 2, 1], dtype="Int64"),
            "ratio": [0.5, np.inf, -np.inf, np.nan, 0.5, 1.5],
            "text": pd.Series(["a", "b", None, "a", "c", "b"], dtype="str"),
        }
    )


@pytest.mark.parametrize(
    "anchor",
    [
        0,
        2,
        3,
        {"flag": 1, "size": "XL", "mixed": 1.0, "count": pd.NA, "text": np.nan},
        {"flag": False, "size": "L", "mixed": "1", "count": 3, "ratio": np.inf},
    ],
)
@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_odd_dtypes_encoded_equals_column_path(anchor, metric):
    frame = odd_dtypes_frame()
    plain = distance_stats(frame)
    encoded = distance_stats(frame, encode=True)
    row = pd.Series(anchor, dtype=object) if isinstance(anchor, dict) else anchor

    expected = distances(frame, row, plain, metric=metric)
    result = distances(frame, row, encoded, metric=metric)

    assert np.array_equal(result, expected)


def test_encoding_skipped_for_another_frame(small):
    encoded = distance_stats(small, encode=True)
    longer = pd.concat([small, small], ignore_index=True)
    renamed = small.rename(columns={"z": "w"})

    result = distances(longer, 1, encoded)
    renamed_result = distances(renamed, 1, encoded, features=["x", "c"])

    # Both frames differ from the encoded one, so their own columns are used.
    np.testing.assert_allclose(result, distances(longer, 1, distance_stats(small)))
    np.testing.assert_allclose(renamed_result, [2.0, 0.0, 2 + 5 / 8, 1.0, 1.0])


def test_encoding_not_compared(small):
    assert distance_stats(small, encode=True) == distance_stats(small)


# ties and edge cases


@pytest.mark.parametrize("encode", [False, True])
def test_tie_goes_to_first_position(encode):
    frame = pd.DataFrame({"x": [0.0, 1.0, -1.0, 1.0, 2.0]})
    stats = distance_stats(frame, encode=encode)

    found = nearest_counterfactual(frame, 0, ["a", "a", "b", "b", "b"], stats=stats)

    # Rows 1, 2 and 3 are all at distance 1/std, but row 1 has the same prediction.
    assert found.position == 2


def test_selected_row_skipped_even_when_duplicated():
    frame = pd.DataFrame({"x": [1.0, 1.0, 5.0]})
    stats = distance_stats(frame)

    found = nearest_counterfactual(frame, 1, [0, 1, 0], stats=stats)

    assert found.position == 0
    assert found.distance == 0.0


def test_no_candidate_returns_none(small):
    stats = distance_stats(small)

    assert nearest_counterfactual(small, 0, [1, 1, 1, 1, 1], stats=stats) is None


def test_string_predictions(small):
    stats = distance_stats(small)

    predicted = ["no", "yes", "no", "no", "no"]

    found = nearest_counterfactual(small, 3, predicted, stats=stats)

    assert found.position == 1


def test_prediction_length_checked(small):
    with pytest.raises(ValueError, match="shape"):
        nearest_counterfactual(small, 0, [0, 1], stats=distance_stats(small))


def test_position_out_of_range(small):
    with pytest.raises(IndexError):
        nearest_counterfactual(small, 5, [0, 1, 0, 1, 0], stats=distance_stats(small))


# regression


def reference_regression_nearest(rows, position, predictions, threshold):
    all_distances = reference_distance(rows, rows[position], FEATURES, NUMERIC, "l1")
    best = None
    for index, distance in enumerate(all_distances):
        difference = abs(predictions[index] - predictions[position])
        if index == position or difference < threshold or difference == 0:
            continue
        if best is None or distance < all_distances[best]:
            best = index
    return best


@pytest.mark.parametrize("encode", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_regression_default_threshold_is_prediction_std(seed, encode):
    frame = mixed_frame(seed)
    stats = distance_stats(frame, exclude=["label"], encode=encode)
    predictions = np.random.default_rng(seed).normal(size=len(frame))
    threshold = reference_std(list(predictions))
    rows = records(frame)

    for position in range(len(frame)):
        found = nearest_counterfactual_regression(
            frame, position, predictions, stats=stats
        )
        expected = reference_regression_nearest(rows, position, predictions, threshold)
        assert (None if found is None else found.position) == expected


def test_regression_threshold_is_inclusive():
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    stats = distance_stats(frame)

    found = nearest_counterfactual_regression(
        frame, 0, [10.0, 10.5, 11.0, 20.0], stats=stats, min_difference=1.0
    )

    assert found.position == 2


def test_regression_equal_predictions_give_none():
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0]})
    stats = distance_stats(frame)

    found = nearest_counterfactual_regression(frame, 0, [4.0, 4.0, 4.0], stats=stats)

    assert found is None


def test_regression_nan_prediction_never_chosen():
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0]})
    stats = distance_stats(frame)

    found = nearest_counterfactual_regression(
        frame, 0, [0.0, np.nan, 5.0], stats=stats, min_difference=1.0
    )

    assert found.position == 2
