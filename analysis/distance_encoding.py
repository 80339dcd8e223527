"""Feature columns encoded once per dataset, so each distance is a few numpy passes.

:func:`analysis.counterfactual.distances` compares one row with every row of the
data. On the raw columns, a categorical feature costs a string comparison per row:
about 10 ms per feature at 1,000,000 rows on the 2-core machine described in
bench/README.md. The encoding here is computed once when the dataset is loaded:

* a numeric feature keeps its values as a float64 array, with the positions of its
  missing and infinite values;
* a categorical feature keeps integer codes (-1 for a missing value) and its
  distinct values in the column's own dtype.

A query then compares the anchor value with each distinct value, using the same
``==`` as the column would, so it gets the same matches as comparing every row.
It looks each row's term up by its code. The arithmetic is the same as on the raw
columns, operation for operation, so the distances are equal to the last bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True, eq=False)
class EncodedNumeric:
    """A numeric feature as float64 values.

    Attributes
    ----------
    values : numpy.ndarray
        The values as float64, with NaN where a value is missing. The array is
        read-only.
    not_finite : numpy.ndarray
        Positions of the missing and infinite values. The array is read-only.
    """

    values: np.ndarray
    not_finite: np.ndarray


@dataclass(frozen=True, eq=False)
class EncodedCategorical:
    """A categorical feature as integer codes into its distinct values.

    Attributes
    ----------
    codes : numpy.ndarray
        The position of each row's value in ``uniques``, or -1 for a missing
        value. The dtype is the smallest signed integer type that fits, and the
        array is read-only.
    uniques : pandas.Series
        The distinct non-missing values in order of first appearance, in the
        column's dtype.
    """

    codes: np.ndarray
    uniques: pd.Series

    def counts(self) -> np.ndarray:
        """Return the number of rows of each distinct value, in ``uniques`` order."""
        present = self.codes[self.codes >= 0]
        return np.bincount(present, minlength=len(self.uniques))


@dataclass(frozen=True, eq=False)
class DistanceEncoding:
    """The features of one dataset, encoded for distances.

    Attributes
    ----------
    n_rows : int
        Rows of the encoded data.
    columns : tuple
        Column names of the encoded data, in order, including columns left out
        of the distance.
    numeric : dict of str to EncodedNumeric
    categorical : dict of str to EncodedCategorical
    """

    n_rows: int
    columns: tuple[Any, ...]
    numeric: Mapping[str, EncodedNumeric]
    categorical: Mapping[str, EncodedCategorical]

    def describes(self, frame: pd.DataFrame) -> bool:
        """Return whether ``frame`` has the encoded data's length and columns.

        It cannot check the values: the caller promises that the frame contains
        the data that was encoded, unchanged.
        """
        return len(frame) == self.n_rows and tuple(frame.columns) == self.columns


def encode_numeric(values: np.ndarray) -> EncodedNumeric:
    """Encode a numeric feature from its values as float64, NaN where missing."""
    owned = np.array(values, dtype=np.float64, copy=True)
    owned.flags.writeable = False
    not_finite = np.flatnonzero(~np.isfinite(owned))
    not_finite.flags.writeable = False
    return EncodedNumeric(values=owned, not_finite=not_finite)


def encode_categorical(column: pd.Series) -> EncodedCategorical:
    """Encode a categorical feature as codes into its distinct values."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    codes = codes.astype(np.min_scalar_type(-max(len(uniques), 1)), copy=False)
    codes.flags.writeable = False
    return EncodedCategorical(
        codes=codes, uniques=pd.Series(uniques, dtype=column.dtype)
    )


def add_numeric_term(
    total: np.ndarray,
    encoded: EncodedNumeric,
    target: float,
    std: float,
    *,
    squared: bool,
) -> None:
    """Add ``|value - target| / std`` of every row to ``total``, in place.

    The term is 1 where the row's value or ``target`` is missing or infinite,
    and 0 elsewhere when ``std`` is 0. ``squared`` adds the squared term.
    """
    if not np.isfinite(target):
        total += 1.0
        return

    if std > 0:
        term = np.subtract(encoded.values, target)
        np.abs(term, out=term)
        term /= std
        term[encoded.not_finite] = 1.0
        if squared:
            term *= term
        total += term
    else:
        # The term is 0 on finite values, and adding 0 leaves the total unchanged.
        total[encoded.not_finite] += 1.0


def add_categorical_term(
    total: np.ndarray,
    encoded: EncodedCategorical,
    anchor_value: Any,
    mismatch: float,
    *,
    squared: bool,
) -> None:
    """Add each row's categorical term for a non-missing ``anchor_value`` to ``total``.

    The term is 0 where the row's value equals ``anchor_value``, 1 where it is
    missing and ``mismatch`` elsewhere. ``squared`` adds the squared term.
    """
    equal = (encoded.uniques == anchor_value).to_numpy(dtype=bool, na_value=False)
    # One entry per distinct value, then one for code -1, a missing value.
    terms = np.full(len(equal) + 1, mismatch, dtype=float)
    terms[:-1][equal] = 0.0
    terms[-1] = 1.0
    if squared:
        terms *= terms
    total += terms[encoded.codes]
