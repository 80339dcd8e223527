"""Exceptions raised by sweeps."""

from __future__ import annotations

from tracking.errors import TrackingError


class SweepError(TrackingError):
    """A sweep that cannot be created, found, changed or run."""


class SweepConfigError(SweepError, ValueError):
    """An invalid sweep config; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        if len(self.errors) == 1:
            message = f"invalid sweep config: {self.errors[0]}"
        else:
            lines = "\n".join(f"- {error}" for error in self.errors)
            message = f"invalid sweep config ({len(self.errors)} problems):\n{lines}"
        super().__init__(message)


class AgentError(SweepError):
    """An agent that stopped because its trials kept failing."""
