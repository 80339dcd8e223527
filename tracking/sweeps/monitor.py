"""Hyperband checks on a trial's run, each time its writer stores a batch.

The writer thread calls :meth:`HyperbandMonitor.on_batch` after it stores
rows, so ``run.log()`` itself does no extra work. When the rule stops the
run, ``run.should_stop`` turns True, which ends Keras training through the
callbacks and which a training loop can read. The run then ends as
``stopped``. The trial also records the request, so that an agent running it
as a subprocess sends SIGTERM.
"""

from __future__ import annotations

import logging
from typing import Any

from tracking.sweeps import hyperband
from tracking.sweeps import store as sweep_store
from tracking.sweeps.store import SweepRecord

logger = logging.getLogger(__name__)


class HyperbandMonitor:
    """Applies a sweep's hyperband rule to one running run."""

    def __init__(self, run: Any, sweep: SweepRecord):
        self.run = run
        self.sweep = sweep
        self.settings = sweep.config.hyperband
        self.metric = sweep.config.metric
        self.values: list[float] = []
        self.band_set = set(hyperband.bands(self.settings))
        self.first_band = min(self.band_set)
        self.stopped = False

    @classmethod
    def for_run(cls, run: Any, sweep_id: str) -> HyperbandMonitor | None:
        """Return a monitor if the sweep has hyperband early termination."""
        sweep = sweep_store.get_sweep(run.store, sweep_id)
        if sweep.config.hyperband is None:
            return None
        return cls(run, sweep)

    def on_batch(self, rows: list[tuple[int, float, dict[str, Any]]]) -> None:
        """Record the metric values of a stored batch and apply the rule."""
        name = self.metric.name
        new = [float(row[name]) for _step, _time, row in rows if name in row]
        if not new or self.stopped:
            return
        start = len(self.values)
        self.values.extend(new)
        if len(self.values) < self.first_band:
            return

        # A batch can hold many values. The run is tested at each band it
        # crossed, as if checked after every log call, then at its length now.
        histories = sweep_store.metric_histories(self.run.store, self.sweep, name)
        lengths = [n for n in range(start + 1, len(self.values)) if n in self.band_set]
        lengths.append(len(self.values))
        if not any(self._stops(histories, length) for length in lengths):
            return

        self.stopped = True
        logger.info(
            "hyperband stops run %s of sweep %s after %d values of %s",
            self.run.id,
            self.sweep.sweep_id,
            len(self.values),
            name,
        )
        self.run._request_stop("hyperband")
        sweep_store.request_stop(self.run.store, self.sweep, [self.run.id], "hyperband")

    def _stops(self, histories: dict[str, list[float]], length: int) -> bool:
        """Apply the rule to the run's first ``length`` values."""
        own = self.values[:length]
        histories = {**histories, self.run.id: own}
        return hyperband.should_stop(
            self.settings, own, histories, self.metric.maximize
        )
