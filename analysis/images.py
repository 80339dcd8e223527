"""Image datasets: rows whose features are the pixels of a small square image.

A dataset is treated as images when its feature columns include ``pixel_0`` to
``pixel_{n-1}`` (or ``pixel0`` ...), with ``n`` a square number, such as the 64
columns of scikit-learn's 8x8 digits. Pixel ``i`` is at row ``i // side`` and
column ``i % side``, the order of ``sklearn.datasets.load_digits().data``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

_PIXEL_NAME = re.compile(r"^pixel_?(\d+)$")


@dataclass(frozen=True)
class ImageLayout:
    """The pixel columns of an image dataset and the image size.

    Attributes
    ----------
    columns : tuple of str
        Pixel columns in pixel order.
    side : int
        Width and height of the square image.
    """

    columns: tuple[str, ...]
    side: int


def image_layout(columns: Sequence[str]) -> ImageLayout | None:
    """Return the pixel layout of a dataset, or None when it is not an image dataset.

    Parameters
    ----------
    columns : sequence of str
        The feature columns.

    Returns
    -------
    ImageLayout or None
        None unless the pixel columns are numbered 0 to n - 1 without gaps and n
        is a square of at least 4.
    """
    numbered = {}
    for name in columns:
        match = _PIXEL_NAME.match(str(name))
        if match:
            numbered[int(match.group(1))] = str(name)
    count = len(numbered)
    side = math.isqrt(count)
    if count < 4 or side * side != count or set(numbered) != set(range(count)):
        return None
    return ImageLayout(columns=tuple(numbered[i] for i in range(count)), side=side)


def pixel_range(frame: pd.DataFrame, layout: ImageLayout) -> tuple[float, float]:
    """Return the smallest and largest pixel value over the whole dataset."""
    values = frame.loc[:, list(layout.columns)].to_numpy(dtype=float, na_value=np.nan)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


def row_images(
    frame: pd.DataFrame,
    layout: ImageLayout,
    value_range: tuple[float, float],
    *,
    scale: int = 1,
) -> np.ndarray:
    """Turn rows into grey-scale images, 0 (black) at the low end of the range.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with the pixel columns.
    layout : ImageLayout
    value_range : tuple of float
        Pixel values mapped to 0 and 255, usually :func:`pixel_range` of the
        whole dataset, so that every image uses the same scale.
    scale : int, default 1
        Repeat each pixel this many times in both directions, for a larger
        image without blurring.

    Returns
    -------
    numpy.ndarray of uint8, shape (n_rows, side * scale, side * scale)
        Missing pixels are black.
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    low, high = value_range
    values = frame.loc[:, list(layout.columns)].to_numpy(dtype=float, na_value=np.nan)
    span = high - low if high > low else 1.0
    grey = np.clip((values - low) / span, 0.0, 1.0)
    grey = np.nan_to_num(grey, nan=0.0)
    images = np.rint(grey * 255).astype(np.uint8).reshape(-1, layout.side, layout.side)
    if scale > 1:
        images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    return images
