"""Image datasets: pixel columns found and turned into grey-scale pictures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from analysis.images import image_layout, pixel_range, row_images


@pytest.fixture
def digits():
    data = load_digits()
    frame = pd.DataFrame(data.data, columns=[f"pixel_{i}" for i in range(64)])
    frame["label"] = data.target
    return frame, data.images


def test_layout_of_digits(digits):
    """Check the 8x8 layout, with pixel columns in numeric order."""
    frame, _ = digits
    shuffled = list(reversed(frame.columns))
    layout = image_layout(shuffled)
    assert layout.side == 8
    assert layout.columns[:3] == ("pixel_0", "pixel_1", "pixel_2")
    assert layout.columns[-1] == "pixel_63"


@pytest.mark.parametrize(
    "columns",
    [
        ["age", "income"],
        [f"pixel_{i}" for i in range(63)],  # not a square
        [f"pixel_{i}" for i in range(1, 65)],  # does not start at 0
        ["pixel_0", "pixel_1", "pixel_2"],
    ],
)
def test_not_images(columns):
    """Check that other column sets are not read as images."""
    assert image_layout(columns) is None


def test_images_match_sklearn(digits):
    """Check each picture against sklearn's 8x8 images, scaled from 0-16 to 0-255."""
    frame, images = digits
    layout = image_layout(frame.columns)
    value_range = pixel_range(frame, layout)
    assert value_range == (0.0, 16.0)
    pictures = row_images(frame.iloc[:5], layout, value_range)
    expected = np.rint(images[:5] / 16 * 255).astype(np.uint8)
    assert pictures.dtype == np.uint8
    assert np.array_equal(pictures, expected)


def test_scaled_and_missing_pixels(digits):
    """Check that scaling repeats pixels and a missing pixel is black."""
    frame, _ = digits
    layout = image_layout(frame.columns)
    row = frame.iloc[[0]].copy()
    row["pixel_3"] = np.nan
    picture = row_images(row, layout, (0.0, 16.0), scale=3)[0]
    assert picture.shape == (24, 24)
    assert (picture[0:3, 9:12] == 0).all()
    assert (picture[0:3, 6:9] == picture[0, 6]).all()
