"""MongoDB-style run filters and sort orders for ``Api().runs``, as W&B takes them.

A filter is a dict of fields to conditions::

    {"state": "finished"}
    {"config.lr": {"$lt": 0.01}, "summary_metrics.val_acc": {"$gte": 0.8}}
    {"$or": [{"tags": "baseline"}, {"group": "ablation"}]}

Fields:

- ``config.<key>``, also with W&B's trailing ``.value``
- ``summary_metrics.<key>`` or ``summary.<key>``, where ``loss.min`` reads a
  ``define_metric`` aggregate
- ``tags``, which matches when the run's list contains the value
- ``state``, ``group``, ``job_type`` (or ``jobType``), ``notes``, ``sweep``
- ``display_name`` (or ``displayName``) for the run name, and ``name`` or
  ``id`` for the run id, as in W&B
- ``created_at`` (or ``createdAt``) as ISO 8601 text in UTC, which string
  comparisons order correctly.

Operators: ``$eq $ne $gt $gte $lt $lte $in $nin $exists $regex``, combined
with ``$and``, ``$or`` and ``$nor``. Filters are evaluated in Python on the
project's runs, and no text is executed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tracking.metrics import summary_value

_MISSING = object()
_LOGICAL = ("$and", "$or", "$nor")
_FIELDS = {
    "state": "state",
    "tags": "tags",
    "group": "group",
    "job_type": "job_type",
    "jobType": "job_type",
    "notes": "notes",
    "sweep": "sweep_id",
    "sweep_id": "sweep_id",
    "display_name": "name",
    "displayName": "name",
    "name": "run_id",
    "id": "run_id",
    "created_at": "created_at_iso",
    "createdAt": "created_at_iso",
}


def _compare(operator: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def check(value: Any, target: Any) -> bool:
        if value is _MISSING or value is None:
            return False
        try:
            return bool(operator(value, target))
        except TypeError:
            return False

    return check


def _equals(value: Any, target: Any) -> bool:
    if isinstance(value, list) and not isinstance(target, list):
        return target in value
    return value == target


def _is_in(value: Any, targets: Any) -> bool:
    if not isinstance(targets, Sequence) or isinstance(targets, str):
        raise ValueError(f"$in and $nin take a list, got {targets!r}")
    if isinstance(value, list):
        return any(item in targets for item in value)
    return value is not _MISSING and value in targets


def _regex(value: Any, pattern: Any) -> bool:
    return isinstance(value, str) and re.search(str(pattern), value) is not None


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda value, target: value is not _MISSING and _equals(value, target),
    "$ne": lambda value, target: value is _MISSING or not _equals(value, target),
    "$gt": _compare(lambda value, target: value > target),
    "$gte": _compare(lambda value, target: value >= target),
    "$lt": _compare(lambda value, target: value < target),
    "$lte": _compare(lambda value, target: value <= target),
    "$in": _is_in,
    "$nin": lambda value, targets: not _is_in(value, targets),
    "$exists": lambda value, wanted: (value is not _MISSING) == bool(wanted),
    "$regex": _regex,
}


def field_value(record: Mapping[str, Any], field: str) -> Any:
    """Return the value of ``field`` in a run record, or a missing marker."""
    head, _, rest = field.partition(".")
    if head == "config" and rest:
        value = summary_value(record["config"], rest)
        if value is None and rest.endswith(".value"):
            value = summary_value(record["config"], rest[: -len(".value")])
        return _MISSING if value is None else value
    if head in ("summary_metrics", "summary") and rest:
        value = summary_value(record["summary"], rest)
        return _MISSING if value is None else value
    key = _FIELDS.get(field)
    if key is None:
        return _MISSING
    value = record.get(key)
    return _MISSING if value is None else value


def has_field(record: Mapping[str, Any], field: str) -> bool:
    """Return whether a run record has a value for ``field``."""
    return field_value(record, field) is not _MISSING


def matches(record: Mapping[str, Any], filters: Mapping[str, Any] | None) -> bool:
    """Return whether a run record satisfies every condition of ``filters``.

    Raises
    ------
    ValueError
        For an unknown ``$`` operator or a malformed ``$and``/``$or``/``$nor``.
    """
    for field, condition in (filters or {}).items():
        if field in _LOGICAL:
            if not isinstance(condition, list | tuple):
                raise ValueError(f"{field} takes a list of filters, got {condition!r}")
            results = [matches(record, item) for item in condition]
            passed = {
                "$and": all(results),
                "$or": any(results),
                "$nor": not any(results),
            }[field]
        elif field.startswith("$"):
            raise ValueError(
                f"unknown filter operator {field!r}; use $and, $or or $nor at "
                "the top level"
            )
        else:
            passed = _field_matches(field_value(record, field), condition)
        if not passed:
            return False
    return True


def _field_matches(value: Any, condition: Any) -> bool:
    if isinstance(condition, Mapping) and any(
        str(key).startswith("$") for key in condition
    ):
        for operator, target in condition.items():
            check = _OPERATORS.get(operator)
            if check is None:
                raise ValueError(
                    f"unknown filter operator {operator!r}; use one of "
                    f"{', '.join(_OPERATORS)}"
                )
            if not check(value, target):
                return False
        return True
    return _OPERATORS["$eq"](value, condition)


def sort_records(records: list[dict[str, Any]], order: str | None) -> list[dict]:
    """Sort run records by ``"+field"`` or ``"-field"``; missing values go last."""
    if not order:
        return records
    descending = order.startswith("-")
    field = order.lstrip("+-")
    present = []
    missing = []
    for record in records:
        value = field_value(record, field)
        (missing if value is _MISSING else present).append((value, record))
    try:
        present.sort(key=lambda item: item[0], reverse=descending)
    except TypeError:
        present.sort(key=lambda item: str(item[0]), reverse=descending)
    return [record for _, record in present] + [record for _, record in missing]
