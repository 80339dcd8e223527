"""Histograms, images and tables that ``run.log`` stores as files.

Each logged value is written once under ``<artifacts>/media/<2 hex>/<sha256>
<suffix>`` and replaced in the history row and the summary by a JSON pointer
such as ``{"_type": "image-file", "path": "media/ab/ab12...png", ...}``. The
store's media table keeps one pointer per key and step.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tracking.errors import StoreError
from tracking.values import dumps, to_json_value

logger = logging.getLogger(__name__)

HISTOGRAM = "histogram"
IMAGE = "image-file"
TABLE = "table-file"
_SUFFIXES = {HISTOGRAM: ".histogram.json", IMAGE: ".png", TABLE: ".table.json"}
_MEDIA_PATH = re.compile(
    r"^media/([0-9a-f]{2})/([0-9a-f]{64})(\.histogram\.json|\.png|\.table\.json)$"
)


class Media:
    """A value that ``log`` stores as a file, with a pointer in the history row."""

    TYPE = ""

    def _encode(self) -> tuple[bytes, dict[str, Any]]:
        """Return the file's bytes and the pointer's extra fields."""
        raise NotImplementedError


class Histogram(Media):
    """A histogram of values, as ``wandb.Histogram``.

    Parameters
    ----------
    sequence : array-like, optional
        Values to bin with ``numpy.histogram``; they must be finite.
    np_histogram : tuple, optional
        A precomputed ``(counts, bin_edges)`` pair instead of ``sequence``.
    num_bins : int
        The number of bins, at most :attr:`MAX_LENGTH`.
    """

    TYPE = HISTOGRAM
    MAX_LENGTH = 512

    def __init__(
        self,
        sequence: Sequence[float] | np.ndarray | None = None,
        np_histogram: tuple[Sequence[float], Sequence[float]] | None = None,
        num_bins: int = 64,
    ):
        if np_histogram is not None:
            if len(np_histogram) != 2:
                raise ValueError(
                    "np_histogram must be a (counts, bin_edges) pair, as "
                    "numpy.histogram returns"
                )
            counts, edges = np_histogram
        elif sequence is not None:
            if isinstance(num_bins, bool) or not isinstance(num_bins, int):
                raise TypeError(f"num_bins must be an int, got {num_bins!r}")
            if not 1 <= num_bins <= self.MAX_LENGTH:
                raise ValueError(
                    f"num_bins must be between 1 and {self.MAX_LENGTH}, got {num_bins}"
                )
            values = np.asarray(sequence, dtype=float).ravel()
            if not np.isfinite(values).all():
                raise ValueError(
                    "histogram values contain NaN or infinity; drop them before "
                    "making the Histogram"
                )
            counts, edges = np.histogram(values, bins=num_bins)
        else:
            raise ValueError("Histogram needs a sequence or an np_histogram")

        self.histogram = [float(count) for count in np.asarray(counts).ravel()]
        self.bins = [float(edge) for edge in np.asarray(edges).ravel()]
        if len(self.histogram) > self.MAX_LENGTH:
            raise ValueError(
                f"a histogram has at most {self.MAX_LENGTH} bins, got "
                f"{len(self.histogram)}"
            )
        if len(self.bins) != len(self.histogram) + 1:
            raise ValueError(
                f"a histogram of {len(self.histogram)} counts needs "
                f"{len(self.histogram) + 1} bin edges, got {len(self.bins)}"
            )

    def __repr__(self) -> str:
        return f"Histogram({len(self.histogram)} bins)"

    def _encode(self) -> tuple[bytes, dict[str, Any]]:
        data = dumps({"values": self.histogram, "bins": self.bins}).encode()
        return data, {"num_bins": len(self.histogram)}


class Image(Media):
    """An image, stored as PNG, as ``wandb.Image``.

    Parameters
    ----------
    data_or_path : array-like, PIL image or path
        A 2-D (grey) or height x width x 1, 3 or 4 array (channel-first
        arrays such as PyTorch tensors are transposed), a PIL image, or the
        path of an image file. Floats in [0, 1] are scaled to 0-255, and
        arrays with negative values are first rescaled to [0, 1], as W&B does.
    caption : str, optional
        Shown with the image.
    """

    TYPE = IMAGE

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
    ):
        from PIL import Image as PILImage

        if caption is not None and not isinstance(caption, str):
            raise TypeError(f"caption must be a string, got {type(caption).__name__}")
        self.caption = caption

        if isinstance(data_or_path, Image):
            self.image = data_or_path.image.copy()
            return
        if isinstance(data_or_path, str | os.PathLike):
            with PILImage.open(data_or_path) as opened:
                opened.load()
                self.image = opened.copy()
        elif isinstance(data_or_path, PILImage.Image):
            self.image = data_or_path.copy()
        else:
            self.image = PILImage.fromarray(_image_array(data_or_path))
        if mode is not None:
            self.image = self.image.convert(mode)

    def __repr__(self) -> str:
        return f"Image({self.image.width}x{self.image.height} {self.image.mode})"

    def _encode(self) -> tuple[bytes, dict[str, Any]]:
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG")
        extra: dict[str, Any] = {
            "format": "png",
            "width": self.image.width,
            "height": self.image.height,
        }
        if self.caption is not None:
            extra["caption"] = self.caption
        return buffer.getvalue(), extra


def _image_array(data: Any) -> np.ndarray:
    """Convert an array-like image to uint8 height x width (x channels)."""
    if hasattr(data, "detach"):
        data = data.detach().cpu().numpy()
    array = np.asarray(data)
    if array.ndim > 2:
        array = array.squeeze()
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] > 4:
        array = np.moveaxis(array, 0, -1)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ValueError(
            f"cannot make an image of an array of shape {array.shape}; give "
            "height x width, or height x width x 3 (RGB) or 4 (RGBA)"
        )
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    array = array.astype(float)
    if array.size and array.min() < 0:
        span = np.ptp(array)
        array = (array - array.min()) / (span if span else 1.0)
    if array.size and array.max() <= 1.0:
        array = (array * 255).astype(np.int32)
    return np.clip(array, 0, 255).astype(np.uint8)


class Table(Media):
    """A table of rows, as ``wandb.Table``.

    Parameters
    ----------
    columns : list of str, optional
        Column names; W&B's default is ``["Input", "Output", "Expected"]``.
    data : list of lists, optional
        The rows. Cells are numbers, strings, booleans, None or lists of them.
    rows : list of lists, optional
        An older name of ``data``.
    dataframe : pandas.DataFrame, optional
        Columns and rows from a DataFrame instead.

    At most :attr:`MAX_ROWS` rows are stored when a table is logged; longer
    tables are cut with a warning, as W&B does.
    """

    TYPE = TABLE
    MAX_ROWS = 10_000

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Iterable[Sequence[Any]] | None = None,
        rows: Iterable[Sequence[Any]] | None = None,
        dataframe: pd.DataFrame | None = None,
        dtype: Any = None,
        optional: Any = True,
        allow_mixed_types: bool = False,
    ):
        if dataframe is not None:
            if not isinstance(dataframe, pd.DataFrame):
                raise TypeError(
                    f"dataframe must be a pandas DataFrame, got "
                    f"{type(dataframe).__name__}"
                )
            columns = [str(column) for column in dataframe.columns]
            data = dataframe.itertuples(index=False, name=None)
        if columns is None:
            columns = ["Input", "Output", "Expected"]
        self.columns = [str(column) for column in columns]
        self.data: list[list[Any]] = []
        for row in data if data is not None else rows or []:
            self.add_data(*row)

    def __repr__(self) -> str:
        return f"Table({len(self.columns)} columns, {len(self.data)} rows)"

    def add_data(self, *data: Any) -> None:
        """Append one row, with one value per column."""
        if len(data) != len(self.columns):
            raise ValueError(
                f"this table has {len(self.columns)} columns {self.columns}; the "
                f"row has {len(data)} values"
            )
        self.data.append(
            [
                _cell(value, column, len(self.data))
                for value, column in zip(data, self.columns, strict=True)
            ]
        )

    def add_row(self, *row: Any) -> None:
        """Append one row; an older name of :meth:`add_data`."""
        self.add_data(*row)

    def add_column(self, name: str, data: Sequence[Any]) -> None:
        """Append a column with one value per existing row."""
        if name in self.columns:
            raise ValueError(f"the table already has a column {name!r}")
        if len(data) != len(self.data):
            raise ValueError(
                f"column {name!r} has {len(data)} values; the table has "
                f"{len(self.data)} rows"
            )
        for index, (row, value) in enumerate(zip(self.data, data, strict=True)):
            row.append(_cell(value, name, index))
        self.columns.append(str(name))

    def get_column(self, name: str) -> list[Any]:
        """Return the values of column ``name``."""
        if name not in self.columns:
            raise KeyError(f"the table has no column {name!r}; it has {self.columns}")
        position = self.columns.index(name)
        return [row[position] for row in self.data]

    def get_dataframe(self) -> pd.DataFrame:
        """Return the table as a DataFrame."""
        return pd.DataFrame(self.data, columns=self.columns)

    def _encode(self) -> tuple[bytes, dict[str, Any]]:
        rows = self.data
        if len(rows) > self.MAX_ROWS:
            logger.warning(
                "table of %d rows cut to its first %d rows when logged",
                len(rows),
                self.MAX_ROWS,
            )
            rows = rows[: self.MAX_ROWS]
        data = dumps({"columns": self.columns, "data": rows}).encode()
        return data, {"ncols": len(self.columns), "nrows": len(rows)}


def _cell(value: Any, column: str, row: int) -> Any:
    try:
        return to_json_value(value, column)
    except TypeError:
        raise TypeError(
            f"table cell in column {column!r}, row {row} is a "
            f"{type(value).__name__}; cells hold numbers, strings, booleans, None "
            "or lists of them"
        ) from None


def write_media(root: Path, media: Media) -> dict[str, Any]:
    """Store ``media`` under ``root/media`` and return its pointer."""
    data, extra = media._encode()
    digest = hashlib.sha256(data).hexdigest()
    relative = f"media/{digest[:2]}/{digest}{_SUFFIXES[media.TYPE]}"
    target = root / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, scratch = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(scratch, target)
    return {
        "_type": media.TYPE,
        "path": relative,
        "sha256": digest,
        "size": len(data),
        **extra,
    }


def is_pointer(value: Any) -> bool:
    """Whether ``value`` is a media pointer that :func:`write_media` returned."""
    return isinstance(value, Mapping) and value.get("_type") in _SUFFIXES


def media_path(root: Path, pointer: Mapping[str, Any]) -> Path:
    """Return the file of a media pointer, rejecting paths it did not write."""
    path = str(pointer.get("path", ""))
    match = _MEDIA_PATH.match(path)
    if (
        match is None
        or match.group(1) != match.group(2)[:2]
        or _SUFFIXES.get(pointer.get("_type")) != match.group(3)
    ):
        raise StoreError(
            f"media pointer path {path!r} is malformed; the store may have been "
            "edited by hand"
        )
    target = root / path
    if not target.exists():
        raise StoreError(
            f"media file {path!r} is missing from {root}; the artifacts folder "
            "may have been moved or deleted"
        )
    return target


def load_media(root: Path, pointer: Mapping[str, Any]) -> Histogram | Image | Table:
    """Read a stored histogram, image or table back from its pointer."""
    path = media_path(root, pointer)
    if pointer["_type"] == IMAGE:
        image = Image(path, caption=pointer.get("caption"))
        return image
    content = json.loads(path.read_text(encoding="utf-8"))
    if pointer["_type"] == HISTOGRAM:
        return Histogram(np_histogram=(content["values"], content["bins"]))
    return Table(columns=content["columns"], data=content["data"])
