"""Load the bundled Adult census data and read CSV files that users upload.

Both loaders return text columns with the pandas ``str`` dtype
(``pd.StringDtype(na_value=np.nan)``), so a missing value is ``NaN`` and
``frame[column].isna()`` finds it.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

SAMPLE_DATA_DIR = Path(__file__).resolve().parent.parent / "sample_data"

ADULT_LABEL = "income"
ADULT_POSITIVE = ">50K"
ADULT_SPLITS = ("train", "test")
ADULT_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
)
ADULT_INTEGER_COLUMNS = (
    "age",
    "fnlwgt",
    "education_num",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
)

# The default text dtype of pandas 3: missing values are np.nan, not pd.NA.
TEXT_DTYPE = pd.StringDtype(na_value=np.nan)

# Cell values (after stripping whitespace) that read_csv turns into missing values.
MISSING_TOKENS = frozenset({"", "?"})

# NOTE: a guessed cap that stops a small gzip upload from expanding without bound.
MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024

_GZIP_MAGIC = b"\x1f\x8b"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs"}


class DataError(ValueError):
    """A data file or column that cannot be used, with a message meant for users."""


def load_adult(split: str = "train") -> pd.DataFrame:
    """Load one split of the UCI Adult census data shipped in ``sample_data``.

    Parameters
    ----------
    split : {"train", "test"}, default "train"
        ``"train"`` is ``adult.data`` (32,561 rows) and ``"test"`` is
        ``adult.test`` (16,281 rows).

    Returns
    -------
    pandas.DataFrame
        The columns of ``ADULT_COLUMNS``. Integer columns have dtype ``int64``,
        and the other columns have the ``str`` dtype with ``NaN`` where the raw
        file had ``?``. The label column ``income`` is ``"<=50K"`` or ``">50K"``.

    Raises
    ------
    ValueError
        If ``split`` is not ``"train"`` or ``"test"``.
    """
    if split not in ADULT_SPLITS:
        raise ValueError(
            f"split must be one of {', '.join(map(repr, ADULT_SPLITS))}, got {split!r}"
        )

    path = SAMPLE_DATA_DIR / f"adult_{split}.csv.gz"
    dtypes = {
        column: "int64" if column in ADULT_INTEGER_COLUMNS else TEXT_DTYPE
        for column in ADULT_COLUMNS
    }
    frame = pd.read_csv(
        path,
        dtype=dtypes,
        keep_default_na=False,
        na_values=[""],
    )

    logger.debug("loaded Adult %s split from %s: %d rows", split, path, len(frame))
    return frame


def read_csv(source: bytes | str | Path, *, name: str = "upload") -> pd.DataFrame:
    """Read a comma-separated file that a user uploaded or named by path.

    The first non-blank line is the header. Blank lines are skipped. Header
    names and cells are stripped of surrounding whitespace, and cells that are
    empty or ``?`` become missing values. A column whose present values all
    parse as numbers becomes ``int64`` or ``float64``, and every other column
    gets the ``str`` dtype with ``NaN`` for missing values. A blank header name
    becomes ``"Unnamed: <position>"``, as in ``pandas.read_csv``.

    Parameters
    ----------
    source : bytes, str or pathlib.Path
        The file content (``bytes``, for example from an upload widget) or the
        path of a file (``str`` or ``Path``). Content that starts with the gzip
        magic number is decompressed first. The text must be UTF-8, with or
        without a byte order mark.
    name : str, default "upload"
        File name shown in error messages. It is never opened as a path.

    Returns
    -------
    pandas.DataFrame
        One row for each data record below the header.

    Raises
    ------
    DataError
        If the file cannot be read, is empty, is not UTF-8 or is gzip data that
        cannot be decompressed. Also if a line has a different number of fields
        than the header, the only column looks separated by ``;`` or tabs, two
        columns have the same name, or no data row follows the header.
    """
    data = _read_bytes(source, name)
    if data[:2] == _GZIP_MAGIC:
        data = _decompress_gzip(data, name)

    text = _decode_utf8(data, name)
    header, rows = _parse_csv(text, name)
    _check_header(header, name)
    if not rows:
        raise DataError(
            f"{name!r} has a header row but no data rows. Upload a file with at "
            "least one data row below the header."
        )

    frame = _build_frame(header, rows)
    logger.info("read %r: %d rows, %d columns", name, len(frame), len(frame.columns))
    return frame


def check_label(frame: pd.DataFrame, label: str) -> None:
    """Check that ``label`` is a column of ``frame`` with at least one value.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data that a model is trained or evaluated on.
    label : str
        Name of the target column.

    Raises
    ------
    DataError
        If ``frame`` has no column ``label`` (the message lists the columns it
        has), or if every value of that column is missing.
    """
    if label not in frame.columns:
        available = ", ".join(repr(column) for column in frame.columns)
        raise DataError(
            f"label column {label!r} is not in the data. Available columns: "
            f"{available or '(none)'}. Choose one of them as the label."
        )

    if frame[label].isna().all():
        raise DataError(
            f"label column {label!r} contains only missing values "
            f"({len(frame)} rows). Choose a label column that has values."
        )


def feature_columns(frame: pd.DataFrame, label: str | None = None) -> list[str]:
    """Return the columns of ``frame`` other than ``label``, in frame order.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    label : str or None, default None
        Name of the target column to leave out. ``None``, or a name that is not
        a column, leaves every column in.

    Returns
    -------
    list of str
        The feature column names.
    """
    return [column for column in frame.columns if column != label]


def _read_bytes(source: bytes | str | Path, name: str) -> bytes:
    """Return the bytes of an upload, or read them from a path."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)

    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise DataError(
            f"{name!r} could not be read from {str(source)!r}: {exc.strerror}. "
            "Check the path and that the file is readable."
        ) from exc


def _decompress_gzip(data: bytes, name: str) -> bytes:
    """Decompress gzip data, up to ``MAX_DECOMPRESSED_BYTES``."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            content = stream.read(MAX_DECOMPRESSED_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{name!r} starts like a gzip file but cannot be decompressed ({exc}). "
            "Upload the file again, or upload the uncompressed CSV."
        ) from exc

    if len(content) > MAX_DECOMPRESSED_BYTES:
        raise DataError(
            f"{name!r} decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes. "
            "Upload a smaller file."
        )
    return content


def _decode_utf8(data: bytes, name: str) -> str:
    """Decode UTF-8 text and drop a leading byte order mark."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if data[:2] in _UTF16_BOMS:
            found = "The file is UTF-16 text."
        else:
            found = f"Byte 0x{data[exc.start]:02x} at offset {exc.start} is invalid."
        raise DataError(
            f"{name!r} is not UTF-8 text. {found} Save the file as UTF-8 CSV "
            "(in Excel: 'CSV UTF-8') and upload it again."
        ) from exc


def _parse_csv(text: str, name: str) -> tuple[list[str], list[list[str | None]]]:
    """Split CSV text into a stripped header and rows of cleaned cells."""
    header: list[str] | None = None
    rows: list[list[str | None]] = []

    for line_number, fields in _read_records(text, name):
        if _is_blank(fields):
            continue

        if header is None:
            header = [field.strip() for field in fields]
            _check_delimiter(header, name)
            continue

        if len(fields) != len(header):
            noun = "field" if len(fields) == 1 else "fields"
            raise DataError(
                f"{name!r} could not be parsed: line {line_number} has "
                f"{len(fields)} {noun}, but the header has {len(header)}. "
                "Check that line for a missing or extra ',' or for a value "
                "with a ',' that is not in double quotes, then upload again."
            )

        rows.append([_clean_cell(field) for field in fields])

    if header is None:
        raise DataError(
            f"{name!r} is empty. Upload a CSV file with a header row and at least "
            "one data row."
        )
    return header, rows


def _read_records(text: str, name: str) -> Iterator[tuple[int, list[str]]]:
    """Yield each CSV record with the line number on which it starts."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)

    while True:
        # A quoted field may span lines, so line_num is the record's last line.
        line_number = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(
                f"{name!r} could not be parsed in the record that starts on line "
                f"{line_number}: {exc}. Check for a double quote that is not "
                "closed or not followed by ',', then upload again."
            ) from exc

        yield line_number, fields


def _is_blank(fields: Sequence[str]) -> bool:
    """Return whether a parsed line is empty or only whitespace."""
    return not fields or (len(fields) == 1 and not fields[0].strip())


def _clean_cell(field: str) -> str | None:
    """Strip a cell and return None for a missing value."""
    value = field.strip()
    return None if value in MISSING_TOKENS else value


def _check_delimiter(header: list[str], name: str) -> None:
    """Reject a one-column header that another delimiter would split."""
    if len(header) != 1:
        return

    for delimiter, plural in _OTHER_DELIMITERS.items():
        if delimiter in header[0]:
            raise DataError(
                f"{name!r} has a single column named {header[0]!r}, so its "
                f"fields are probably separated by {plural} ({delimiter!r}), "
                "not commas. Save it as comma-separated CSV (delimiter ',') and "
                "upload it again."
            )


def _check_header(header: list[str], name: str) -> None:
    """Name blank header cells as pandas does and reject duplicate names."""
    for position, column in enumerate(header):
        if not column:
            header[position] = f"Unnamed: {position}"

    counts = Counter(header)
    duplicates = [column for column, count in counts.items() if count > 1]
    if duplicates:
        listed = ", ".join(repr(column) for column in duplicates)
        raise DataError(
            f"{name!r} has duplicate column names: {listed}. Rename the columns so "
            "that each name appears once, then upload again."
        )


def _build_frame(header: list[str], rows: list[list[str | None]]) -> pd.DataFrame:
    """Build a frame with numeric columns as numbers and the rest as text."""
    raw = pd.DataFrame(rows, columns=header, dtype=object)
    columns = {column: _convert_column(raw[column]) for column in header}
    return pd.DataFrame(columns, index=pd.RangeIndex(len(raw)))


def _convert_column(values: pd.Series) -> pd.Series:
    """Return numbers if every present value parses as one, else text."""
    try:
        numbers = pd.to_numeric(values)
    except (ValueError, TypeError):
        return values.astype(TEXT_DTYPE)

    # Integers beyond the uint64 range come back as Python ints in an object column.
    if not pd.api.types.is_numeric_dtype(numbers):
        return values.astype(TEXT_DTYPE)
    return numbers
