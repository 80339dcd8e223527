"""A run's summary: each metric's last value, or the aggregates define_metric requests.

Keys that a ``define_metric`` summary covers keep running aggregates (min,
max, sum, count), updated at each committed row in constant time. Other keys
cost one dict update. A definition made after values were logged starts
from aggregates that the run computes once from its stored history. As in
W&B, a NaN makes min, max and mean NaN, and booleans and media count only
for ``first`` and ``last``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from tracking.metrics import MetricDefinitions
from tracking.store import SummaryChanges
from tracking.values import check_key, to_json_value

# Positions in a key's running aggregates.
_MIN, _MAX, _SUM, _COUNT = range(4)

_HIDDEN = object()


class Summary:
    """A run's summary, read and set like a dict or an object.

    A key's value is its last logged value unless a ``define_metric`` summary
    applies, which makes it a dict such as ``{"min": 0.2, "last": 0.3}``.
    Setting a key explicitly replaces that dict with the given value until
    the key is defined again.
    """

    def __init__(
        self,
        on_change: Callable[[], None] | None = None,
        metrics: MetricDefinitions | None = None,
    ):
        # The last logged or explicitly set value of each key.
        object.__setattr__(self, "_items", {})
        # The first logged value of each key, and the keys seen so far.
        object.__setattr__(self, "_first", {})
        object.__setattr__(self, "_known", set())
        # Keys under an aggregating definition, and their running aggregates.
        object.__setattr__(self, "_tracked", set())
        object.__setattr__(self, "_stats", {})
        object.__setattr__(self, "_explicit", set())
        # Keys this process logged, set or removed. Only these are written to
        # the store, which merges them into the stored summary per key.
        object.__setattr__(self, "_touched", set())
        object.__setattr__(self, "_removed", set())
        if metrics is None:
            metrics = MetricDefinitions()
        object.__setattr__(self, "_metrics", metrics)
        object.__setattr__(self, "_on_change", on_change)

    # Reading

    def __getitem__(self, key: str) -> Any:
        value = self._value(key, self._items[key])
        if value is _HIDDEN:
            raise KeyError(key)
        return value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"summary has no key {name!r}") from None

    def __contains__(self, key: object) -> bool:
        if key not in self._items:
            return False
        return self._value(key, self._items[key]) is not _HIDDEN

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return f"Summary({self.as_dict()!r})"

    def keys(self) -> list[str]:
        return list(self.as_dict())

    def items(self) -> list[tuple[str, Any]]:
        return list(self.as_dict().items())

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as stored: aggregated keys as dicts."""
        # The writer thread calls this while log() adds keys, so iterate over a
        # copy (dict() copies in one step under the GIL).
        items = dict(self._items)
        if not len(self._metrics):
            return items
        result = {}
        for key, latest in items.items():
            value = self._value(key, latest)
            if value is not _HIDDEN:
                result[key] = value
        return result

    def _value(self, key: str, latest: Any) -> Any:
        if key in self._explicit:
            return latest
        metric = self._metrics.lookup(key)
        if metric is None or not metric.summary:
            return latest
        if metric.no_summary:
            return _HIDDEN
        return self._aggregates(key, latest, metric.summary)

    def _aggregates(self, key: str, latest: Any, ops: tuple[str, ...]) -> dict:
        stats = self._stats.get(key)
        result: dict[str, Any] = {}
        for op in ops:
            if op == "last":
                result["last"] = latest
            elif op == "first":
                if key in self._first:
                    result["first"] = self._first[key]
            elif stats is None:
                # NOTE: W&B reports 0 for min, max and mean of a key that never
                # held a number; they are left out here instead.
                continue
            elif op == "min":
                result["min"] = stats[_MIN]
            elif op == "max":
                result["max"] = stats[_MAX]
            elif op == "mean":
                result["mean"] = stats[_SUM] / stats[_COUNT]
        return result

    # Setting explicitly

    def __setitem__(self, key: str, value: Any) -> None:
        self._items[_checked(key)] = to_json_value(value, key)
        self._explicit.add(key)
        self._touch([key])
        self._notify()

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delitem__(self, key: str) -> None:
        del self._items[key]
        self._stats.pop(key, None)
        self._first.pop(key, None)
        self._known.discard(key)
        self._tracked.discard(key)
        self._explicit.discard(key)
        self._touched.discard(key)
        self._removed.add(key)
        self._notify()

    def update(self, data: Mapping[str, Any]) -> None:
        """Set several keys explicitly."""
        checked = {_checked(key): value for key, value in data.items()}
        for key, value in checked.items():
            self._items[key] = to_json_value(value, key)
            self._explicit.add(key)
        self._touch(checked)
        self._notify()

    # Run internals

    def _record_row(self, row: Mapping[str, Any]) -> None:
        """Take a committed history row into the last values and aggregates."""
        self._items.update(row)
        self._touched.update(row)
        if self._removed:
            self._removed.difference_update(row)
        if not self._known.issuperset(row):
            self._learn(row)
        if self._tracked:
            stats = self._stats
            for key in self._tracked.intersection(row):
                value = row[key]
                kind = type(value)
                if kind is not float and kind is not int:
                    continue
                entry = stats.get(key)
                if entry is None:
                    stats[key] = [value, value, value, 1]
                    continue
                if value != value:
                    entry[_MIN] = entry[_MAX] = value
                else:
                    if value < entry[_MIN]:
                        entry[_MIN] = value
                    if value > entry[_MAX]:
                        entry[_MAX] = value
                entry[_SUM] += value
                entry[_COUNT] += 1

    def _learn(self, row: Mapping[str, Any]) -> None:
        """Note the first value of new keys and whether a definition tracks them."""
        for key, value in row.items():
            if key in self._known:
                continue
            self._known.add(key)
            self._first[key] = value
            if self._aggregated(key):
                self._tracked.add(key)

    def _aggregated(self, key: str) -> bool:
        metric = self._metrics.lookup(key)
        return metric is not None and bool(metric.summary) and not metric.no_summary

    def _touch(self, keys: Iterable[str]) -> None:
        self._touched.update(keys)
        self._removed.difference_update(keys)

    def _changes(self) -> SummaryChanges:
        """Return the keys this process changed, for a per-key merge in the store.

        A key hidden by ``summary="none"`` is removed from the stored summary.
        """
        # The writer thread calls this while log() adds keys; set() and dict()
        # copy in one step under the GIL.
        touched = set(self._touched)
        items = dict(self._items)
        # A dict or list set by this process can change in place
        # (summary["d"]["b"] = 2) without a call here, so it is always written.
        touched.update(
            key
            for key in set(self._explicit)
            if isinstance(items.get(key), dict | list)
        )
        values = {}
        removed = set(self._removed)
        for key in touched:
            if key not in items:
                continue
            value = self._value(key, items[key])
            if value is _HIDDEN:
                removed.add(key)
            else:
                values[key] = value
        return SummaryChanges(values, frozenset(removed))

    def _latest(self, key: str) -> Any:
        """Return the last logged or set value of ``key``, or None."""
        return self._items.get(key)

    def _redefined(self, name: str) -> list[str]:
        """Follow a new definition of ``name``; return keys that need aggregates.

        Keys it matches stop being explicit. The returned keys were logged
        before the definition, so their aggregates must come from history.
        """
        if name.endswith("*"):
            prefix = name[:-1]
            self._explicit.difference_update(
                [key for key in self._explicit if key.startswith(prefix)]
            )
            # The definition changes how these keys read in the summary.
            self._touch([key for key in self._items if key.startswith(prefix)])
        else:
            self._explicit.discard(name)
            if name in self._items:
                self._touch([name])
        backfill = []
        for key in self._known:
            if key in self._tracked or not self._aggregated(key):
                continue
            self._tracked.add(key)
            backfill.append(key)
        return backfill

    def _set_aggregates(
        self, history: Mapping[str, tuple[Any, Any, float, float, float, int]]
    ) -> None:
        """Set keys' aggregates from ``(first, last, min, max, sum, count)`` tuples."""
        for key, (first, _last, low, high, total, count) in history.items():
            self._first.setdefault(key, first)
            if count:
                self._stats[key] = [low, high, total, count]

    def _restore(
        self,
        stored: Mapping[str, Any],
        history: Mapping[str, tuple[Any, Any, float, float, float, int]],
    ) -> None:
        """Load a resumed run's stored summary and the aggregates of its history.

        ``history`` maps each logged key to ``(first, last, min, max, sum,
        count)``; call this after the run's definitions are restored.
        """
        self._items.update(stored)
        for key, (first, last, *_rest) in history.items():
            self._known.add(key)
            self._first[key] = first
            if self._aggregated(key):
                self._tracked.add(key)
                # The stored value is the aggregate dict; "last" is in history.
                self._items[key] = last
            else:
                self._items.setdefault(key, last)
        self._set_aggregates(
            {key: value for key, value in history.items() if key in self._tracked}
        )

    def _notify(self) -> None:
        if self._on_change is not None:
            self._on_change()


def _checked(key: Any) -> str:
    """Return a summary key the store can hold; raise naming it otherwise."""
    if not isinstance(key, str):
        raise TypeError(f"summary keys must be strings, got {key!r}")
    return check_key(key, "summary key")
