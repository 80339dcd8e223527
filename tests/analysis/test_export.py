"""CSV export escapes cells that a spreadsheet would run as formulas."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from analysis.export import escape_cell, escape_formulas, to_csv_bytes


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),
        (None, None),
    ],
)
def test_escape_cell(value, expected):
    """Check that only text starting with = + - @ gets an apostrophe."""
    assert escape_cell(value) == expected


def test_escape_formulas_text_columns_only():
    """Check that numbers stay numbers and every kind of text column is escaped."""
    frame = pd.DataFrame(
        {
            "text": ["=HYPERLINK()", "ok", None],
            "number": [-1.5, 2.0, np.nan],
            "category": pd.Categorical(["@x", "y", "y"]),
            "string": pd.Series(["-x", "z", np.nan], dtype=pd.StringDtype()),
            "flag": [True, False, True],
        }
    )
    escaped = escape_formulas(frame)

    assert escaped["text"].tolist()[:2] == ["'=HYPERLINK()", "ok"]
    assert pd.isna(escaped["text"].iloc[2])
    assert escaped["number"].tolist()[:2] == [-1.5, 2.0]
    assert escaped["category"].tolist() == ["'@x", "y", "y"]
    assert escaped["string"].tolist()[:2] == ["'-x", "z"]
    assert escaped["flag"].tolist() == [True, False, True]
    # The input is not changed.
    assert frame["text"].iloc[0] == "=HYPERLINK()"


def test_header_escaped():
    """Check that a column name that starts with = is escaped too."""
    frame = pd.DataFrame({"=evil": ["a"], "good": ["b"]})
    assert escape_formulas(frame).columns.tolist() == ["'=evil", "good"]


def test_to_csv_bytes_round_trip():
    """Check the CSV text: escaped cells, numbers as written, no index."""
    frame = pd.DataFrame({"name": ["+44 20", "Ann"], "delta": [-0.25, 3]})
    data = to_csv_bytes(frame)
    lines = data.decode("utf-8").splitlines()
    assert lines == ["name,delta", "'+44 20,-0.25", "Ann,3.0"]
    read = pd.read_csv(io.BytesIO(data))
    assert read["delta"].tolist() == [-0.25, 3.0]


def test_to_csv_bytes_with_index():
    """Check that an index written as a column is escaped like the others."""
    frame = pd.DataFrame({"value": [1]}, index=pd.Index(["=x"], name="key"))
    assert to_csv_bytes(frame, index=True).decode().splitlines() == [
        "key,value",
        "'=x,1",
    ]
