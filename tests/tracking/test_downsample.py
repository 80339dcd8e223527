"""Downsampled histories against a pandas reference, on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

import tracking
from tracking import downsample, schema
from tracking.downsample import (
    bucket_reference,
    choose_level,
    downsampled_history,
)

PROJECT = "downsample"
START = 1_700_000_000.0


def _create_run(store, run_id: str) -> int:
    return store.create_run(
        project=PROJECT,
        run_id=run_id,
        name=run_id,
        config={},
        tags=[],
        notes=None,
        group=None,
        job_type=None,
    )


def _log(store, run_pk: int, key: str, steps, values) -> None:
    points = [
        (
            run_pk,
            key,
            int(step),
            None if np.isnan(value) else float(value),
            START + step,
        )
        for step, value in zip(steps, values, strict=True)
    ]
    store.save_batch(run_pk, points)


def _line(rng, length: int, stride: int = 1):
    steps = np.arange(0, length * stride, stride) + int(rng.integers(0, 50))
    values = rng.normal(size=length).round(1)  # rounding makes ties
    values[rng.random(length) < 0.05] = np.nan
    return steps, values


def _reference(steps, values, max_points: int) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"step": steps, "value": values, "timestamp": START + steps.astype(float)}
    )
    if steps[-1] - steps[0] < max_points:
        return frame
    level = choose_level(int(steps[0]), int(steps[-1]), max_points // 4)
    return bucket_reference(frame, level)


def _check_line(result, run_id, key, expected) -> None:
    line = result[(result["run_id"] == run_id) & (result["key"] == key)]
    line = line.reset_index(drop=True)
    assert line["step"].tolist() == expected["step"].tolist()
    np.testing.assert_array_equal(line["value"].to_numpy(), expected["value"])
    np.testing.assert_array_equal(line["timestamp"].to_numpy(), expected["timestamp"])


def test_choose_level_bounds_bucket_count():
    assert choose_level(0, 99, 250) == 0
    assert choose_level(0, 999, 250) == 2
    assert choose_level(0, 99_999, 250) == 9
    for first, last in [(0, 1), (5, 5000), (123, 99_999), (10**6, 10**7)]:
        level = choose_level(first, last, 250)
        assert (last >> level) - (first >> level) + 1 <= 250
        if level:
            assert (last >> (level - 1)) - (first >> (level - 1)) + 1 > 250


def test_bucket_reference_by_hand():
    frame = pd.DataFrame(
        {
            "step": [0, 1, 2, 3, 4, 5, 6, 7],
            "value": [5.0, 1.0, 9.0, 3.0, np.nan, 2.0, 2.0, 7.0],
            "timestamp": np.arange(8.0),
        }
    )
    # Buckets of 4 steps: [0..3] keeps 0 (first), 1 (min), 2 (max), 3 (last);
    # [4..7] keeps 4 (first, NaN), 5 (min, earliest of the tie), 7 (max, last).
    kept = bucket_reference(frame, 2)
    assert kept["step"].tolist() == [0, 1, 2, 3, 4, 5, 7]


@pytest.fixture(params=["sql", "pandas"])
def reduce_path(request, monkeypatch):
    """Compute new buckets with the SQL GROUP BY or from raw rows in pandas."""
    steps = 0 if request.param == "sql" else 10**9
    monkeypatch.setattr(downsample, "RAW_TAIL_STEPS", steps)
    return request.param


def test_downsampled_matches_pandas_reference(store_location, reduce_path):
    rng = np.random.default_rng(7)
    store = tracking.open_store()
    max_points = 200
    logged = {}
    for index in range(3):
        run_id = f"run-{index}"
        run_pk = _create_run(store, run_id)
        for key, length, stride in [
            ("loss", 5000 + 731 * index, 1),
            ("sparse", 900, 7),
            ("short", 150, 1),
        ]:
            steps, values = _line(rng, length, stride)
            _log(store, run_pk, key, steps, values)
            logged[(run_id, key)] = (steps, values)

    run_ids = [f"run-{index}" for index in range(3)]
    keys = ["loss", "sparse", "short"]
    for attempt in ("computed", "stored"):
        result = downsampled_history(
            store, PROJECT, run_ids, keys, max_points=max_points
        )
        for (run_id, key), (steps, values) in logged.items():
            expected = _reference(steps, values, max_points)
            _check_line(result, run_id, key, expected)
            assert len(expected) <= max_points, attempt
        started = result["run_id"].map(
            lambda run_id: store.run(PROJECT, run_id)["created_at"]
        )
        assert result["runtime"].equals(result["timestamp"] - started)

    # Every closed bucket of the long lines is stored once; open ones are not.
    with store.engine.connect() as conn:
        stored = conn.execute(
            select(func.count()).select_from(schema.history_rollup)
        ).scalar_one()
    expected_buckets = 0
    for steps, _values in logged.values():
        if steps[-1] - steps[0] >= max_points:
            level = choose_level(int(steps[0]), int(steps[-1]), max_points // 4)
            expected_buckets += (steps[-1] >> level) - (steps[0] >> level)
    assert stored == expected_buckets


def test_growing_line_extends_stored_buckets(store_location, reduce_path):
    rng = np.random.default_rng(11)
    store = tracking.open_store()
    run_pk = _create_run(store, "growing")
    steps, values = _line(rng, 3000)
    _log(store, run_pk, "loss", steps[:1000], values[:1000])

    first = downsampled_history(store, PROJECT, ["growing"], ["loss"], max_points=100)
    _check_line(first, "growing", "loss", _reference(steps[:1000], values[:1000], 100))

    _log(store, run_pk, "loss", steps[1000:], values[1000:])
    later = downsampled_history(store, PROJECT, ["growing"], ["loss"], max_points=100)
    _check_line(later, "growing", "loss", _reference(steps, values, 100))


def test_stored_buckets_are_used(store_location):
    store = tracking.open_store()
    run_pk = _create_run(store, "cached")
    steps = np.arange(4000)
    _log(store, run_pk, "loss", steps, np.sin(steps / 50.0))
    downsampled_history(store, PROJECT, ["cached"], ["loss"], max_points=100)

    # Rewrite one stored bucket: the next read must return it as stored,
    # which shows that closed buckets are not recomputed.
    rollup = schema.history_rollup
    with store.write() as conn, conn.begin():
        conn.execute(
            rollup.update()
            .where(rollup.c.run_pk == run_pk)
            .where(rollup.c.bucket == 1)
            .values(max_value=99.0)
        )
    result = downsampled_history(store, PROJECT, ["cached"], ["loss"], max_points=100)
    assert 99.0 in result["value"].tolist()


def test_all_nan_bucket_keeps_first_and_last(store_location, reduce_path):
    store = tracking.open_store()
    run_pk = _create_run(store, "nan")
    steps = np.arange(64)
    values = np.where(steps < 32, np.nan, steps.astype(float))
    _log(store, run_pk, "loss", steps, values)
    result = downsampled_history(store, PROJECT, ["nan"], ["loss"], max_points=8)
    # Two buckets of 32 steps: the NaN bucket keeps its first and last step.
    assert result["step"].tolist() == [0, 31, 32, 63]
    assert np.isnan(result["value"].iloc[0])
    assert result["value"].iloc[2:].tolist() == [32.0, 63.0]


def test_unknown_runs_and_keys_give_empty_frame(store_location):
    store = tracking.open_store()
    _create_run(store, "empty")
    result = downsampled_history(store, PROJECT, ["empty", "ghost"], ["loss"])
    assert result.empty
    assert list(result.columns) == [
        "run_id",
        "key",
        "step",
        "value",
        "timestamp",
        "runtime",
    ]


def test_max_points_checked(store_location):
    with pytest.raises(ValueError, match="max_points must be at least 4"):
        downsampled_history(tracking.open_store(), PROJECT, ["a"], ["b"], max_points=3)
