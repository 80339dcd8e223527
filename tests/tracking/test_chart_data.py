"""Shaping histories for charts: x axes, smoothing and run groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tracking.chart_data import group_lines, smooth, with_x_axis


def _history(run_values: dict[str, list[float]], key: str = "loss") -> pd.DataFrame:
    rows = []
    for run_id, values in run_values.items():
        for step, value in enumerate(values):
            rows.append(
                {
                    "run_id": run_id,
                    "key": key,
                    "step": step,
                    "value": value,
                    "timestamp": 1000.0 + 2 * step,
                    "runtime": 2.0 * step,
                }
            )
    return pd.DataFrame(rows)


def _ema_by_hand(values, weight, debiased):
    smoothed, last, count = [], None, 0
    numerator = 0.0
    for value in values:
        if np.isnan(value):
            smoothed.append(np.nan)
            continue
        count += 1
        if debiased:
            numerator = weight * numerator + (1 - weight) * value
            smoothed.append(numerator / (1 - weight**count))
        else:
            last = value if last is None else weight * last + (1 - weight) * value
            smoothed.append(last)
    return smoothed


@pytest.mark.parametrize("method", ["debiased", "plain"])
def test_smoothing_matches_hand_loop(method):
    rng = np.random.default_rng(3)
    values = rng.normal(size=50)
    values[[4, 5, 20]] = np.nan
    history = _history({"a": list(values), "b": list(values[::-1])})
    result = smooth(history, 0.8, method)
    for run_id, raw in (("a", values), ("b", values[::-1])):
        got = result.loc[result["run_id"] == run_id, "smoothed"].to_numpy()
        expected = _ema_by_hand(raw, 0.8, method == "debiased")
        np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)


def test_debiased_first_point_is_the_value():
    result = smooth(_history({"a": [10.0, 0.0]}), 0.9)
    assert result["smoothed"].tolist()[0] == pytest.approx(10.0)
    # The second point weighs 10 by 0.9 and 0 by 1: (0.9 * 10) / 1.9.
    assert result["smoothed"].tolist()[1] == pytest.approx(9.0 / 1.9)


def test_zero_weight_keeps_values():
    history = _history({"a": [1.0, 5.0, 2.0]})
    assert smooth(history, 0.0)["smoothed"].tolist() == [1.0, 5.0, 2.0]


def test_smoothing_weight_checked():
    with pytest.raises(ValueError, match=r"weight must be in \[0, 1\)"):
        smooth(_history({"a": [1.0]}), 1.0)
    with pytest.raises(ValueError, match="method must be one of"):
        smooth(_history({"a": [1.0]}), 0.5, "gaussian")


def test_x_axes():
    history = _history({"a": [1.0, 2.0, 3.0]})
    assert with_x_axis(history, "step")["x"].tolist() == [0.0, 1.0, 2.0]
    assert with_x_axis(history, "runtime")["x"].tolist() == [0.0, 2.0, 4.0]
    wall = with_x_axis(history, "wall_time")["x"]
    assert wall.iloc[1] == pd.Timestamp(1002, unit="s", tz="UTC")


def test_x_axis_by_other_metric_takes_latest_value():
    loss = _history({"a": [9.0, 8.0, 7.0, 6.0], "b": [5.0, 4.0, 3.0, 2.0]})
    epoch = pd.DataFrame(
        {
            "run_id": ["a", "a", "b"],
            "key": "epoch",
            "step": [1, 3, 0],
            "value": [1.0, 2.0, 1.0],
        }
    )
    result = with_x_axis(loss, "epoch", epoch)
    # Run a has no epoch at step 0, so that point is dropped.
    assert result[result["run_id"] == "a"]["x"].tolist() == [1.0, 1.0, 2.0]
    assert result[result["run_id"] == "a"]["step"].tolist() == [1, 2, 3]
    assert result[result["run_id"] == "b"]["x"].tolist() == [1.0, 1.0, 1.0, 1.0]


def test_unknown_x_axis_needs_history():
    with pytest.raises(ValueError, match="pass the history of that metric"):
        with_x_axis(_history({"a": [1.0]}), "epoch")


def _runs(groups: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(
        {"run_id": list(groups), "config.optimizer": list(groups.values())}
    )


def test_group_lines_matches_brute_force():
    rng = np.random.default_rng(5)
    values = {run_id: list(rng.normal(size=20)) for run_id in "abcde"}
    history = with_x_axis(_history(values), "step")
    runs = _runs({"a": "adam", "b": "adam", "c": "sgd", "d": "sgd", "e": None})
    grouped = group_lines(history, runs, "config.optimizer")

    members = {"adam": ["a", "b"], "sgd": ["c", "d"], "(none)": ["e"]}
    for group, run_ids in members.items():
        rows = grouped[grouped["group"] == group].reset_index(drop=True)
        assert rows["x"].tolist() == [float(step) for step in range(20)]
        matrix = np.array([values[run_id] for run_id in run_ids])
        np.testing.assert_allclose(rows["mean"], matrix.mean(axis=0))
        np.testing.assert_allclose(rows["min"], matrix.min(axis=0))
        np.testing.assert_allclose(rows["max"], matrix.max(axis=0))
        assert rows["runs"].tolist() == [len(run_ids)] * 20


def test_group_lines_bins_unaligned_steps():
    history = pd.DataFrame(
        {
            "run_id": ["a", "a", "b", "b"],
            "key": "loss",
            "x": [0.0, 10.0, 1.0, 9.0],
            "value": [1.0, 3.0, 2.0, 5.0],
        }
    )
    runs = _runs({"a": "adam", "b": "adam"})
    grouped = group_lines(history, runs, "config.optimizer", max_bins=2)
    # Two bins, [0, 5) and [5, 10]: each has one point of each run.
    assert grouped["mean"].tolist() == [1.5, 4.0]
    assert grouped["min"].tolist() == [1.0, 3.0]
    assert grouped["max"].tolist() == [2.0, 5.0]
    assert grouped["x"].tolist() == [0.5, 9.5]


def test_group_by_unknown_column_rejected():
    history = with_x_axis(_history({"a": [1.0]}), "step")
    with pytest.raises(ValueError, match="cannot group by 'config.seed'"):
        group_lines(history, _runs({"a": "adam"}), "config.seed")
