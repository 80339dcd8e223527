"""W&B's hyperband rule on hand-made histories."""

from __future__ import annotations

import math

import pytest

from tracking.sweeps.config import Hyperband
from tracking.sweeps.hyperband import bands, runs_to_stop, should_stop, thresholds


def test_bands_from_min_iter():
    assert bands(Hyperband(min_iter=3))[:4] == [3, 9, 27, 81]
    assert bands(Hyperband(min_iter=2, eta=2))[:5] == [2, 4, 8, 16, 32]
    assert len(bands(Hyperband(min_iter=1, eta=2))) == 63


def test_bands_from_max_iter():
    assert bands(Hyperband(max_iter=27, s=2)) == [3, 9]
    assert bands(Hyperband(max_iter=27, s=5)) == [1, 3, 9]
    assert bands(Hyperband(max_iter=100, s=2, eta=4)) == [6, 25]


HISTORIES = {"a": [5.0, 1.0], "b": [5.0, 2.0], "c": [0.5, 3.0]}


def test_strict_stops_run_worse_at_band():
    """Check the reference case: the band-2 threshold is 2 and c logged 3 there."""
    settings = Hyperband(min_iter=2, eta=2, strict=True)
    assert thresholds(settings, HISTORIES)[2] == 2.0
    assert should_stop(settings, HISTORIES["c"], HISTORIES)
    assert runs_to_stop(settings, HISTORIES, running=["c"]) == ["c"]


def test_non_strict_keeps_run_with_good_best():
    settings = Hyperband(min_iter=2, eta=2, strict=False)
    assert not should_stop(settings, HISTORIES["c"], HISTORIES)


def test_ties_survive():
    settings = Hyperband(min_iter=2, eta=2)
    histories = {"a": [5.0, 1.0], "b": [5.0, 2.0], "c": [0.5, 2.0]}
    assert not should_stop(settings, histories["c"], histories)


def test_run_before_first_band_never_stops():
    settings = Hyperband(min_iter=2, eta=2)
    histories = {**HISTORIES, "d": [100.0]}
    assert not should_stop(settings, histories["d"], histories)


def test_maximize_negates_values():
    settings = Hyperband(min_iter=2, eta=2)
    histories = {name: [-v for v in values] for name, values in HISTORIES.items()}
    assert should_stop(settings, histories["c"], histories, maximize=True)
    assert not should_stop(settings, histories["a"], histories, maximize=True)


def test_tested_at_largest_band_reached():
    """Check a run with 5 values is tested at band 4, against band-4 values."""
    settings = Hyperband(min_iter=2, eta=2)
    histories = {
        "a": [9.0, 1.0, 9.0, 1.0],
        "b": [9.0, 1.0, 9.0, 2.0],
        "c": [9.0, 1.0, 9.0, 3.0, 0.0],
    }
    # Band 4 values 1, 2, 3 give threshold 2: c's 3 at band 4 is worse.
    assert thresholds(settings, histories)[4] == 2.0
    assert should_stop(settings, histories["c"], histories)
    # Band 2 alone (all tied at 1) would keep it.
    assert not should_stop(settings, histories["c"][:3], histories)


def test_eta_three_rank():
    """Check the threshold is sorted(values)[int(n / eta)]."""
    settings = Hyperband(min_iter=1, eta=3)
    histories = {str(i): [float(v)] for i, v in enumerate([7, 1, 5, 3, 9, 2])}
    # sorted [1, 2, 3, 5, 7, 9], int(6 / 3) = 2: threshold 3.
    assert thresholds(settings, histories)[1] == 3.0
    assert runs_to_stop(settings, histories, running=list(histories)) == ["0", "2", "4"]


def test_nan_is_worst():
    settings = Hyperband(min_iter=1, eta=2)
    histories = {"a": [1.0], "b": [math.nan], "c": [2.0]}
    assert should_stop(settings, histories["b"], histories)
    assert not should_stop(settings, histories["a"], histories)


@pytest.mark.parametrize("strict", [True, False])
def test_only_runs_are_compared_with_reached_band(strict):
    settings = Hyperband(min_iter=2, eta=2, strict=strict)
    histories = {"a": [1.0], "b": [2.0, 2.0]}
    # Only b reached band 2, so it sets its own threshold and survives.
    assert not should_stop(settings, histories["b"], histories)
