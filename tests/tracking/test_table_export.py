"""CSV export of the runs table with formula-like cells escaped."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from tracking.table_export import escape_cell, table_to_csv


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
        (-0.5, -0.5),
        (None, None),
    ],
)
def test_escape_cell(value, expected):
    assert escape_cell(value) == expected


def test_csv_escapes_text_and_keeps_numbers():
    table = pd.DataFrame(
        {
            "name": ["=cmd|' /C calc'!A0", "calm-dune-2"],
            "tags": [["@risky", "ok"], []],
            "notes": ["+danger", None],
            "config.lr": [-0.5, 0.01],
            "-weird": ["x", "y"],
        }
    )
    rows = list(csv.reader(io.StringIO(table_to_csv(table))))
    assert rows[0] == ["name", "tags", "notes", "config.lr", "'-weird"]
    assert rows[1] == ["'=cmd|' /C calc'!A0", "'@risky, ok", "'+danger", "-0.5", "x"]
    assert rows[2] == ["calm-dune-2", "", "", "0.01", "y"]


def test_csv_leaves_input_unchanged():
    table = pd.DataFrame({"name": ["=1"]})
    table_to_csv(table)
    assert table["name"].tolist() == ["=1"]
