"""The checks behind :func:`tracking.sweeps.config.load_sweep_config`.

:class:`SweepChecker` collects every problem of a raw sweep config instead of
stopping at the first, so a user sees them all at once. Each message names
the parameter or key and the fix.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from typing import Any

from tracking.sweeps.config import (
    Hyperband,
    Metric,
    SweepConfig,
    wandb_sort_key,
)
from tracking.sweeps.distributions import (
    DISTRIBUTION_KEYS,
    DISTRIBUTIONS,
    EXPONENT_DISTRIBUTIONS,
    GRID_DISTRIBUTIONS,
    NUMERIC_KEYS,
    REQUIRED,
    Parameter,
)

METHODS = ("grid", "random", "bayes")
GOALS = ("minimize", "maximize")
IMPUTE_CHOICES = ("latest", "best", "worst")
SAMPLERS = ("tpe", "gp")
TOP_LEVEL_KEYS = (
    "method",
    "parameters",
    "metric",
    "early_terminate",
    "run_cap",
    "program",
    "command",
    "name",
    "description",
    "entity",
    "project",
    "controller",
    "job",
    "image_uri",
    "sampler",
    "randomize_order",
)
METRIC_KEYS = ("name", "goal", "target", "impute", "impute_while_running")
HYPERBAND_KEYS = ("type", "min_iter", "max_iter", "s", "eta", "strict")
PARAMETER_KEYS = (
    "distribution",
    "parameters",
    *{k for d in DISTRIBUTION_KEYS.values() for k in d},
)
_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# How to fix each numeric distribution key that is out of range.
_FINITE_FIXES = {
    "min": "give finite bounds, or use a normal or log_normal distribution for "
    "values without a bound",
    "max": "give finite bounds, or use a normal or log_normal distribution for "
    "values without a bound",
    "mu": "mu is the mean (of the logarithm for log_normal), such as mu: 0",
    "sigma": "sigma is the standard deviation, such as sigma: 1",
    "q": "q is the step that values are rounded to, such as q: 1 or q: 0.01",
    "a": "a and b are beta's shape parameters, such as a: 2 (a: 1, b: 1 is "
    "uniform on [0, 1])",
    "b": "a and b are beta's shape parameters, such as b: 2 (a: 1, b: 1 is "
    "uniform on [0, 1])",
}


def _suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_number(value: Any) -> Any:
    """Read a numeric string such as "1e-5" as a number; leave others alone."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if re.fullmatch(r"[-+]?[0-9]+", value.strip()) else number
    return value


class SweepChecker:
    """Collects every problem in a sweep config instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def check(self, raw: dict[str, Any]) -> SweepConfig | None:
        for key in raw:
            if key not in TOP_LEVEL_KEYS:
                self.errors.append(
                    f"unknown key {key!r} in the sweep config; the keys are "
                    f"{', '.join(TOP_LEVEL_KEYS)}.{_suggest(key, TOP_LEVEL_KEYS)}"
                )

        method = raw.get("method")
        if method is None:
            self.errors.append(
                "the sweep config has no 'method'; set it to one of "
                f"{', '.join(METHODS)}"
            )
        elif method not in METHODS:
            self.errors.append(
                f"method {method!r} is not one of {', '.join(METHODS)}."
                f"{_suggest(str(method).lower(), METHODS)}"
            )

        parameters = self._parameters(raw.get("parameters"), method)
        metric = self._metric(raw.get("metric"))
        hyperband = self._hyperband(raw.get("early_terminate"))
        # A metric given but invalid has its own message already.
        metric_missing = metric is None and raw.get("metric") is None
        if metric_missing and method == "bayes":
            self.errors.append(
                "method bayes needs a metric to optimise; add "
                "metric: {name: <logged key>, goal: minimize or maximize}"
            )
        if metric_missing and hyperband is not None:
            self.errors.append(
                "early_terminate needs a metric to compare runs by; add "
                "metric: {name: <logged key>, goal: minimize or maximize}"
            )
        searchable = [p for p in parameters if not p.is_constant]
        if method == "bayes" and parameters and not searchable:
            self.errors.append(
                "method bayes needs at least one parameter that is not a constant; "
                "add a parameter with values or min/max, or use method grid"
            )

        run_cap = raw.get("run_cap")
        if run_cap is not None and not (
            isinstance(run_cap, int) and not isinstance(run_cap, bool) and run_cap > 0
        ):
            self.errors.append(
                f"run_cap must be a positive integer, got {run_cap!r}; leave it "
                "out for no limit"
            )

        program = raw.get("program")
        if program is not None and not isinstance(program, str):
            self.errors.append(
                f"program must be a script path such as train.py, got {program!r}"
            )
        command = raw.get("command")
        if command is not None and not (
            isinstance(command, list) and all(isinstance(c, str) for c in command)
        ):
            self.errors.append(
                "command must be a list of strings such as "
                "['${env}', '${interpreter}', '${program}', '${args}'], "
                f"got {command!r}"
            )
        for key in ("name", "description", "project", "entity"):
            value = raw.get(key)
            if value is not None and not isinstance(value, str):
                self.errors.append(f"{key} must be a string, got {value!r}")

        sampler = raw.get("sampler", "tpe")
        if sampler not in SAMPLERS:
            self.errors.append(
                f"sampler {sampler!r} is not one of {', '.join(SAMPLERS)} (tpe is "
                "Optuna's TPE, gp its Gaussian process sampler)"
            )
        elif "sampler" in raw and method != "bayes":
            self.errors.append(
                f"sampler applies to method bayes only, not {method!r}; remove it"
            )
        randomize_order = raw.get("randomize_order", False)
        if not isinstance(randomize_order, bool):
            self.errors.append(
                f"randomize_order must be true or false, got {randomize_order!r}"
            )
        elif randomize_order and method != "grid":
            self.errors.append(
                f"randomize_order applies to method grid only, not {method!r}; "
                "remove it"
            )

        if self.errors:
            return None
        return SweepConfig(
            raw=raw,
            method=method,
            parameters=tuple(sorted(parameters, key=wandb_sort_key)),
            metric=metric,
            hyperband=hyperband,
            run_cap=run_cap,
            program=program,
            command=tuple(command) if command is not None else None,
            name=raw.get("name"),
            description=raw.get("description"),
            project=raw.get("project"),
            sampler=sampler,
            randomize_order=randomize_order,
            warnings=tuple(self.warnings),
        )

    # Parameters

    def _parameters(self, spec: Any, method: str | None) -> list[Parameter]:
        if spec is None:
            self.errors.append(
                "the sweep config has no 'parameters'; add a mapping such as "
                "parameters: {lr: {min: 0.0001, max: 0.1}}"
            )
            return []
        if not isinstance(spec, Mapping) or not spec:
            self.errors.append(
                "parameters must be a non-empty mapping of parameter names to "
                f"specs, got {spec!r}"
            )
            return []
        found: list[Parameter] = []
        self._collect(spec, (), method, found)
        return found

    def _collect(
        self,
        spec: Mapping[str, Any],
        prefix: tuple[str, ...],
        method: str | None,
        found: list[Parameter],
    ) -> None:
        for name, item in spec.items():
            path = (*prefix, str(name))
            dotted = ".".join(path)
            if not isinstance(name, str) or not _NAME_PATTERN.match(name):
                self.errors.append(
                    f"parameter name {dotted!r} is invalid; names start with a "
                    "letter or '_' and contain only letters, digits, '_', '.' "
                    "and '-'"
                )
                continue
            if not isinstance(item, Mapping):
                self.errors.append(
                    f"parameter {dotted!r} must be a mapping such as "
                    f"{{values: [...]}} or {{value: ...}}, got {item!r}"
                )
                continue
            if "parameters" in item:
                self._nested(item, path, method, found)
                continue
            parameter = self._parameter(dotted, path, dict(item))
            if parameter is None:
                continue
            if method == "grid" and parameter.distribution not in GRID_DISTRIBUTIONS:
                self.errors.append(
                    f"parameter {dotted!r}: grid search cannot enumerate "
                    f"distribution {parameter.distribution}; give it values, "
                    "int_uniform or q_uniform, or use method random or bayes"
                )
            found.append(parameter)

    def _nested(
        self,
        item: Mapping[str, Any],
        path: tuple[str, ...],
        method: str | None,
        found: list[Parameter],
    ) -> None:
        dotted = ".".join(path)
        others = sorted(set(item) - {"parameters"})
        if others:
            self.errors.append(
                f"parameter {dotted!r} has nested parameters and also "
                f"{', '.join(others)}; a nested parameter holds only 'parameters'"
            )
            return
        nested = item["parameters"]
        if not isinstance(nested, Mapping) or not nested:
            self.errors.append(
                f"parameter {dotted!r}: parameters must be a non-empty mapping "
                f"of nested parameters, got {nested!r}"
            )
            return
        self._collect(nested, path, method, found)

    def _parameter(
        self, dotted: str, path: tuple[str, ...], item: dict[str, Any]
    ) -> Parameter | None:
        unknown = [key for key in item if key not in PARAMETER_KEYS]
        for key in unknown:
            self.errors.append(
                f"parameter {dotted!r}: unknown key {key!r}; parameter keys are "
                f"{', '.join(PARAMETER_KEYS)}.{_suggest(key, PARAMETER_KEYS)}"
            )
        if unknown:
            return None
        for key in NUMERIC_KEYS:
            if key in item:
                item[key] = _as_number(item[key])

        distribution = item.pop("distribution", None)
        if distribution is None:
            distribution = self._infer(dotted, item)
            if distribution is None:
                return None
        elif distribution not in DISTRIBUTIONS:
            self.errors.append(
                f"parameter {dotted!r}: unknown distribution {distribution!r}; "
                f"the distributions are {', '.join(DISTRIBUTIONS)}."
                f"{_suggest(distribution, DISTRIBUTIONS)}"
            )
            return None

        accepted = DISTRIBUTION_KEYS[distribution]
        extra = [key for key in item if key not in accepted]
        if extra:
            self.errors.append(
                f"parameter {dotted!r}: {', '.join(extra)} does not apply to "
                f"distribution {distribution}, which takes "
                f"{', '.join(accepted)}; remove it"
            )
            return None
        missing = [
            key
            for key, default in accepted.items()
            if default is REQUIRED and key not in item
        ]
        if missing:
            self.errors.append(
                f"parameter {dotted!r}: distribution {distribution} needs "
                f"{' and '.join(missing)}"
            )
            return None

        spec = {key: item.get(key, default) for key, default in accepted.items()}
        if not self._check_values(dotted, distribution, spec):
            return None
        if distribution in EXPONENT_DISTRIBUTIONS:
            self.warnings.append(
                f"parameter {dotted!r} uses {distribution}, where min and max are "
                f"natural-log exponents (min {spec['min']} means "
                f"{math.exp(spec['min']):.3g}); use "
                f"{EXPONENT_DISTRIBUTIONS[distribution]} to give the values "
                "themselves"
            )
        return Parameter(path=path, distribution=distribution, spec=spec)

    def _infer(self, dotted: str, item: dict[str, Any]) -> str | None:
        keys = set(item)
        if "value" in keys and "values" in keys:
            self.errors.append(
                f"parameter {dotted!r} has both value and values; keep value for "
                "a constant or values for a choice"
            )
            return None
        if keys == {"values"}:
            return "categorical"
        if keys == {"values", "probabilities"}:
            return "categorical_w_probabilities"
        if keys == {"value"}:
            return "constant"
        if keys == {"min", "max"}:
            low, high = item["min"], item["max"]
            if type(low) is int and type(high) is int:
                return "int_uniform"
            if _is_number(low) and _is_number(high):
                return "uniform"
            self.errors.append(
                f"parameter {dotted!r}: min and max must be numbers, got "
                f"{low!r} and {high!r}"
            )
            return None
        self.errors.append(
            f"parameter {dotted!r}: cannot infer a distribution from keys "
            f"{', '.join(sorted(keys)) or '(none)'}; give values, value, min and "
            "max, or nested parameters, or name a distribution"
        )
        return None

    def _check_values(self, dotted: str, distribution: str, spec: dict) -> bool:
        errors_before = len(self.errors)
        prefix = f"parameter {dotted!r}"

        if "values" in spec:
            values = spec["values"]
            if not isinstance(values, list) or not values:
                self.errors.append(
                    f"{prefix}: values must be a non-empty list, got {values!r}"
                )
                return False
        if "probabilities" in spec:
            self._check_probabilities(prefix, spec["values"], spec["probabilities"])

        for key in NUMERIC_KEYS:
            if key in spec and not _is_number(spec[key]):
                self.errors.append(
                    f"{prefix}: {key} must be a number, got {spec[key]!r}"
                )
            elif key in spec and not math.isfinite(spec[key]):
                self.errors.append(
                    f"{prefix}: {key} must be a finite number, got {spec[key]}; "
                    f"{_FINITE_FIXES[key]}"
                )
        self._check_finite_values(prefix, spec)
        if len(self.errors) > errors_before:
            return False

        if distribution == "int_uniform" and not (
            type(spec["min"]) is int and type(spec["max"]) is int
        ):
            self.errors.append(
                f"{prefix}: int_uniform needs integer min and max, got "
                f"{spec['min']!r} and {spec['max']!r}; write them without a "
                "decimal point, or use uniform for real values"
            )
        if "min" in spec and spec["min"] >= spec["max"]:
            self.errors.append(
                f"{prefix}: min ({spec['min']}) must be less than max ({spec['max']})"
            )
        if (
            distribution.removeprefix("q_").removeprefix("inv_")
            in ("log_uniform_values",)
            and spec["min"] <= 0
        ):
            self.errors.append(
                f"{prefix}: {distribution} needs min > 0, got {spec['min']}; "
                "logarithms are undefined at or below zero"
            )
        if "q" in spec and spec["q"] <= 0:
            self.errors.append(
                f"{prefix}: q must be positive, got {spec['q']}; {_FINITE_FIXES['q']}"
            )
        if "sigma" in spec and spec["sigma"] <= 0:
            self.errors.append(
                f"{prefix}: sigma must be positive, got {spec['sigma']}; "
                f"{_FINITE_FIXES['sigma']}"
            )
        for key in ("a", "b"):
            if key in spec and spec[key] <= 0:
                self.errors.append(
                    f"{prefix}: beta's {key} must be positive, got {spec[key]}; "
                    f"{_FINITE_FIXES[key]}"
                )
        if len(self.errors) > errors_before:
            return False

        if distribution.startswith("q_"):
            parameter = Parameter(path=(dotted,), distribution=distribution, spec=spec)
            first, last = parameter.lattice()
            if first > last:
                low, high = parameter.bounds()
                self.errors.append(
                    f"{prefix}: no multiple of q={spec['q']} lies between "
                    f"{low:g} and {high:g}; lower q or widen the range"
                )
        return len(self.errors) == errors_before

    def _check_finite_values(self, prefix: str, spec: dict) -> None:
        """Reject NaN and infinite floats among ``values``."""
        values = spec.get("values")
        for value in values if isinstance(values, list) else []:
            if isinstance(value, float) and not math.isfinite(value):
                self.errors.append(
                    f"{prefix}: values contains {value}, which trials cannot be "
                    "searched or compared by; remove it, or quote it as the "
                    f"string '{value}' if the program parses it"
                )

    def _check_probabilities(
        self, prefix: str, values: list, probabilities: Any
    ) -> None:
        if not isinstance(probabilities, list) or not all(
            _is_number(p) for p in probabilities
        ):
            self.errors.append(
                f"{prefix}: probabilities must be a list of numbers, got "
                f"{probabilities!r}"
            )
            return
        if len(probabilities) != len(values):
            self.errors.append(
                f"{prefix}: {len(probabilities)} probabilities for "
                f"{len(values)} values; give one probability per value"
            )
            return
        if not all(math.isfinite(p) for p in probabilities):
            self.errors.append(
                f"{prefix}: probabilities must be finite numbers, got "
                f"{probabilities}; give one probability between 0 and 1 per value"
            )
            return
        if any(p < 0 for p in probabilities):
            self.errors.append(
                f"{prefix}: probabilities must not be negative, got {probabilities}"
            )
            return
        total = sum(probabilities)
        if not math.isclose(total, 1.0, rel_tol=1e-5, abs_tol=1e-8):
            self.errors.append(
                f"{prefix}: probabilities sum to {total:g}, not 1; scale them so "
                "they add up to 1"
            )

    # Metric and early termination

    def _metric(self, spec: Any) -> Metric | None:
        if spec is None:
            return None
        if not isinstance(spec, Mapping):
            self.errors.append(
                f"metric must be a mapping such as {{name: val_loss, goal: "
                f"minimize}}, got {spec!r}"
            )
            return None

        ok = True
        for key in spec:
            if key not in METRIC_KEYS:
                self.errors.append(
                    f"metric: unknown key {key!r}; metric keys are "
                    f"{', '.join(METRIC_KEYS)}.{_suggest(key, METRIC_KEYS)}"
                )
                ok = False

        name = spec.get("name")
        if not isinstance(name, str) or not name:
            self.errors.append(
                f"metric needs a name: the key the runs log, got {name!r}"
            )
            ok = False

        goal = spec.get("goal", "minimize")
        if goal not in GOALS:
            self.errors.append(
                f"metric goal {goal!r} is neither minimize nor maximize (W&B would "
                f"silently minimise); write goal: "
                f"{'maximize' if str(goal).lower().startswith('max') else 'minimize'}"
            )
            ok = False

        target = _as_number(spec.get("target"))
        if target is not None and not _is_number(target):
            self.errors.append(f"metric target must be a number, got {target!r}")
            ok = False
        elif target is not None and not math.isfinite(target):
            self.errors.append(
                f"metric target must be a finite number, got {target}; leave "
                "target out for a sweep that does not stop at a metric value"
            )
            ok = False

        impute = spec.get("impute", "worst")
        if impute not in IMPUTE_CHOICES:
            self.errors.append(
                f"metric impute {impute!r} is not one of {', '.join(IMPUTE_CHOICES)}"
            )
            ok = False

        while_running = spec.get("impute_while_running", "false")
        if while_running is False:
            while_running = "false"
        if while_running not in (*IMPUTE_CHOICES, "false"):
            self.errors.append(
                f"metric impute_while_running {while_running!r} is not one of "
                f"{', '.join(IMPUTE_CHOICES)} or false"
            )
            ok = False

        if not ok:
            return None
        return Metric(
            name=name,
            goal=goal,
            target=None if target is None else float(target),
            impute=impute,
            impute_while_running=while_running,
        )

    def _hyperband(self, spec: Any) -> Hyperband | None:
        if spec is None:
            return None
        if not isinstance(spec, Mapping):
            self.errors.append(
                "early_terminate must be a mapping such as {type: hyperband, "
                f"min_iter: 3}}, got {spec!r}"
            )
            return None

        errors_before = len(self.errors)
        for key in spec:
            if key not in HYPERBAND_KEYS:
                self.errors.append(
                    f"early_terminate: unknown key {key!r}; hyperband keys are "
                    f"{', '.join(HYPERBAND_KEYS)}.{_suggest(key, HYPERBAND_KEYS)}"
                )

        if spec.get("type") != "hyperband":
            self.errors.append(
                f"early_terminate type {spec.get('type')!r} is not supported; "
                "the only type is hyperband"
            )
        values = {
            key: _as_number(spec.get(key)) for key in ("min_iter", "max_iter", "s")
        }
        for key, value in values.items():
            if value is not None and not (
                type(value) is int and value >= (0 if key == "s" else 1)
            ):
                floor = "a non-negative" if key == "s" else "a positive"
                self.errors.append(
                    f"early_terminate {key} must be {floor} integer, got {value!r}"
                )

        min_iter, max_iter, s = values["min_iter"], values["max_iter"], values["s"]
        if min_iter is not None and (max_iter is not None or s is not None):
            self.errors.append(
                "early_terminate gives min_iter together with max_iter or s; the "
                "bands come from min_iter alone or from max_iter and s, so keep "
                "one form"
            )
        elif min_iter is None and (max_iter is None or s is None):
            self.errors.append(
                "early_terminate needs min_iter, or max_iter together with s "
                f"(got max_iter={max_iter!r}, s={s!r})"
            )

        eta = _as_number(spec.get("eta", 3))
        if not _is_number(eta) or not math.isfinite(eta) or eta <= 1:
            self.errors.append(
                f"early_terminate eta must be a number greater than 1, got {eta!r}"
            )

        strict = spec.get("strict", True)
        if not isinstance(strict, bool):
            self.errors.append(
                f"early_terminate strict must be true or false, got {strict!r}"
            )

        if len(self.errors) > errors_before:
            return None
        return Hyperband(
            min_iter=min_iter, max_iter=max_iter, s=s, eta=float(eta), strict=strict
        )
