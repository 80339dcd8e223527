"""Sweep config reading: inference of distributions, YAML numbers, every error."""

from __future__ import annotations

import copy
import logging
import re

import pytest

from tracking.sweeps import SweepConfigError, load_sweep_config, preview
from tracking.sweeps.config import read_yaml


def _config(parameters, **top):
    return {"method": "random", "parameters": parameters, **top}


def _distribution(spec):
    return load_sweep_config(_config({"x": spec})).parameters[0].distribution


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"values": [1, 2]}, "categorical"),
        (
            {"values": ["a", "b"], "probabilities": [0.3, 0.7]},
            "categorical_w_probabilities",
        ),
        ({"value": 3}, "constant"),
        ({"min": 0, "max": 10}, "int_uniform"),
        ({"min": 0, "max": 0.1}, "uniform"),
        ({"min": 1, "max": 10.0}, "uniform"),
        ({"min": "1e-5", "max": 0.1}, "uniform"),
        (
            {"distribution": "log_uniform_values", "min": 1e-5, "max": 0.1},
            "log_uniform_values",
        ),
    ],
)
def test_distribution_inferred_like_wandb(spec, expected):
    assert _distribution(spec) == expected


def test_defaults_filled_from_schema():
    config = load_sweep_config(
        _config(
            {
                "a": {"distribution": "normal"},
                "b": {"distribution": "q_uniform", "min": 0, "max": 4},
                "c": {"distribution": "beta"},
            }
        )
    )
    a, b, c = config.parameters
    assert (a.mu, a.sigma) == (0.0, 1.0)
    assert b.q == 1.0
    assert (c.a, c.b) == (1.0, 1.0)


def test_yaml_reads_exponents_as_numbers():
    text = """
method: bayes
metric: {name: loss, target: 1e-3}
parameters:
  lr: {distribution: log_uniform_values, min: 1e-5, max: 1e-1}
  wd: {min: 0, max: 3e6}
  flag: {values: [yes, no]}
  name: {values: [1e-5x, "1e-5"]}
"""
    raw = read_yaml(text)
    assert raw["parameters"]["lr"]["min"] == 1e-5
    assert raw["parameters"]["wd"]["max"] == 3e6
    assert raw["parameters"]["flag"]["values"] == [True, False]
    assert raw["parameters"]["name"]["values"] == ["1e-5x", "1e-5"]
    config = load_sweep_config(raw)
    assert config.metric.target == 1e-3
    assert config.parameters[3].distribution == "uniform"


def test_yaml_file_loaded(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("method: grid\nparameters:\n  x:\n    values: [1e-5, 1e-4]\n")
    config = load_sweep_config(str(path))
    assert config.parameters[0].values == [1e-5, 1e-4]
    assert load_sweep_config(path).method == "grid"


def test_callable_source_accepted():
    assert load_sweep_config(lambda: _config({"x": {"value": 1}})).method == "random"


def test_input_dict_not_mutated():
    raw = _config({"opt": {"parameters": {"lr": {"min": "1e-5", "max": 0.1}}}})
    before = copy.deepcopy(raw)
    config = load_sweep_config(raw)
    assert raw == before
    assert config.raw is not raw


def test_parameters_sorted_by_wandb_flat_name():
    config = load_sweep_config(
        _config(
            {
                "b": {"values": [1]},
                "a-b": {"values": [1]},
                "a": {"parameters": {"z": {"values": [1]}, "y": {"values": [1]}}},
            }
        )
    )
    # W&B joins nested names with ".wbnest[...].", and "-" sorts before ".".
    assert [p.name for p in config.parameters] == ["a-b", "a.y", "a.z", "b"]


def test_deprecated_log_uniform_warns(caplog):
    with caplog.at_level(logging.WARNING):
        config = load_sweep_config(
            _config({"lr": {"distribution": "log_uniform", "min": -9.2, "max": -2.3}})
        )
    assert config.parameters[0].distribution == "log_uniform"
    assert "natural-log exponents" in caplog.text
    assert "use log_uniform_values" in caplog.text


def test_preview_shows_configs():
    configs = preview(
        {
            "method": "grid",
            "parameters": {"opt": {"parameters": {"lr": {"values": [1, 2]}}}},
        }
    )
    assert configs == [{"opt": {"lr": 1}}, {"opt": {"lr": 2}}]


def test_all_problems_reported_at_once():
    with pytest.raises(SweepConfigError) as raised:
        load_sweep_config(
            {"method": "grd", "parameters": {"x": {"min": 1, "max": 0}}, "foo": 1}
        )
    assert len(raised.value.errors) == 3


# Each invalid config, and a piece of the message naming the problem and the fix.
INVALID = [
    ("not a mapping", ["method"], r"must be a mapping with method and parameters"),
    (
        "unknown key",
        _config({"x": {"value": 1}}, metirc={"name": "a"}),
        r"unknown key 'metirc' in the sweep config.*Did you mean 'metric'\?",
    ),
    (
        "no method",
        {"parameters": {"x": {"value": 1}}},
        r"has no 'method'; set it to one of grid, random, bayes",
    ),
    (
        "bad method",
        {"method": "Bayes", "parameters": {"x": {"value": 1}}},
        r"method 'Bayes' is not one of grid, random, bayes\. Did you mean 'bayes'\?",
    ),
    ("no parameters", {"method": "grid"}, r"has no 'parameters'; add a mapping"),
    (
        "empty parameters",
        {"method": "grid", "parameters": {}},
        r"parameters must be a non-empty mapping",
    ),
    ("bad name", _config({"1x": {"value": 1}}), r"parameter name '1x' is invalid"),
    (
        "spec not mapping",
        _config({"lr": 0.1}),
        r"parameter 'lr' must be a mapping such as \{values: \[\.\.\.\]\}",
    ),
    (
        "unknown parameter key",
        _config({"lr": {"min": 0.0, "maxx": 1.0}}),
        r"parameter 'lr': unknown key 'maxx'.*Did you mean 'max'\?",
    ),
    (
        "unknown distribution",
        _config({"lr": {"distribution": "loguniform", "min": 1, "max": 2}}),
        r"parameter 'lr': unknown distribution 'loguniform'"
        r".*Did you mean 'log_uniform'\?",
    ),
    (
        "cannot infer",
        _config({"lr": {"min": 0.1}}),
        r"parameter 'lr': cannot infer a distribution from keys min",
    ),
    (
        "value and values",
        _config({"lr": {"value": 1, "values": [1]}}),
        r"parameter 'lr' has both value and values",
    ),
    (
        "key of other distribution",
        _config({"lr": {"distribution": "uniform", "min": 0, "max": 1, "values": [1]}}),
        r"parameter 'lr': values does not apply to distribution uniform, "
        r"which takes min, max",
    ),
    (
        "missing key",
        _config({"lr": {"distribution": "uniform", "min": 0.0}}),
        r"parameter 'lr': distribution uniform needs max",
    ),
    (
        "non-numeric bound",
        _config({"lr": {"min": "small", "max": 1.0}}),
        r"parameter 'lr': min and max must be numbers, got 'small' and 1\.0",
    ),
    (
        "non-numeric q",
        _config({"lr": {"distribution": "q_uniform", "min": 0, "max": 1, "q": "x"}}),
        r"parameter 'lr': q must be a number, got 'x'",
    ),
    (
        "float int_uniform",
        _config({"n": {"distribution": "int_uniform", "min": 0.0, "max": 3.0}}),
        r"parameter 'n': int_uniform needs integer min and max, got 0\.0 and 3\.0",
    ),
    (
        "min not below max",
        _config({"lr": {"min": 0.1, "max": 0.01}}),
        r"parameter 'lr': min \(0\.1\) must be less than max \(0\.01\)",
    ),
    (
        "equal bounds",
        _config({"n": {"min": 3, "max": 3}}),
        r"parameter 'n': min \(3\) must be less than max \(3\)",
    ),
    (
        "log of zero",
        _config({"lr": {"distribution": "log_uniform_values", "min": 0, "max": 1}}),
        r"parameter 'lr': log_uniform_values needs min > 0, got 0",
    ),
    (
        "q not positive",
        _config({"x": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0}}),
        r"parameter 'x': q must be positive, got 0",
    ),
    (
        "sigma not positive",
        _config({"x": {"distribution": "normal", "sigma": -1}}),
        r"parameter 'x': sigma must be positive, got -1",
    ),
    (
        "beta shape",
        _config({"x": {"distribution": "beta", "a": 0}}),
        r"parameter 'x': beta's a must be positive, got 0",
    ),
    (
        "no lattice point",
        _config({"x": {"distribution": "q_uniform", "min": 1, "max": 3, "q": 4}}),
        r"parameter 'x': no multiple of q=4 lies between 1 and 3",
    ),
    (
        "empty values",
        _config({"x": {"values": []}}),
        r"parameter 'x': values must be a non-empty list",
    ),
    (
        "probabilities length",
        _config({"x": {"values": [1, 2], "probabilities": [0.2, 0.3, 0.5]}}),
        r"parameter 'x': 3 probabilities for 2 values; give one probability per value",
    ),
    (
        "probabilities sum",
        _config({"x": {"values": [1, 2], "probabilities": [0.2, 0.7]}}),
        r"parameter 'x': probabilities sum to 0\.9, not 1",
    ),
    (
        "negative probability",
        _config({"x": {"values": [1, 2], "probabilities": [1.5, -0.5]}}),
        r"parameter 'x': probabilities must not be negative",
    ),
    (
        "probabilities not numbers",
        _config({"x": {"values": [1, 2], "probabilities": "half"}}),
        r"parameter 'x': probabilities must be a list of numbers",
    ),
    (
        "grid over continuous",
        {"method": "grid", "parameters": {"lr": {"min": 0.0, "max": 1.0}}},
        r"parameter 'lr': grid search cannot enumerate distribution uniform; "
        r"give it values",
    ),
    (
        "grid over weighted",
        {
            "method": "grid",
            "parameters": {"x": {"values": [1, 2], "probabilities": [0.5, 0.5]}},
        },
        r"parameter 'x': grid search cannot enumerate distribution "
        r"categorical_w_probabilities",
    ),
    (
        "nested with other keys",
        _config({"opt": {"parameters": {"lr": {"value": 1}}, "value": 2}}),
        r"parameter 'opt' has nested parameters and also value",
    ),
    (
        "empty nested",
        _config({"opt": {"parameters": {}}}),
        r"parameter 'opt': parameters must be a non-empty mapping of nested parameters",
    ),
    (
        "nested error names path",
        _config({"opt": {"parameters": {"lr": {"min": 1.0, "max": 0.5}}}}),
        r"parameter 'opt\.lr': min \(1\.0\) must be less than max \(0\.5\)",
    ),
    (
        "metric not mapping",
        _config({"x": {"value": 1}}, metric="loss"),
        r"metric must be a mapping such as \{name: val_loss, goal: minimize\}",
    ),
    (
        "metric without name",
        _config({"x": {"value": 1}}, metric={"goal": "minimize"}),
        r"metric needs a name",
    ),
    (
        "metric goal capitalised",
        _config({"x": {"value": 1}}, metric={"name": "acc", "goal": "Maximize"}),
        r"metric goal 'Maximize' is neither minimize nor maximize \(W&B would silently "
        r"minimise\); write goal: maximize",
    ),
    (
        "metric unknown key",
        _config({"x": {"value": 1}}, metric={"name": "a", "direction": "max"}),
        r"metric: unknown key 'direction'",
    ),
    (
        "metric target",
        _config({"x": {"value": 1}}, metric={"name": "a", "target": "high"}),
        r"metric target must be a number, got 'high'",
    ),
    (
        "metric impute",
        _config({"x": {"value": 1}}, metric={"name": "a", "impute": "mean"}),
        r"metric impute 'mean' is not one of latest, best, worst",
    ),
    (
        "bayes without metric",
        {"method": "bayes", "parameters": {"x": {"min": 0.0, "max": 1.0}}},
        r"method bayes needs a metric to optimise",
    ),
    (
        "bayes only constants",
        {"method": "bayes", "metric": {"name": "a"}, "parameters": {"x": {"value": 1}}},
        r"method bayes needs at least one parameter that is not a constant",
    ),
    (
        "run_cap",
        _config({"x": {"value": 1}}, run_cap=0),
        r"run_cap must be a positive integer, got 0",
    ),
    (
        "program",
        _config({"x": {"value": 1}}, program=["train.py"]),
        r"program must be a script path such as train\.py",
    ),
    (
        "command",
        _config({"x": {"value": 1}}, command="python train.py"),
        r"command must be a list of strings",
    ),
    ("name", _config({"x": {"value": 1}}, name=3), r"name must be a string, got 3"),
    (
        "sampler",
        {
            "method": "bayes",
            "metric": {"name": "a"},
            "sampler": "cmaes",
            "parameters": {"x": {"min": 0.0, "max": 1.0}},
        },
        r"sampler 'cmaes' is not one of tpe, gp",
    ),
    (
        "sampler outside bayes",
        _config({"x": {"value": 1}}, sampler="gp"),
        r"sampler applies to method bayes only, not 'random'",
    ),
    (
        "randomize_order outside grid",
        _config({"x": {"value": 1}}, randomize_order=True),
        r"randomize_order applies to method grid only",
    ),
]

_METRIC = {"name": "loss"}
HYPERBAND_INVALID = [
    ("early_terminate not mapping", "hyperband", r"early_terminate must be a mapping"),
    (
        "type",
        {"type": "median", "min_iter": 3},
        r"early_terminate type 'median' is not supported",
    ),
    (
        "unknown key",
        {"type": "hyperband", "min_iter": 3, "etaa": 2},
        r"early_terminate: unknown key 'etaa'.*Did you mean 'eta'\?",
    ),
    (
        "both forms",
        {"type": "hyperband", "min_iter": 3, "max_iter": 27, "s": 2},
        r"early_terminate gives min_iter together with max_iter or s",
    ),
    (
        "max_iter without s",
        {"type": "hyperband", "max_iter": 27},
        r"early_terminate needs min_iter, or max_iter together with s "
        r"\(got max_iter=27, s=None\)",
    ),
    (
        "no bands",
        {"type": "hyperband"},
        r"early_terminate needs min_iter, or max_iter together with s",
    ),
    (
        "min_iter zero",
        {"type": "hyperband", "min_iter": 0},
        r"early_terminate min_iter must be a positive integer, got 0",
    ),
    (
        "eta too small",
        {"type": "hyperband", "min_iter": 2, "eta": 1},
        r"early_terminate eta must be a number greater than 1, got 1",
    ),
    (
        "strict",
        {"type": "hyperband", "min_iter": 2, "strict": "yes"},
        r"early_terminate strict must be true or false, got 'yes'",
    ),
]


@pytest.mark.parametrize(
    ("case", "raw", "message"), INVALID, ids=[c[0] for c in INVALID]
)
def test_invalid_config_message(case, raw, message):
    with pytest.raises(SweepConfigError) as raised:
        load_sweep_config(raw)
    assert any(re.search(message, error) for error in raised.value.errors), (
        raised.value.errors
    )


@pytest.mark.parametrize(
    ("case", "spec", "message"),
    HYPERBAND_INVALID,
    ids=[c[0] for c in HYPERBAND_INVALID],
)
def test_invalid_hyperband_message(case, spec, message):
    raw = _config({"x": {"value": 1}}, metric=_METRIC, early_terminate=spec)
    with pytest.raises(SweepConfigError) as raised:
        load_sweep_config(raw)
    assert any(re.search(message, error) for error in raised.value.errors), (
        raised.value.errors
    )


# Parameters written in YAML with NaN, infinities or out-of-range shapes, and
# the message naming the parameter, the value and the fix.
_BOUND_FIX = r"give finite bounds, or use a normal or log_normal distribution"
OUT_OF_RANGE = [
    (
        "min nan",
        "{min: .nan, max: 1.0}",
        rf"'x': min must be a finite number, got nan; {_BOUND_FIX}",
    ),
    (
        "max inf",
        "{min: 0.0, max: .inf}",
        rf"'x': max must be a finite number, got inf; {_BOUND_FIX}",
    ),
    (
        "min minus inf",
        "{distribution: log_uniform_values, min: -.inf, max: 1}",
        r"'x': min must be a finite number, got -inf",
    ),
    (
        "string nan",
        "{min: 'nan', max: 1.0}",
        r"'x': min must be a finite number, got nan",
    ),
    (
        "int_uniform nan",
        "{distribution: int_uniform, min: .nan, max: 3}",
        r"'x': min must be a finite number, got nan",
    ),
    (
        "nan in values",
        "{values: [0.1, .nan]}",
        r"'x': values contains nan, which trials cannot be searched or compared "
        r"by; remove it, or quote it as the string 'nan'",
    ),
    ("inf in values", "{values: [1, .inf]}", r"'x': values contains inf.*string 'inf'"),
    (
        "nan in weighted values",
        "{values: [.nan, 2], probabilities: [0.5, 0.5]}",
        r"'x': values contains nan",
    ),
    (
        "mu inf",
        "{distribution: normal, mu: .inf}",
        r"'x': mu must be a finite number, got inf; mu is the mean",
    ),
    (
        "mu nan",
        "{distribution: log_normal, mu: .nan}",
        r"'x': mu must be a finite number, got nan",
    ),
    (
        "sigma nan",
        "{distribution: normal, sigma: .nan}",
        r"'x': sigma must be a finite number, got nan; sigma is the standard "
        r"deviation, such as sigma: 1",
    ),
    (
        "sigma inf",
        "{distribution: q_normal, sigma: .inf}",
        r"'x': sigma must be a finite number, got inf",
    ),
    (
        "sigma zero",
        "{distribution: normal, sigma: 0}",
        r"'x': sigma must be positive, got 0; sigma is the standard deviation",
    ),
    (
        "sigma negative",
        "{distribution: log_normal, sigma: -0.5}",
        r"'x': sigma must be positive, got -0\.5",
    ),
    (
        "q zero",
        "{distribution: q_uniform, min: 0, max: 10, q: 0}",
        r"'x': q must be positive, got 0; q is the step that values are rounded "
        r"to, such as q: 1",
    ),
    (
        "q negative",
        "{distribution: q_log_uniform_values, min: 1, max: 10, q: -2}",
        r"'x': q must be positive, got -2",
    ),
    (
        "q nan",
        "{distribution: q_normal, q: .nan}",
        r"'x': q must be a finite number, got nan; q is the step",
    ),
    (
        "beta a zero",
        "{distribution: beta, a: 0}",
        r"'x': beta's a must be positive, got 0; a and b are beta's shape parameters",
    ),
    (
        "beta b negative",
        "{distribution: q_beta, b: -1, q: 0.1}",
        r"'x': beta's b must be positive, got -1",
    ),
    (
        "beta a inf",
        "{distribution: beta, a: .inf}",
        r"'x': a must be a finite number, got inf; a and b are beta's shape",
    ),
    (
        "probabilities nan",
        "{values: [1, 2], probabilities: [.nan, 1.0]}",
        r"'x': probabilities must be finite numbers, got \[nan, 1\.0\]",
    ),
]


@pytest.mark.parametrize(
    ("case", "spec", "message"), OUT_OF_RANGE, ids=[c[0] for c in OUT_OF_RANGE]
)
def test_out_of_range_parameter_message(case, spec, message):
    raw = read_yaml(f"method: random\nparameters:\n  x: {spec}\n")
    with pytest.raises(SweepConfigError) as raised:
        load_sweep_config(raw)
    assert len(raised.value.errors) == 1, raised.value.errors
    assert re.search("parameter " + message, raised.value.errors[0]), (
        raised.value.errors
    )


def test_non_finite_target_and_eta_rejected():
    raw = _config(
        {"x": {"value": 1}},
        metric={"name": "loss", "target": float("nan")},
        early_terminate={"type": "hyperband", "min_iter": 2, "eta": float("inf")},
    )
    with pytest.raises(SweepConfigError) as raised:
        load_sweep_config(raw)
    errors = raised.value.errors
    assert any(
        error.startswith("metric target must be a finite number, got nan; leave")
        for error in errors
    ), errors
    assert any(
        "early_terminate eta must be a number greater than 1, got inf" in error
        for error in errors
    ), errors


def test_non_finite_parameter_stores_no_sweep(sqlite_store):
    import tracking
    from tracking.sweeps import store as sweep_store

    with pytest.raises(SweepConfigError, match="min must be a finite number"):
        tracking.sweep(_config({"lr": {"min": float("nan"), "max": 1.0}}))
    assert sweep_store.list_sweeps(tracking.open_store()) == []


def test_hyperband_needs_metric():
    raw = _config(
        {"x": {"value": 1}}, early_terminate={"type": "hyperband", "min_iter": 3}
    )
    with pytest.raises(SweepConfigError, match="early_terminate needs a metric"):
        load_sweep_config(raw)


def test_hyperband_defaults():
    raw = _config(
        {"x": {"value": 1}},
        metric=_METRIC,
        early_terminate={"type": "hyperband", "min_iter": 3},
    )
    settings = load_sweep_config(raw).hyperband
    assert settings.eta == 3.0
    assert settings.strict is True


def test_invalid_metric_gets_one_message():
    raw = {
        "method": "bayes",
        "metric": {"name": "loss", "impute": "bogus"},
        "parameters": {"x": {"min": 0.0, "max": 1.0}},
    }
    with pytest.raises(SweepConfigError) as raised:
        load_sweep_config(raw)
    assert "metric impute 'bogus' is not one of" in str(raised.value)
    assert "needs a metric" not in str(raised.value)
