"""Build the cleaned Adult census CSV files from the raw UCI files.

Usage::

    python sample_data/build_adult.py path/to/adult.data path/to/adult.test

The script writes ``adult_train.csv.gz`` and ``adult_test.csv.gz`` next to itself
(or into ``--output-dir``). It uses only the standard library, and it compresses
with a zero gzip timestamp, so the same inputs give the same bytes on every run
with the same zlib version. See README.md beside this file for the cleaning steps.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
from collections import Counter
from pathlib import Path

COLUMNS = (
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
INTEGER_COLUMNS = frozenset(
    {
        "age",
        "fnlwgt",
        "education_num",
        "capital_gain",
        "capital_loss",
        "hours_per_week",
    }
)
LABELS = frozenset({"<=50K", ">50K"})
MISSING_TOKEN = "?"

# Row counts of the UCI release (adult.names: 32561 train and 16281 test instances).
EXPECTED_ROWS = {"train": 32_561, "test": 16_281}


def read_raw(path: Path, split: str) -> list[list[str]]:
    """Read one raw UCI file into rows of stripped fields, with missing as ''."""
    text = path.read_text(encoding="ascii")
    lines = text.splitlines()

    # adult.test opens with the line "|1x3 Cross validator", which is not a data record.
    if split == "test":
        if not lines or not lines[0].startswith("|"):
            raise SystemExit(f"{path}: expected a '|' comment on line 1 of adult.test")
        lines = lines[1:]

    rows = []
    for line_number, fields in enumerate(csv.reader(lines), start=1):
        if not fields:
            continue

        if len(fields) != len(COLUMNS):
            raise SystemExit(
                f"{path}: record {line_number} has {len(fields)} fields, "
                f"expected {len(COLUMNS)}"
            )

        rows.append([clean_field(field) for field in fields])

    return rows


def clean_field(field: str) -> str:
    """Strip whitespace and map the UCI missing marker '?' to an empty cell."""
    value = field.strip()
    return "" if value == MISSING_TOKEN else value


def clean_rows(rows: list[list[str]], path: Path, split: str) -> list[list[str]]:
    """Drop the '.' that ends every adult.test label and check types and labels."""
    label_index = COLUMNS.index("income")
    integer_indexes = [
        COLUMNS.index(name) for name in COLUMNS if name in INTEGER_COLUMNS
    ]

    for row_number, row in enumerate(rows, start=1):
        if split == "test":
            row[label_index] = row[label_index].removesuffix(".")

        if row[label_index] not in LABELS:
            raise SystemExit(
                f"{path}: record {row_number} has label {row[label_index]!r}, "
                f"expected one of {sorted(LABELS)}"
            )

        for index in integer_indexes:
            if not row[index].isdigit():
                raise SystemExit(
                    f"{path}: record {row_number} has {COLUMNS[index]}="
                    f"{row[index]!r}, expected a non-negative integer"
                )

    if len(rows) != EXPECTED_ROWS[split]:
        raise SystemExit(
            f"{path}: read {len(rows)} records, expected {EXPECTED_ROWS[split]}"
        )

    return rows


def write_csv_gz(rows: list[list[str]], path: Path) -> None:
    """Write a header and the rows as UTF-8 CSV, gzip-compressed with mtime=0."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)

    data = gzip.compress(buffer.getvalue().encode("utf-8"), compresslevel=9, mtime=0)
    path.write_bytes(data)


def summarize(rows: list[list[str]], split: str) -> str:
    """Return a one-line summary: row count, label balance and missing cells."""
    labels = Counter(row[COLUMNS.index("income")] for row in rows)
    missing = {
        name: sum(1 for row in rows if row[index] == "")
        for index, name in enumerate(COLUMNS)
    }
    missing_text = ", ".join(
        f"{name}={count}" for name, count in missing.items() if count
    )
    label_text = ", ".join(
        f"{label}={labels[label]} ({labels[label] / len(rows):.2%})"
        for label in sorted(LABELS)
    )
    return f"{split}: {len(rows)} rows; labels {label_text}; missing {missing_text}"


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, clean both files and write them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train_path", type=Path, help="path of the raw adult.data")
    parser.add_argument("test_path", type=Path, help="path of the raw adult.test")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="folder for adult_train.csv.gz and adult_test.csv.gz "
        "(default: the folder of this script)",
    )
    args = parser.parse_args(argv)

    for split, raw_path in (("train", args.train_path), ("test", args.test_path)):
        rows = clean_rows(read_raw(raw_path, split), raw_path, split)

        output_path = args.output_dir / f"adult_{split}.csv.gz"
        write_csv_gz(rows, output_path)

        print(summarize(rows, split))
        print(f"wrote {output_path}")


if __name__ == "__main__":
    main()
