"""Histograms, images and tables logged in history: files, pointers and reads."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from PIL import Image as PILImage

import tracking
from tracking import StoreError
from tracking.media import load_media, media_path
from tracking.values import flatten_metrics


def test_histogram_bins_hand_computed():
    histogram = tracking.Histogram([1, 2, 2, 3], num_bins=2)
    assert histogram.histogram == [1.0, 3.0]
    assert histogram.bins == [1.0, 2.0, 3.0]


def test_histogram_from_np_histogram():
    histogram = tracking.Histogram(np_histogram=([2, 5, 1], [0.0, 1.0, 2.0, 3.0]))
    assert histogram.histogram == [2.0, 5.0, 1.0]
    assert histogram.bins == [0.0, 1.0, 2.0, 3.0]


def test_histogram_default_matches_numpy():
    values = np.random.default_rng(0).normal(size=1000)
    counts, edges = np.histogram(values, bins=64)
    histogram = tracking.Histogram(values)
    assert histogram.histogram == counts.astype(float).tolist()
    assert histogram.bins == pytest.approx(edges.tolist())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sequence": [1, 2], "num_bins": 513}, "between 1 and 512"),
        ({"sequence": [1, 2], "num_bins": 0}, "between 1 and 512"),
        ({"np_histogram": ([1] * 513, list(range(514)))}, "at most 512 bins"),
        ({"np_histogram": ([1, 2], [0, 1])}, "needs 3 bin edges"),
        ({"sequence": [1.0, float("nan")]}, "NaN or infinity"),
        ({}, "needs a sequence"),
    ],
)
def test_histogram_rejects_invalid(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tracking.Histogram(**kwargs)


def test_image_float_array_scaled_like_wandb():
    image = tracking.Image(np.array([[0.0, 0.5], [1.0, 0.25]]))
    np.testing.assert_array_equal(
        np.asarray(image.image), np.array([[0, 127], [255, 63]], dtype=np.uint8)
    )


def test_image_negative_values_rescaled():
    image = tracking.Image(np.array([[-1.0, 0.0], [1.0, 0.5]]))
    np.testing.assert_array_equal(
        np.asarray(image.image), np.array([[0, 127], [255, 191]], dtype=np.uint8)
    )


def test_image_channel_first_transposed():
    data = np.zeros((3, 4, 6), dtype=np.uint8)
    data[0] = 200
    image = tracking.Image(data)
    assert image.image.size == (6, 4)
    assert image.image.mode == "RGB"
    assert np.asarray(image.image)[0, 0].tolist() == [200, 0, 0]


def test_image_from_path_and_pil(tmp_path):
    path = tmp_path / "in.png"
    PILImage.new("RGB", (3, 2), (10, 20, 30)).save(path)
    from_path = tracking.Image(str(path), caption="file")
    from_pil = tracking.Image(PILImage.open(path))
    assert np.asarray(from_path.image).tolist() == np.asarray(from_pil.image).tolist()
    assert from_path.caption == "file"


def test_image_rejects_bad_shape():
    with pytest.raises(ValueError, match="shape"):
        tracking.Image(np.zeros((4, 4, 2)))


def test_table_columns_rows_and_dataframe():
    table = tracking.Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]])
    table.add_data(3, "z")
    table.add_column("c", [True, False, None])
    assert table.get_column("a") == [1, 2, 3]
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, np.nan]})
    from_frame = tracking.Table(dataframe=frame)
    assert from_frame.columns == ["a", "b"]
    assert from_frame.data[0] == [1, 0.5]
    assert tracking.Table().columns == ["Input", "Output", "Expected"]


def test_table_rejects_bad_rows():
    table = tracking.Table(columns=["a", "b"])
    with pytest.raises(ValueError, match="2 columns"):
        table.add_data(1)
    with pytest.raises(TypeError, match="column 'b', row 0"):
        table.add_data(1, object())


def test_media_logged_as_files_with_pointers(store_location):
    run = tracking.init(project="media")
    image_data = np.arange(12, dtype=np.uint8).reshape(3, 4)
    run.log({"loss": 1.0})
    run.log(
        {
            "loss": 0.5,
            "hist": tracking.Histogram([1, 2, 2, 3], num_bins=2),
            "samples": {"img": tracking.Image(image_data, caption="digits")},
            "preds": tracking.Table(columns=["y", "p"], data=[[1, 0.9], [0, 0.2]]),
        }
    )
    run.finish()

    store = tracking.open_store()
    media = store.media("media", run.id)
    assert media["key"].tolist() == ["hist", "preds", "samples.img"]
    assert media["step"].tolist() == [1, 1, 1]
    assert media["type"].tolist() == ["histogram", "table-file", "image-file"]

    history = store.history("media", [run.id])
    assert sorted(history["key"].unique()) == ["loss"]

    pointers = dict(zip(media["key"], media["pointer"], strict=True))
    histogram = load_media(store.artifact_root, pointers["hist"])
    assert histogram.histogram == [1.0, 3.0]
    image = load_media(store.artifact_root, pointers["samples.img"])
    np.testing.assert_array_equal(np.asarray(image.image), image_data)
    assert pointers["samples.img"]["caption"] == "digits"
    assert pointers["samples.img"]["width"] == 4
    table = load_media(store.artifact_root, pointers["preds"])
    assert table.data == [[1, 0.9], [0, 0.2]]
    assert pointers["preds"]["nrows"] == 2

    summary = store.run("media", run.id)["summary"]
    assert summary["hist"] == pointers["hist"]
    assert summary["loss"] == 0.5


def test_same_media_stored_once(store_location):
    run = tracking.init(project="media")
    for _ in range(3):
        run.log({"img": tracking.Image(np.zeros((2, 2)))})
    run.finish()
    store = tracking.open_store()
    assert len(store.media("media", run.id)) == 3
    assert len(list((store.artifact_root / "media").rglob("*.png"))) == 1


def test_table_cut_to_max_rows_when_logged(sqlite_store, caplog):
    run = tracking.init(project="media")
    table = tracking.Table(columns=["i"], data=[[i] for i in range(10_001)])
    with caplog.at_level(logging.WARNING):
        run.log({"big": table})
    run.finish()
    assert "cut to its first 10000 rows" in caplog.text
    store = tracking.open_store()
    pointer = store.media("media", run.id)["pointer"].iloc[0]
    assert pointer["nrows"] == 10_000
    assert load_media(store.artifact_root, pointer).data[-1] == [9_999]


def test_media_only_row_advances_last_step(store_location):
    run = tracking.init(project="media", id="m1")
    run.log({"img": tracking.Image(np.zeros((2, 2)))})
    run.finish(exit_code=1)
    resumed = tracking.init(project="media", id="m1", resume="must")
    assert resumed.step == 1
    resumed.finish()


def test_media_pointer_paths_are_checked(sqlite_store):
    run = tracking.init(project="media")
    run.log({"img": tracking.Image(np.zeros((2, 2)))})
    run.finish()
    store = tracking.open_store()
    pointer = dict(store.media("media", run.id)["pointer"].iloc[0])
    for bad in ("../../etc/passwd", "media/01/" + "0" * 64 + ".png", "/tmp/x.png"):
        with pytest.raises(StoreError, match="malformed"):
            media_path(store.artifact_root, {**pointer, "path": bad})
    with pytest.raises(StoreError, match="malformed"):
        media_path(store.artifact_root, {**pointer, "_type": "table-file"})
    absent = "media/00/" + "0" * 64 + ".png"
    with pytest.raises(StoreError, match="missing"):
        media_path(store.artifact_root, {**pointer, "path": absent})


def test_flatten_accepts_media_and_still_rejects_text():
    found: set[str] = set()
    image = tracking.Image(np.zeros((2, 2)))
    flat = flatten_metrics({"a": 1, "b": {"c": image}}, media=found)
    assert flat == {"a": 1, "b.c": image}
    assert found == {"b.c"}
    with pytest.raises(TypeError, match="'b.c'"):
        flatten_metrics({"b": {"c": "text"}})


def test_media_key_overwritten_in_pending_row(sqlite_store):
    run = tracking.init(project="media")
    run.log({"x": tracking.Image(np.zeros((2, 2)))}, commit=False)
    run.log({"x": 3.0})
    run.log({"y": tracking.Image(np.zeros((2, 2)))}, step=5)
    run.log({"y": tracking.Image(np.ones((2, 2)))}, step=6)
    run.finish()
    store = tracking.open_store()
    media = store.media("media", run.id)
    assert media[["key", "step"]].values.tolist() == [["y", 5], ["y", 6]]
    assert store.history("media", [run.id])["value"].tolist() == [3.0]


def test_disabled_mode_drops_media(sqlite_store):
    run = tracking.init(project="media", mode="disabled")
    run.log({"img": tracking.Image(np.zeros((2, 2))), "x": 1})
    assert "img" not in run.summary
    assert run.summary["x"] == 1
    run.finish()


def test_history_api_shows_media_pointers(store_location):
    run = tracking.init(project="media")
    run.log({"loss": 1.0})
    run.log({"hist": tracking.Histogram([0, 1], num_bins=1)})
    run.finish()
    frame = tracking.Api().run(f"media/{run.id}").history()
    assert frame["_step"].tolist() == [0, 1]
    assert frame["hist"].iloc[1]["_type"] == "histogram"
    rows = list(tracking.Api().run(f"media/{run.id}").scan_history(keys=["hist"]))
    assert len(rows) == 1
    assert json.loads(json.dumps(rows[0]))["hist"]["num_bins"] == 1
