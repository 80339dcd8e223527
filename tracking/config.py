"""The run config: hyperparameters and settings, read like a dict or an object."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tracking.errors import ConfigError
from tracking.values import check_key, to_json_value

logger = logging.getLogger(__name__)


def normalize_key(key: str) -> str:
    """Strip the leading and trailing ``-`` that command-line flags carry."""
    if not isinstance(key, str):
        raise TypeError(f"config keys must be strings, got {key!r}")
    return key.strip("-")


def parse_config_source(source: Any) -> dict[str, Any]:
    """Turn what ``init(config=...)`` accepts into a plain dict.

    Accepts a mapping, an ``argparse.Namespace``, an object with ``__dict__``
    (absl-style flags are read through ``flag_values_dict``), or the path of a
    YAML file as a string.
    """
    if source is None:
        return {}
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, argparse.Namespace):
        return vars(source)
    if isinstance(source, str | os.PathLike):
        return _read_yaml_config(os.fspath(source))
    if hasattr(source, "flag_values_dict"):
        return dict(source.flag_values_dict())
    if hasattr(source, "__dict__"):
        return {k: v for k, v in vars(source).items() if not k.startswith("_")}
    raise TypeError(
        f"config must be a dict, an argparse.Namespace or a YAML file path, "
        f"got {type(source).__name__}"
    )


def _read_yaml_config(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            loaded = yaml.safe_load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path!r}: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path!r} must hold a mapping at the top level")

    # W&B's config-defaults.yaml style wraps each value as {"value": v}.
    unwrapped = {}
    for key, value in loaded.items():
        if isinstance(value, dict) and set(value) <= {"value", "desc"} and value:
            value = value.get("value")
        unwrapped[key] = value
    return unwrapped


class Config:
    """A run's config with W&B's rules.

    Keys and attributes are the same thing (``config.lr == config["lr"]``).
    Changing an existing key to a different value raises ``ConfigError``
    unless ``allow_val_change=True``. Keys locked by a sweep ignore updates.
    """

    def __init__(self, on_change: Callable[[dict[str, Any]], None] | None = None):
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_locked", {})
        object.__setattr__(self, "_on_change", on_change)

    # Mapping access

    def __getitem__(self, key: str) -> Any:
        return self._items[normalize_key(key)]

    def __setitem__(self, key: str, value: Any) -> None:
        self._set_many({key: value}, allow_val_change=False)

    def __delitem__(self, key: str) -> None:
        del self._items[normalize_key(key)]
        self._notify()

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and normalize_key(key) in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return f"Config({self.as_dict()!r})"

    def keys(self) -> list[str]:
        return [key for key in self._items if not key.startswith("_")]

    def items(self) -> list[tuple[str, Any]]:
        return [(key, self._items[key]) for key in self.keys()]

    def values(self) -> list[Any]:
        return [self._items[key] for key in self.keys()]

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(normalize_key(key), default)

    def as_dict(self) -> dict[str, Any]:
        """Return a copy of the items, hidden ``_`` keys included."""
        return dict(self._items)

    # Attribute access

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._items[normalize_key(name)]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._set_many({name: value}, allow_val_change=False)

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    # Updates

    def update(self, data: Any, allow_val_change: bool = False) -> None:
        """Merge ``data`` (a dict, Namespace or flags object) into the config."""
        self._set_many(parse_config_source(data), allow_val_change=allow_val_change)

    def setdefaults(self, data: Mapping[str, Any]) -> None:
        """Set only the keys that are not in the config yet."""
        missing = {
            key: value
            for key, value in parse_config_source(data).items()
            if normalize_key(key) not in self._items
        }
        self._set_many(missing, allow_val_change=False)

    def lock(self, data: Mapping[str, Any], locked_by: str) -> None:
        """Set keys that later updates cannot change, such as a sweep's parameters."""
        for key, value in data.items():
            key = check_key(normalize_key(key), "config key")
            self._items[key] = to_json_value(value, key)
            self._locked[key] = locked_by
        self._notify()

    def _set_many(self, data: Mapping[str, Any], allow_val_change: bool) -> None:
        changed = False
        for raw_key, value in data.items():
            key = check_key(normalize_key(raw_key), "config key")
            value = to_json_value(value, key)

            if key in self._locked:
                if self._items.get(key) != value:
                    logger.warning(
                        "Config item %r was locked by %r (ignored update).",
                        key,
                        self._locked[key],
                    )
                continue

            if key in self._items and self._items[key] != value:
                if not allow_val_change:
                    raise ConfigError(
                        f"Attempted to change value of key {key!r} from "
                        f"{self._items[key]!r} to {value!r}. Pass "
                        "allow_val_change=True to config.update() to change it."
                    )
            self._items[key] = value
            changed = True
        if changed:
            self._notify()

    def _notify(self) -> None:
        if self._on_change is not None:
            self._on_change(self.as_dict())
