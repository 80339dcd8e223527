"""Buckets stored at finish against a pandas brute force over scan_history."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

import tracking
from tracking import downsample, schema
from tracking.downsample import (
    MAX_POINTS,
    bucket_reference,
    choose_level,
    downsampled_history,
)
from tracking.history_rollup import LiveRollup, rollup_run

PROJECT = "rollup"
# tracking.run is the current run, as wandb.run is, so import the module by name.
run_module = importlib.import_module("tracking.run")


def _values(rng, count: int) -> np.ndarray:
    values = rng.normal(size=count).round(1)  # rounding makes ties
    values[rng.random(count) < 0.05] = np.nan
    values[rng.integers(0, count, size=3)] = np.inf
    values[rng.integers(0, count, size=3)] = -np.inf
    values[64:160] = np.nan  # whole buckets of NaN
    return values


def _log(run, steps: range, rng) -> None:
    loss = _values(rng, len(steps))
    for index, step in enumerate(steps):
        row = {"loss": float(loss[index])}
        if step % 7 == 3:
            row["sparse"] = float(rng.integers(0, 5))
        if step < 100:
            row["short"] = float(step)
        run.log(row, step=step)
    run.log({}, commit=True)


def _brute_force(run_id: str, key: str) -> pd.DataFrame:
    """Keep each bucket's first, last, min and max row, read with scan_history."""
    api_run = tracking.Api().run(f"{PROJECT}/{run_id}")
    rows = [
        (row["_step"], row[key], row["_timestamp"])
        for row in api_run.scan_history()
        if key in row
    ]
    frame = pd.DataFrame(rows, columns=["step", "value", "timestamp"])
    first, last = int(frame["step"].iloc[0]), int(frame["step"].iloc[-1])
    if last - first < MAX_POINTS:
        return frame
    level = choose_level(first, last, MAX_POINTS // 4)
    bucket = frame["step"] // (2**level)
    kept = set()
    for _, group in frame.groupby(bucket):
        kept.update([group.index.min(), group.index.max()])
        numbers = group["value"].dropna()
        if len(numbers):
            kept.add(numbers.idxmin())  # the first occurrence on ties
            kept.add(numbers.idxmax())
    return frame.loc[sorted(kept)].reset_index(drop=True)


def _check_against_brute_force(run_id: str) -> None:
    store = tracking.open_store()
    keys = ["loss", "sparse", "short"]
    result = downsampled_history(store, PROJECT, [run_id], keys)
    for key in keys:
        line = result[result["key"] == key].reset_index(drop=True)
        expected = _brute_force(run_id, key)
        assert line["step"].tolist() == expected["step"].tolist(), key
        np.testing.assert_array_equal(line["value"], expected["value"], err_msg=key)
        np.testing.assert_array_equal(
            line["timestamp"], expected["timestamp"], err_msg=key
        )


def _fail_sql(_conn, line):
    raise AssertionError(f"buckets of {line.key} computed by SQL, not read")


_REDUCE_IN_PANDAS = downsample._reduce_in_pandas


def _pandas_on_empty_only(rows, lines):
    assert rows.empty, f"buckets of {sorted(set(rows['key']))} computed in pandas"
    return _REDUCE_IN_PANDAS(rows, lines)


def _check_read_from_store_only(run_id: str) -> None:
    """Check a read that must take every long line from stored buckets."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(downsample, "_aggregate_buckets", _fail_sql)
        patch.setattr(downsample, "_reduce_in_pandas", _pandas_on_empty_only)
        _check_against_brute_force(run_id)


def _stored_rows(run_pk: int) -> int:
    rollup = schema.history_rollup
    with tracking.open_store().engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(rollup).where(rollup.c.run_pk == run_pk)
        ).scalar_one()


def _bucket_count(first: int, last: int) -> int:
    level = choose_level(first, last, MAX_POINTS // 4)
    return (last >> level) - (first >> level) + 1


def test_finished_run_reads_stored_buckets(store_location):
    rng = np.random.default_rng(3)
    run = tracking.init(project=PROJECT, id="done")
    _log(run, range(5, 5000), rng)
    run.finish()

    # loss spans steps 5..4999 and sparse (step % 7 == 3) 10..4994; short is
    # read whole.
    expected = _bucket_count(5, 4999) + _bucket_count(10, 4994)
    assert _stored_rows(run._pk) == expected
    assert rollup_run(tracking.open_store(), run._pk) == 0

    _check_read_from_store_only("done")


def test_running_run_matches_brute_force(store_location):
    rng = np.random.default_rng(5)
    run = tracking.init(project=PROJECT, id="running")
    _log(run, range(0, 3000), rng)
    run._writer.flush()
    _check_against_brute_force("running")

    # The line grows past a level change while stored buckets exist.
    _log(run, range(3000, 9000), rng)
    run._writer.flush()
    _check_against_brute_force("running")
    run.finish()
    _check_against_brute_force("running")


def test_resumed_run_matches_brute_force(store_location):
    rng = np.random.default_rng(9)
    run = tracking.init(project=PROJECT, id="resumed")
    # Steps 0..4100 at level 5 end inside the bucket of steps 4096..4127.
    _log(run, range(0, 4101), rng)
    run.finish()
    pk = run._pk
    stored = _stored_rows(pk)

    run = tracking.init(project=PROJECT, id="resumed", resume="must")
    assert run.step == 4101
    # Resuming deletes the last bucket of each stored line.
    assert _stored_rows(pk) == stored - 2
    _log(run, range(4101, 4120), rng)
    run._writer.flush()
    _check_against_brute_force("resumed")

    _log(run, range(4120, 6000), rng)
    run.finish()
    _check_read_from_store_only("resumed")


def test_crashed_run_computed_on_read(store_location):
    rng = np.random.default_rng(13)
    run = tracking.init(project=PROJECT, id="crashed")
    _log(run, range(0, 2500), rng)
    run._writer.flush()
    # A crash leaves the run unfinished: no last bucket is stored.
    assert _stored_rows(run._pk) == 0
    _check_against_brute_force("crashed")
    loss_buckets = _bucket_count(0, 2499)
    sparse_buckets = _bucket_count(3, 2495)
    assert _stored_rows(run._pk) == loss_buckets - 1 + sparse_buckets - 1


def test_store_failure_keeps_finish(store_location, monkeypatch, caplog):
    from sqlalchemy.exc import OperationalError

    def broken(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(run_module, "store_rollup", broken)
    run = tracking.init(project=PROJECT, id="broken")
    _log(run, range(0, 1500), np.random.default_rng(1))
    run.finish()
    assert tracking.open_store().run(PROJECT, "broken")["state"] == "finished"
    assert "storing the downsampled history of run broken failed" in caplog.text
    _check_against_brute_force("broken")


def test_live_rollup_failure_reads_history(store_location, monkeypatch, caplog):
    def broken(self, points):
        raise MemoryError("no memory for the buckets")

    monkeypatch.setattr(LiveRollup, "add", broken)
    run = tracking.init(project=PROJECT, id="fallback")
    _log(run, range(0, 3000), np.random.default_rng(2))
    run.finish()
    assert "will be read back when the run finishes" in caplog.text
    _check_read_from_store_only("fallback")


def test_live_rollup_matches_reference_across_batches():
    rng = np.random.default_rng(17)
    steps = np.cumsum(rng.integers(1, 4, size=20_000)) + 40
    values = _values(rng, len(steps))
    stamps = 1_700_000_000.0 + steps * 0.5
    points = [
        (1, "loss", int(step), None if np.isnan(value) else float(value), stamp)
        for step, value, stamp in zip(steps, values, stamps, strict=True)
    ]
    live = LiveRollup(1, max_points=400)
    # Uneven batches, so the level rises between and inside them.
    cuts = sorted(rng.choice(np.arange(1, len(points)), size=40, replace=False))
    for begin, end in zip([0, *cuts], [*cuts, len(points)], strict=True):
        live.add(points[begin:end])

    level = choose_level(int(steps[0]), int(steps[-1]), 100)
    buckets = pd.DataFrame(live.rows())
    assert set(buckets["level"]) == {level}
    kept = pd.concat(
        [
            buckets[[f"{kind}_step", f"{kind}_value", f"{kind}_timestamp"]].set_axis(
                ["step", "value", "timestamp"], axis=1
            )
            for kind in ("first", "last", "min", "max")
        ]
    )
    kept = kept.dropna(subset=["step"]).drop_duplicates("step").sort_values("step")
    expected = bucket_reference(
        pd.DataFrame({"step": steps, "value": values, "timestamp": stamps}), level
    )
    assert kept["step"].astype(int).tolist() == expected["step"].tolist()
    np.testing.assert_array_equal(kept["value"], expected["value"])
    np.testing.assert_array_equal(kept["timestamp"], expected["timestamp"])
    counts = pd.Series(steps >> level).value_counts().sort_index()
    assert buckets["count"].tolist() == counts.tolist()
