"""Metric definitions made with ``run.define_metric``, and reading their summaries.

A definition names one metric (``"loss"``) or, with a trailing ``*``, every
metric sharing a prefix (``"val/*"``). It can give the metric its own x axis
(``step_metric``), hide it from charts, and ask for aggregated summaries:
``summary="min,last"`` makes the summary value ``{"min": ..., "last": ...}``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from tracking.errors import UsageError

logger = logging.getLogger(__name__)

SUMMARY_OPS = ("min", "max", "mean", "last", "first", "none")
# W&B still accepts these; "best" picks min or max by the goal, "copy" is the
# default (the last value, not a dict).
DEPRECATED_SUMMARY_OPS = ("best", "copy")
GOALS = {"min": "minimize", "max": "maximize"}


@dataclass(frozen=True)
class Metric:
    """The settings of one metric name or glob, as ``define_metric`` returns them.

    ``summary`` lists the aggregations kept in the summary (empty: the last
    value, not a dict); ``goal`` is ``"minimize"`` or ``"maximize"``.
    """

    name: str
    step_metric: str | None = None
    step_sync: bool | None = None
    hidden: bool | None = None
    summary: tuple[str, ...] = ()
    goal: str | None = None

    @property
    def is_glob(self) -> bool:
        return self.name.endswith("*")

    @property
    def no_summary(self) -> bool:
        """Whether ``summary="none"`` removes the metric from the summary."""
        return "none" in self.summary

    def matches(self, key: str) -> bool:
        if self.is_glob:
            return key.startswith(self.name[:-1])
        return key == self.name

    def to_json(self) -> dict[str, Any]:
        """Return the settings that are set, as stored in the run's metadata."""
        data: dict[str, Any] = {}
        if self.step_metric is not None:
            data["step_metric"] = self.step_metric
            data["step_sync"] = self.step_sync is not False
        if self.hidden is not None:
            data["hidden"] = self.hidden
        if self.summary:
            data["summary"] = list(self.summary)
        if self.goal is not None:
            data["goal"] = self.goal
        return data

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> Metric:
        return cls(
            name=name,
            step_metric=data.get("step_metric"),
            step_sync=data.get("step_sync"),
            hidden=data.get("hidden"),
            summary=tuple(data.get("summary") or ()),
            goal=data.get("goal"),
        )


def check_metric(
    name: Any,
    step_metric: Any = None,
    step_sync: Any = None,
    hidden: Any = None,
    summary: Any = None,
    goal: Any = None,
    overwrite: Any = None,
) -> Metric:
    """Validate ``define_metric`` arguments and return them as a :class:`Metric`.

    Raises
    ------
    UsageError
        For an empty name, a ``*`` anywhere but at the end, an argument of
        the wrong type, an unknown summary aggregation or goal.
    """
    if isinstance(step_metric, Metric):
        step_metric = step_metric.name
    if not name:
        raise UsageError("define_metric() needs a non-empty metric name")
    for label, value, expected in (
        ("name", name, str),
        ("step_metric", step_metric, str),
        ("step_sync", step_sync, bool),
        ("hidden", hidden, bool),
        ("summary", summary, str),
        ("goal", goal, str),
        ("overwrite", overwrite, bool),
    ):
        if value is not None and not isinstance(value, expected):
            raise UsageError(
                f"define_metric() argument {label} must be a {expected.__name__}, "
                f"got {type(value).__name__} ({value!r:.40})"
            )
    if "*" in name[:-1]:
        raise UsageError(
            f"define_metric() name {name!r} has a '*' before its end; only a "
            "trailing '*' (a prefix glob such as 'val/*') is supported"
        )

    goal_name = None
    if goal is not None:
        goal_name = GOALS.get(goal[:3].lower())
        if goal_name is None:
            raise UsageError(
                f"define_metric() goal must be 'minimize' or 'maximize', got {goal!r}"
            )
    return Metric(
        name=name,
        step_metric=step_metric,
        step_sync=step_sync,
        hidden=hidden,
        summary=_parse_summary(summary, goal_name),
        goal=goal_name,
    )


def _parse_summary(summary: str | None, goal: str | None) -> tuple[str, ...]:
    if not summary:
        return ()
    ops: list[str] = []
    for item in summary.split(","):
        op = item.strip().lower()
        if op == "best":
            logger.warning(
                "define_metric(summary='best') is deprecated; use 'min' or 'max'"
            )
            op = "max" if goal == "maximize" else "min"
        elif op == "copy":
            logger.warning(
                "define_metric(summary='copy') is deprecated; the last value is "
                "the summary without it"
            )
            continue
        elif op not in SUMMARY_OPS:
            raise UsageError(
                f"define_metric() summary aggregation {op!r} is unknown; use a "
                f"comma-separated subset of {','.join(SUMMARY_OPS)}"
            )
        if op not in ops:
            ops.append(op)
    return tuple(ops)


class MetricDefinitions:
    """A run's metric definitions, with a per-key cache of which one applies.

    An exact name wins over globs, and among globs the longest prefix wins.
    Defining a name again merges the new settings into the old ones (summary
    aggregations add up) unless ``overwrite=True``, as in W&B.
    """

    def __init__(self) -> None:
        self._exact: dict[str, Metric] = {}
        self._globs: dict[str, Metric] = {}
        self._cache: dict[str, Metric | None] = {}
        # Metrics that copy their step metric into rows that lack it.
        self.sync_steps = False

    def __len__(self) -> int:
        return len(self._exact) + len(self._globs)

    def __iter__(self):
        yield from self._exact.values()
        yield from self._globs.values()

    def define(self, metric: Metric, overwrite: bool | None = None) -> Metric:
        """Add or merge ``metric`` and return the definition now in force."""
        table = self._globs if metric.is_glob else self._exact
        previous = table.get(metric.name)
        if previous is not None and not overwrite:
            metric = _merge(previous, metric)
        table[metric.name] = metric
        self._cache.clear()
        self.sync_steps = any(
            item.step_metric is not None and item.step_sync is not False
            for item in self
        )
        return metric

    def lookup(self, key: str) -> Metric | None:
        """Return the definition that applies to ``key``, or None."""
        try:
            return self._cache[key]
        except KeyError:
            pass
        found = self._exact.get(key)
        if found is None:
            globs = [item for item in list(self._globs.values()) if item.matches(key)]
            if globs:
                found = max(globs, key=lambda item: len(item.name))
        self._cache[key] = found
        return found

    def to_json(self) -> dict[str, dict[str, Any]]:
        return {item.name: item.to_json() for item in self}

    @classmethod
    def from_json(cls, data: Mapping[str, Mapping[str, Any]]) -> MetricDefinitions:
        definitions = cls()
        for name, settings in (data or {}).items():
            definitions.define(Metric.from_json(name, settings), overwrite=True)
        return definitions


def _merge(old: Metric, new: Metric) -> Metric:
    summary = old.summary + tuple(op for op in new.summary if op not in old.summary)
    return replace(
        old,
        step_metric=new.step_metric if new.step_metric is not None else old.step_metric,
        step_sync=new.step_sync if new.step_sync is not None else old.step_sync,
        hidden=new.hidden if new.hidden is not None else old.hidden,
        summary=summary,
        goal=new.goal if new.goal is not None else old.goal,
    )


def summary_value(summary: Mapping[str, Any], name: str) -> Any:
    """Return the summary value that ``name`` refers to, or None.

    ``name`` is a summary key (``"val_loss"``, or a flattened ``"a.b"``) or a
    key followed by an aggregation of a ``define_metric`` summary
    (``"val_loss.min"`` reads ``summary["val_loss"]["min"]``), as W&B sweep
    metrics are named. The longest matching key wins.
    """
    if name in summary:
        return summary[name]
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:cut])
        value = summary.get(head)
        if isinstance(value, Mapping):
            return summary_value(value, ".".join(parts[cut:]))
    return None


def summary_number(summary: Mapping[str, Any], name: str) -> float | None:
    """Return :func:`summary_value` as a float, or None if it is not a number.

    Booleans, dicts, strings and NaN give None; infinities are kept.
    """
    value = summary_value(summary, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return None if math.isnan(number) else number
