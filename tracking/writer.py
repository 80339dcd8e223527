"""The background writer that moves logged rows into the store in batches."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tracking.history_rollup import LiveRollup
from tracking.store import HEARTBEAT_SECONDS, RunStore, SummaryChanges
from tracking.values import to_stored_float

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
# Past this many pending rows the writer is woken early, so memory stays
# bounded when a loop logs faster than one batch a second drains.
WAKE_ROWS = 20_000

BatchCallback = Callable[[list[tuple[int, float, dict[str, Any]]]], None]


class HistoryWriter:
    """Buffer history rows and store them from a daemon thread.

    ``append`` only appends to a list, so ``run.log`` stays in microseconds.
    The thread stores everything pending at least every ``FLUSH_SECONDS``,
    one transaction per batch, and beats the run's heartbeat.
    """

    def __init__(
        self,
        store: RunStore,
        run_pk: int,
        snapshot: Callable[[], tuple[SummaryChanges, dict[str, Any]]],
        rollup: LiveRollup | None = None,
    ):
        self._store = store
        self._run_pk = run_pk
        # Downsampled buckets of the stored points, stored when the run
        # finishes; None after it failed, so finishing reads history instead.
        self.rollup = rollup
        # Returns the run's summary changes and a copy of its config, to store
        # with a batch.
        self._snapshot = snapshot
        # deque.append and popleft are atomic, so log() needs no lock.
        self._rows: deque[tuple[int, float, dict[str, Any]]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._last_step: int | None = None
        self._last_write = 0.0
        self._changed = False
        self._failure: BaseException | None = None
        # Called from the writer thread with each stored batch of rows, such
        # as a sweep's hyperband check; its errors are logged, not raised.
        self.on_batch: BatchCallback | None = None
        self._thread = threading.Thread(
            target=self._loop, name=f"runlens-writer-{run_pk}", daemon=True
        )
        self._thread.start()

    def append(self, step: int, timestamp: float, row: dict[str, Any]) -> None:
        self._rows.append((step, timestamp, row))
        if len(self._rows) >= WAKE_ROWS:
            self._wake.set()

    def mark_changed(self) -> None:
        """Ask for the summary and config to be stored with the next batch."""
        self._changed = True
        self._wake.set()

    def flush(self) -> None:
        """Store everything pending now, from the calling thread."""
        self._write_pending()

    def close(self) -> None:
        """Stop the thread after a last flush; raise if any batch failed."""
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._write_pending()
        if self._failure is not None:
            raise self._failure

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            due = time.time() - self._last_write >= HEARTBEAT_SECONDS
            if self._rows or self._changed or due:
                try:
                    rows = self._write_pending()
                except Exception as exc:  # noqa: BLE001 - kept and raised at close
                    logger.exception("storing history of run %s failed", self._run_pk)
                    self._failure = exc
                    return
                self._call_on_batch(rows)

    def _call_on_batch(self, rows: list[tuple[int, float, dict[str, Any]]]) -> None:
        if not rows or self.on_batch is None:
            return
        try:
            self.on_batch(rows)
        except Exception:  # noqa: BLE001 - a failed check must not stop logging
            logger.exception("batch callback of run %s failed", self._run_pk)

    def _write_pending(self) -> list[tuple[int, float, dict[str, Any]]]:
        with self._lock:
            rows = [self._rows.popleft() for _ in range(len(self._rows))]
            self._changed = False
            summary, config = self._snapshot()

            run_pk = self._run_pk
            points = [
                (run_pk, key, step, to_stored_float(value), timestamp)
                for step, timestamp, row in rows
                for key, value in row.items()
            ]
            if rows:
                self._last_step = rows[-1][0]
            try:
                self._store.save_batch(
                    run_pk,
                    points,
                    summary_changes=summary,
                    config=config,
                    last_step=self._last_step,
                )
            except Exception:
                # Put the batch back so a later flush can retry it.
                self._rows.extendleft(reversed(rows))
                raise
            self._last_write = time.time()
            self._add_to_rollup(points)
            return rows

    def _add_to_rollup(
        self, points: list[tuple[int, str, int, float | None, float]]
    ) -> None:
        if self.rollup is None or not points:
            return
        try:
            self.rollup.add(points)
        except Exception:  # noqa: BLE001 - the stored history stays complete
            logger.exception(
                "downsampling history of run %s in memory failed; it will be "
                "read back when the run finishes",
                self._run_pk,
            )
            self.rollup = None
