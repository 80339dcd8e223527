"""Each distribution's draws against its definition, with scipy as the reference."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from tracking.sweeps.config import load_sweep_config

QUANTILES = np.array([0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99])
DRAWS = 4000


def _parameter(spec):
    config = load_sweep_config({"method": "random", "parameters": {"x": spec}})
    return config.parameters[0]


def _draws(parameter, seed=0):
    return parameter.sample(np.random.default_rng(seed), DRAWS)


CONTINUOUS = [
    ({"distribution": "uniform", "min": -2.0, "max": 5.0}, stats.uniform(-2, 7), False),
    (
        {"distribution": "log_uniform_values", "min": 1e-4, "max": 0.1},
        stats.loguniform(1e-4, 0.1),
        False,
    ),
    (
        {"distribution": "log_uniform", "min": -9.0, "max": -2.0},
        stats.loguniform(math.exp(-9), math.exp(-2)),
        False,
    ),
    (
        {"distribution": "inv_log_uniform", "min": 1.0, "max": 4.0},
        stats.loguniform(math.exp(-4), math.exp(-1)),
        True,
    ),
    (
        {"distribution": "inv_log_uniform_values", "min": 0.1, "max": 10.0},
        stats.loguniform(0.1, 10.0),
        True,
    ),
    ({"distribution": "normal", "mu": 3.0, "sigma": 2.0}, stats.norm(3, 2), False),
    (
        {"distribution": "log_normal", "mu": 0.5, "sigma": 0.8},
        stats.lognorm(s=0.8, scale=math.exp(0.5)),
        False,
    ),
    ({"distribution": "beta", "a": 2.0, "b": 5.0}, stats.beta(2, 5), False),
]


@pytest.mark.parametrize(("spec", "reference", "mirrored"), CONTINUOUS)
def test_continuous_ppf_matches_scipy(spec, reference, mirrored):
    """Check that ppf(u) is the reference's ppf (of 1 - u for inv_ forms)."""
    parameter = _parameter(spec)
    expected = reference.ppf(1 - QUANTILES if mirrored else QUANTILES)
    np.testing.assert_allclose(parameter.ppf(QUANTILES), expected, rtol=1e-9)


@pytest.mark.parametrize(("spec", "reference", "mirrored"), CONTINUOUS)
def test_continuous_draws_follow_reference(spec, reference, mirrored):
    draws = np.array(_draws(_parameter(spec)))
    np.testing.assert_allclose(
        np.quantile(draws, QUANTILES[1:-1]),
        reference.ppf(QUANTILES[1:-1]),
        rtol=0.08,
        atol=0.03 * reference.std(),
    )
    assert stats.kstest(draws, reference.cdf).pvalue > 0.01


def test_inv_log_uniform_values_median_is_log_uniform():
    """Check W&B's finding: min 0.1, max 10 has median near 1, like log-uniform."""
    draws = _draws(
        _parameter({"distribution": "inv_log_uniform_values", "min": 0.1, "max": 10.0})
    )
    assert abs(np.median(draws) - 1.0) < 0.1


def _chi_square_pvalue(draws, probabilities):
    counts = Counter(draws)
    observed = [counts.get(value, 0) for value in probabilities]
    expected = [p * len(draws) for p in probabilities.values()]
    assert sum(observed) == len(draws)
    return stats.chisquare(observed, expected).pvalue


def test_int_uniform_is_inclusive_and_uniform():
    parameter = _parameter({"min": 3, "max": 7})
    assert parameter.distribution == "int_uniform"
    draws = _draws(parameter)
    assert set(draws) == {3, 4, 5, 6, 7}
    assert all(type(value) is int for value in draws)
    assert _chi_square_pvalue(draws, {v: 0.2 for v in range(3, 8)}) > 0.01
    assert parameter.ppf([0.0, 0.9999999, 1.0]) == [3, 7, 7]


def test_categorical_picks_floor_u_times_n():
    parameter = _parameter({"values": ["a", "b", "c", "d"]})
    assert parameter.ppf([0.0, 0.2499, 0.25, 0.74, 0.99, 1.0]) == [
        "a",
        "a",
        "b",
        "c",
        "d",
        "d",
    ]
    draws = _draws(parameter)
    assert _chi_square_pvalue(draws, dict.fromkeys("abcd", 0.25)) > 0.01


def test_weighted_categorical_uses_first_cumulative_above_u():
    parameter = _parameter(
        {"values": ["a", "b", "c"], "probabilities": [0.2, 0.5, 0.3]}
    )
    assert parameter.distribution == "categorical_w_probabilities"
    assert parameter.ppf([0.0, 0.19, 0.2, 0.69, 0.7, 0.999]) == [
        "a",
        "a",
        "b",
        "b",
        "c",
        "c",
    ]
    draws = _draws(parameter)
    assert _chi_square_pvalue(draws, {"a": 0.2, "b": 0.5, "c": 0.3}) > 0.01


def test_constant_returns_value():
    parameter = _parameter({"value": {"depth": 3}})
    assert parameter.distribution == "constant"
    assert _draws(parameter)[:3] == [{"depth": 3}] * 3


def test_q_uniform_stays_within_range():
    """Check the fix of W&B's q_uniform, which returns 0 for min 1, max 10, q 4."""
    parameter = _parameter({"distribution": "q_uniform", "min": 1, "max": 10, "q": 4})
    draws = _draws(parameter)
    assert set(draws) == {4, 8}
    assert all(type(value) is int for value in draws)
    # X ~ U(1, 10) rounds to 0 or 4 below 6 (clipped to 4), to 8 from 6 on.
    assert _chi_square_pvalue(draws, {4: 5 / 9, 8: 4 / 9}) > 0.01


def test_q_uniform_default_q_gives_floats():
    parameter = _parameter({"distribution": "q_uniform", "min": 0, "max": 3})
    draws = _draws(parameter)
    assert set(draws) == {0.0, 1.0, 2.0, 3.0}
    assert all(type(value) is float for value in draws)
    # Round half to even: [0, 0.5] -> 0, (0.5, 1.5) -> 1, [1.5, 2.5] -> 2, else 3.
    assert (
        _chi_square_pvalue(draws, {0.0: 1 / 6, 1.0: 1 / 3, 2.0: 1 / 3, 3.0: 1 / 6})
        > 0.01
    )


def test_q_log_uniform_values_never_zero():
    """Check the fix of W&B's q_log_uniform_values, which gives 0 a third of draws."""
    parameter = _parameter(
        {"distribution": "q_log_uniform_values", "min": 1, "max": 100, "q": 10}
    )
    draws = np.array(_draws(parameter))
    assert draws.min() == 10
    assert draws.max() == 100
    # Values below 15 round to 10 (or 0, clipped to 10): P = ln 15 / ln 100.
    share = np.mean(draws == 10)
    assert abs(share - math.log(15) / math.log(100)) < 0.03


def test_q_normal_rounds_half_to_even():
    parameter = _parameter(
        {"distribution": "q_normal", "mu": 0.0, "sigma": 3.0, "q": 2}
    )
    assert parameter.quantize([1.0, 3.0, 5.0, -1.0, 2.9]) == [0, 4, 4, 0, 2]
    u = stats.norm.cdf(np.array([0.9, 3.2, 4.9, -1.2]) / 3.0)
    assert parameter.ppf(u) == [0, 4, 4, -2]
    draws = np.array(_draws(parameter))
    assert set(np.unique(draws % 2)) == {0}
    expected = stats.norm(0, 3).cdf(1) - stats.norm(0, 3).cdf(-1)
    assert abs(np.mean(draws == 0) - expected) < 0.03


def test_q_log_normal_is_positive_multiple():
    parameter = _parameter(
        {"distribution": "q_log_normal", "mu": 0.0, "sigma": 1.0, "q": 0.5}
    )
    draws = np.array(_draws(parameter))
    assert draws.min() == 0.5
    np.testing.assert_allclose(draws / 0.5, np.round(draws / 0.5))
    # Values below 0.75 (or 0.25, clipped up) round to 0.5.
    assert abs(np.mean(draws == 0.5) - stats.lognorm(s=1).cdf(0.75)) < 0.03


def test_q_beta_stays_within_unit_interval():
    parameter = _parameter({"distribution": "q_beta", "a": 0.5, "b": 0.5, "q": 0.6})
    draws = _draws(parameter)
    assert set(draws) == {0.0, 0.6}
    # Beta(0.5, 0.5) above 0.9 rounds to 1.2 in W&B; here it is clipped to 0.6.
    assert abs(draws.count(0.0) / DRAWS - stats.beta(0.5, 0.5).cdf(0.3)) < 0.03


def test_draws_repeat_with_seed():
    parameter = _parameter({"min": 0.0, "max": 1.0})
    assert _draws(parameter, seed=7) == _draws(parameter, seed=7)
    assert _draws(parameter, seed=7) != _draws(parameter, seed=8)


def test_cdf_inverts_ppf():
    for spec in (
        {"distribution": "normal", "mu": 1.0, "sigma": 2.0},
        {"distribution": "log_normal", "mu": 0.0, "sigma": 0.5},
        {"distribution": "beta", "a": 2.0, "b": 3.0},
    ):
        parameter = _parameter(spec)
        values = parameter.ppf(QUANTILES)
        np.testing.assert_allclose(
            [parameter.cdf(value) for value in values], QUANTILES, rtol=1e-9
        )
