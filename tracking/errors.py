"""Exceptions raised by the tracking library."""

from __future__ import annotations


class TrackingError(Exception):
    """Base class of every error the tracking library raises on purpose."""


# W&B scripts catch ``wandb.Error``; the alias lets them run unchanged.
Error = TrackingError


class UsageError(TrackingError):
    """A call that is invalid in the current state, e.g. ``log`` before ``init``."""


class ConfigError(TrackingError):
    """An invalid change to a run's config."""


class StoreError(TrackingError):
    """A store that cannot be opened, read or written."""
