"""Run filter expressions: parsing, evaluation, errors and rejected injections."""

from __future__ import annotations

import pandas as pd
import pytest

from tracking.filter_expr import (
    BoolOp,
    Column,
    Comparison,
    FilterError,
    Literal,
    Not,
    apply_filter,
    describe_error,
    filter_mask,
    parse_filter,
    tokenize,
)


@pytest.fixture
def runs():
    return pd.DataFrame(
        {
            "run_id": ["a1", "b2", "c3", "d4"],
            "name": ["brisk-river-1", "calm-dune-2", "eager-tide-3", "keen-fjord-4"],
            "state": ["finished", "failed", "finished", "running"],
            "created_at": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"], utc=True
            ),
            "tags": [["hgb", "baseline"], ["keras"], ["hgb"], []],
            "group": [None, None, "sweep-1", "sweep-1"],
            "config.lr": [0.1, 0.001, 0.005, float("nan")],
            "config.optimizer": ["adam", "sgd", None, "adam"],
            "config.layers.0": [64, 32, 64, 128],
            "summary.val_accuracy": [0.8, float("nan"), 0.9, 0.85],
            "summary.val/loss": [0.5, 0.7, 0.3, 0.4],
            "summary.train_loss": [0.4, 0.9, 0.2, 0.5],
        }
    )


def _ids(runs, text):
    return apply_filter(runs, text)["run_id"].tolist()


def _brute_force(runs, predicate):
    return [row["run_id"] for _, row in runs.iterrows() if predicate(row)]


def test_example_expression_matches_brute_force(runs):
    text = 'config.lr < 0.01 and summary.val_accuracy > 0.8 and state == "finished"'
    expected = _brute_force(
        runs,
        lambda row: (
            row["config.lr"] < 0.01
            and row["summary.val_accuracy"] > 0.8
            and row["state"] == "finished"
        ),
    )
    assert expected == ["c3"]
    assert _ids(runs, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("config.lr < 0.01", ["b2", "c3"]),
        ("config.lr <= 0.005", ["b2", "c3"]),
        ("config.lr >= 0.1", ["a1"]),
        ("config.lr != 0.1", ["b2", "c3"]),
        ("0.01 > config.lr", ["b2", "c3"]),
        ("config.lr > -1", ["a1", "b2", "c3"]),
        ("config.lr > 1e-3", ["a1", "c3"]),
        ('state == "finished" or state == "running"', ["a1", "c3", "d4"]),
        ('not state == "finished"', ["b2", "d4"]),
        ('not (state == "finished" or group == "sweep-1")', ["b2"]),
        ('state == "failed" or state == "running" and config.lr > 0', ["b2"]),
        (
            '(state == "failed" or state == "running") and summary.val/loss < 1',
            ["b2", "d4"],
        ),
        ('state in ["failed", "running"]', ["b2", "d4"]),
        ('state not in ["failed", "running"]', ["a1", "c3"]),
        ('"hgb" in tags', ["a1", "c3"]),
        ('"hgb" not in tags', ["b2", "d4"]),
        ("config.optimizer == null", ["c3"]),
        ("config.optimizer != null", ["a1", "b2", "d4"]),
        ("config.optimizer == 'adam'", ["a1", "d4"]),
        ("config.optimizer != 'adam'", ["b2"]),
        ("config.layers.0 == 64", ["a1", "c3"]),
        ("`summary.val/loss` < 0.45", ["c3", "d4"]),
        ("summary.val/loss < 0.45", ["c3", "d4"]),
        ("summary.val_accuracy > summary.train_loss", ["a1", "c3", "d4"]),
        ('created_at >= "2024-03-01"', ["c3", "d4"]),
        ("STATE == 'failed' AND config.lr < 1", ["b2"]),
        ("", ["a1", "b2", "c3", "d4"]),
    ],
)
def test_expressions_select_expected_runs(runs, text, expected):
    runs = runs.rename(columns={"state": "STATE"}) if "STATE" in text else runs
    assert _ids(runs, text) == expected


def test_missing_values_never_match_comparisons(runs):
    # d4 has no lr: it is neither below nor at-or-above 0.01.
    below = set(_ids(runs, "config.lr < 0.01"))
    at_or_above = set(_ids(runs, "config.lr >= 0.01"))
    assert "d4" not in below | at_or_above
    assert below | at_or_above == {"a1", "b2", "c3"}
    assert "d4" in _ids(runs, "not config.lr < 0.01")


def test_parse_tree_shape():
    expression = parse_filter('config.lr < 0.01 and not state == "failed" or x in [1]')
    root = expression.root
    assert isinstance(root, BoolOp)
    assert root.op == "or"
    left, right = root.operands
    assert isinstance(left, BoolOp)
    assert left.op == "and"
    assert left.operands[0] == Comparison(
        Column("config.lr", 0), "<", Literal(0.01, 12), 10
    )
    assert isinstance(left.operands[1], Not)
    assert right.op == "in"
    assert right.right.value == (1,)
    assert expression.columns == ["config.lr", "state", "x"]


def test_tokenizer_positions():
    tokens = tokenize("config.lr<=.5")
    assert [(token.kind, token.text, token.position) for token in tokens] == [
        ("name", "config", 0),
        ("punctuation", ".", 6),
        ("name", "lr", 7),
        ("operator", "<=", 9),
        ("number", ".5", 11),
        ("end", "", 13),
    ]


def test_string_escapes():
    expression = parse_filter(r'name == "say \"hi\""')
    assert expression.root.right.value == 'say "hi"'


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("__import__('os')", 10, "function calls are not supported"),
        ("__import__('os').system('ls') == 1", 10, "function calls"),
        ("open('/etc/passwd')", 4, "function calls are not supported"),
        ("config.lr == 1 and exec('x')", 23, "function calls"),
        ("state[0] == 'f'", 5, "indexing and attribute access"),
        ("lambda: 1", 6, "unexpected character ':'"),
        ("config.lr = 0.1", 10, "compare with '=='"),
        ("config.lr < 0.1 && state == 'x'", 16, "use 'and'"),
        ("config.lr < 0.1 || state == 'x'", 16, "use 'or'"),
        ("config.lr <", 11, "the expression ends where a value was expected"),
        ("config.lr", 9, "the condition is incomplete"),
        ("(config.lr < 1", 14, "close the parenthesis opened at character 1"),
        ("config.lr < 1 state == 'x'", 14, "join conditions with 'and' or 'or'"),
        ("state == 'finished", 9, "close the string"),
        ("1 < 2", 2, "one side must be a column"),
        ("config. == 1", 6, "cannot end with '.'"),
        ("state in 'finished'", 9, "'in' needs a list"),
        ("state in [config.lr]", 10, "list items must be numbers or strings"),
        ("state in ['a' 'b']", 14, "separate list items with ','"),
        ("config.lr < -state", 12, "'-' is allowed only before a number"),
        ("and state == 'x'", 0, "expected a column or a value"),
        ("config.lr < 0.1; import os", 15, "unexpected character ';'"),
    ],
)
def test_invalid_expressions_name_position(text, position, message):
    with pytest.raises(FilterError, match=message) as caught:
        parse_filter(text)
    assert caught.value.position == position
    assert f"at character {position + 1}" in str(caught.value)


def test_attribute_chain_on_unknown_name_rejected(runs):
    with pytest.raises(FilterError, match="unknown column 'os.system'") as caught:
        apply_filter(runs, "os.system == 'rm'")
    assert caught.value.position == 0


def test_dunder_attribute_is_just_an_unknown_column(runs):
    with pytest.raises(FilterError, match="unknown column 'config.lr.__class__'"):
        apply_filter(runs, "config.lr.__class__ == 1")
    with pytest.raises(FilterError, match="unknown column '__builtins__'"):
        apply_filter(runs, "__builtins__ == 1")


def test_unknown_column_suggests_close_names(runs):
    with pytest.raises(FilterError, match="did you mean config.lr") as caught:
        apply_filter(runs, "state == 'x' and config.lrr < 1")
    assert caught.value.position == 17


def test_string_compared_with_numeric_column_rejected(runs):
    with pytest.raises(FilterError, match="holds numbers; compare it with a number"):
        apply_filter(runs, "config.lr < '0.1'")


def test_invalid_date_rejected(runs):
    with pytest.raises(FilterError, match="holds times"):
        apply_filter(runs, "created_at > 'yesterday'")


def test_null_only_with_equality(runs):
    with pytest.raises(FilterError, match="null can only be compared"):
        apply_filter(runs, "config.lr < null")


def test_unlike_types_do_not_match(runs):
    mixed = runs.assign(**{"config.size": [1, "big", 3.5, None]})
    assert _ids(mixed, "config.size > 2") == ["c3"]
    assert _ids(mixed, "config.size == 'big'") == ["b2"]


def test_filter_mask_is_aligned_with_index(runs):
    shuffled = runs.set_index(pd.Index([10, 20, 30, 40]))
    mask = filter_mask(shuffled, "config.lr < 0.01")
    assert mask.index.tolist() == [10, 20, 30, 40]
    assert mask.tolist() == [False, True, True, False]


def test_describe_error_points_at_token():
    text = "__import__('os')"
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    assert describe_error(text, caught.value) == f"{text}\n{' ' * 10}^"


def test_ten_thousand_runs_filtered(runs):
    many = pd.concat([runs] * 2500, ignore_index=True)
    kept = apply_filter(many, "config.lr < 0.01 and '\"hgb\"' != name")
    assert len(kept) == 5000
