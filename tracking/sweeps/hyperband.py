"""W&B's hyperband early termination rule, on metric histories.

An iteration is one logged value of the sweep metric, so the history of a
run is the list of its logged values in order. At each band ``b`` the
threshold is the value ranked ``int(len(values) / eta)`` among the band-``b``
values ``h[b - 1]`` of every run that reached it, the running run itself
included. A running run is tested at the largest band it reached: with
``strict`` on its value at that band, else its best value so far. It is
stopped when the tested value is worse than the threshold; ties survive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from tracking.sweeps.config import Hyperband

# The min_iter form lists this many bands, as W&B does.
MIN_ITER_BANDS = 100


def bands(settings: Hyperband) -> list[int]:
    """Return the iteration counts at which runs are compared, ascending.

    ``min_iter`` gives ``int(min_iter * eta**k)`` for k = 0..99; ``max_iter``
    and ``s`` divide ``max_iter`` by ``eta`` up to ``s`` times.
    """
    if settings.min_iter is not None:
        found = []
        for k in range(MIN_ITER_BANDS):
            band = settings.min_iter * settings.eta**k
            if band > 2**62:
                break
            found.append(int(band))
        return found
    found = []
    band = float(settings.max_iter)
    for _ in range(settings.s):
        band /= settings.eta
        if band < 1:
            break
        found.append(int(band))
    return sorted(found)


def _oriented(value: float, maximize: bool) -> float:
    """Return ``value`` on a lower-is-better scale; NaN is the worst."""
    if math.isnan(value):
        return math.inf
    return -value if maximize else value


def thresholds(
    settings: Hyperband,
    histories: Mapping[str, Sequence[float]],
    maximize: bool = False,
) -> dict[int, float]:
    """Return each band's threshold on the lower-is-better scale.

    A band no run reached has threshold infinity.
    """
    rate = 1.0 / settings.eta
    found = {}
    for band in bands(settings):
        values = sorted(
            _oriented(history[band - 1], maximize)
            for history in histories.values()
            if len(history) >= band
        )
        found[band] = values[int(rate * len(values))] if values else math.inf
        if not values:
            break
    return found


def should_stop(
    settings: Hyperband,
    history: Sequence[float],
    histories: Mapping[str, Sequence[float]],
    maximize: bool = False,
) -> bool:
    """Tell whether a running run with ``history`` should stop.

    Parameters
    ----------
    settings : Hyperband
    history : sequence of float
        The running run's logged metric values, in order.
    histories : mapping
        Every run of the sweep, the running run included, by run id.
    maximize : bool
        The metric's goal is maximize.
    """
    reached = [band for band in bands(settings) if band <= len(history)]
    if not reached:
        return False
    band = reached[-1]
    threshold = thresholds(settings, histories, maximize).get(band, math.inf)
    if settings.strict:
        tested = _oriented(history[band - 1], maximize)
    else:
        tested = min(_oriented(value, maximize) for value in history)
    return tested > threshold


def runs_to_stop(
    settings: Hyperband,
    histories: Mapping[str, Sequence[float]],
    running: Sequence[str],
    maximize: bool = False,
) -> list[str]:
    """Return the ids of the ``running`` runs that the rule stops."""
    return [
        run_id
        for run_id in running
        if should_stop(settings, histories.get(run_id, ()), histories, maximize)
    ]
