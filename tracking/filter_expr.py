"""Run filter expressions such as ``config.lr < 0.01 and state == "finished"``.

A hand-written tokenizer and recursive-descent parser turn the text into a
small tree of comparisons joined by ``and``, ``or`` and ``not``, which is then
evaluated against the runs DataFrame. The text is never passed to Python's
``eval``: the grammar below has no calls, attribute access or indexing, so
``__import__('os')`` is a syntax error and ``os.system`` is an unknown column.

Grammar (keywords ignore case)::

    expression := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := operand (compare_op operand | ["not"] "in" list_or_operand)
                  | "(" expression ")"
    compare_op := "==" | "!=" | "<" | "<=" | ">" | ">="
    operand    := column | number | "-" number | string | true | false | null
    column     := name ("." name)* | `any text between backticks`
    name       := letters, digits, "_" and "/" (as in val/loss), not a digit first
    list       := "[" [literal ("," literal)*] "]"

A comparison with a missing value (a run that never set the key) is false,
except ``== null``, which matches missing values, and ``!= null``.
"""

from __future__ import annotations

import difflib
import logging
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tracking.errors import TrackingError

logger = logging.getLogger(__name__)

EXAMPLE = 'config.lr < 0.01 and summary.val_accuracy > 0.8 and state == "finished"'

COMPARISON_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null", "none"}
_CONSTANTS = {"true": True, "false": False, "null": None, "none": None}

# Python and SQL spellings that users type by habit, with the operator to use.
_MISTAKES = {
    "=": "'=' is assignment; compare with '=='",
    "&&": "use 'and' to combine conditions",
    "&": "use 'and' to combine conditions",
    "||": "use 'or' to combine conditions",
    "|": "use 'or' to combine conditions",
    "!": "use 'not' to negate a condition",
    "<>": "use '!=' for 'not equal'",
}

_TOKEN_PATTERN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<quoted>`[^`]*`)
  | (?P<name>[A-Za-z_][A-Za-z0-9_/]*)
  | (?P<operator>==|!=|<=|>=|<>|&&|\|\||[<>=!&|])
  | (?P<punctuation>[().,\[\]\-])
    """,
    re.VERBOSE,
)


class FilterError(TrackingError, ValueError):
    """An invalid filter expression.

    ``position`` is the 0-based character offset of the offending token, or
    None when the problem is not tied to one place.
    """

    def __init__(self, message: str, position: int | None = None):
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class Token:
    """One lexical token: its kind, its source text and where it starts."""

    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class Column:
    """A reference to a column of the runs table, such as ``config.lr``."""

    name: str
    position: int


@dataclass(frozen=True)
class Literal:
    """A constant: a number, string, bool, None or a tuple of them (a list)."""

    value: Any
    position: int


@dataclass(frozen=True)
class Comparison:
    """``left op right`` with op one of ``COMPARISON_OPERATORS``, in, not in."""

    left: Column | Literal
    op: str
    right: Column | Literal
    position: int


@dataclass(frozen=True)
class BoolOp:
    """``and`` or ``or`` over two or more operands."""

    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """Negation of an expression."""

    operand: Node


Node = Comparison | BoolOp | Not


@dataclass(frozen=True)
class FilterExpression:
    """A parsed filter: the source text and its tree."""

    text: str
    root: Node | None

    @property
    def columns(self) -> list[str]:
        """Return the column names the expression reads, in order of appearance."""
        names: list[str] = []
        _collect_columns(self.root, names)
        return list(dict.fromkeys(names))


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``end`` token.

    Raises
    ------
    FilterError
        On a character that starts no token, naming it and its position.
    """
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        # After a name, "." continues a column name (config.layers.0) rather
        # than starting a number such as .5.
        previous = tokens[-1] if tokens else None
        if (
            text[position] == "."
            and previous is not None
            and previous.kind == "name"
            and previous.position + len(previous.text) == position
        ):
            tokens.append(Token("punctuation", ".", position))
            position += 1
            continue
        match = _TOKEN_PATTERN.match(text, position)
        if match is None:
            character = text[position]
            hint = (
                "close the string with the quote it opened with"
                if character in "\"'`"
                else "use column names, numbers, quoted strings and the operators "
                "== != < <= > >= in and or not"
            )
            raise FilterError(
                _at(position, f"unexpected character {character!r}; {hint}"),
                position,
            )
        kind = match.lastgroup
        if kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def parse_filter(text: str) -> FilterExpression:
    """Parse a filter expression; an empty or blank text keeps every run.

    Parameters
    ----------
    text : str
        For example ``config.lr < 0.01 and summary.val_accuracy > 0.8``.

    Returns
    -------
    FilterExpression

    Raises
    ------
    FilterError
        Naming the token and its character position, and how to fix it.
    """
    if not text or not text.strip():
        return FilterExpression(text or "", None)
    parser = _Parser(tokenize(text))
    root = parser.parse()
    return FilterExpression(text, root)


def filter_mask(runs: pd.DataFrame, expression: FilterExpression | str) -> pd.Series:
    """Evaluate a filter on every row of ``runs``.

    Parameters
    ----------
    runs : pandas.DataFrame
        The runs table, as returned by :meth:`tracking.RunStore.runs`.
    expression : FilterExpression or str
        A parsed filter or its text.

    Returns
    -------
    pandas.Series of bool
        Aligned with ``runs.index``.

    Raises
    ------
    FilterError
        When the expression names a column that ``runs`` does not have, or
        compares a column with a value of another type.
    """
    if isinstance(expression, str):
        expression = parse_filter(expression)
    if expression.root is None:
        return pd.Series(True, index=runs.index)
    _check_columns(runs, expression)
    mask = _evaluate(expression.root, runs)
    return mask.astype(bool)


def apply_filter(
    runs: pd.DataFrame, expression: FilterExpression | str
) -> pd.DataFrame:
    """Return the rows of ``runs`` for which the filter holds.

    See :func:`filter_mask` for the parameters and errors.
    """
    return runs[filter_mask(runs, expression)]


def describe_error(text: str, error: FilterError) -> str:
    """Return the expression with a caret under the error position, for display."""
    if error.position is None:
        return text
    return f"{text}\n{' ' * error.position}^"


# Parsing


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_keyword(self, word: str) -> bool:
        token = self.current
        return token.kind == "name" and token.text.lower() == word

    def parse(self) -> Node:
        node = self.parse_or()
        token = self.current
        if token.kind == "operator" and token.text in _MISTAKES:
            raise self.error(token, _MISTAKES[token.text])
        if token.kind != "end":
            raise self.error(
                token,
                "expected 'and', 'or' or the end of the expression; join "
                "conditions with 'and' or 'or'",
            )
        return node

    def parse_or(self) -> Node:
        operands = [self.parse_and()]
        while self.is_keyword("or"):
            self.advance()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def parse_and(self) -> Node:
        operands = [self.parse_not()]
        while self.is_keyword("and"):
            self.advance()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def parse_not(self) -> Node:
        if self.is_keyword("not"):
            self.advance()
            return Not(self.parse_not())
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        token = self.current
        if token.text == "(":
            self.advance()
            node = self.parse_or()
            hint = f"close the parenthesis opened at character {token.position + 1}"
            self.expect(")", hint)
            return node

        left = self.parse_operand()
        op_token = self.current
        op = self.parse_operator()
        if op in ("in", "not in"):
            right = self.parse_collection()
        else:
            right = self.parse_operand()
        if isinstance(left, Literal) and isinstance(right, Literal):
            raise self.error(
                op_token,
                "this compares two constants; one side must be a column such "
                "as config.lr or state",
            )
        return Comparison(left, op, right, op_token.position)

    def parse_operator(self) -> str:
        token = self.current
        if token.kind == "operator" and token.text in COMPARISON_OPERATORS:
            self.advance()
            return token.text
        if self.is_keyword("in"):
            self.advance()
            return "in"
        if self.is_keyword("not"):
            self.advance()
            if not self.is_keyword("in"):
                raise self.error(self.current, "expected 'in' after 'not'")
            self.advance()
            return "not in"
        if token.kind == "operator" and token.text in _MISTAKES:
            raise self.error(token, _MISTAKES[token.text])
        if token.text == "(":
            raise self.error(
                token,
                "function calls are not supported; compare a column with a "
                f"value, as in {EXAMPLE}",
            )
        if token.text in ("[", "."):
            raise self.error(
                token,
                "indexing and attribute access are not supported; write the "
                "whole column name, such as summary.val_accuracy, or quote it "
                "in backticks",
            )
        if token.kind == "end":
            raise self.error(
                token,
                "the condition is incomplete; add a comparison operator "
                "(== != < <= > >= in) and a value",
            )
        raise self.error(
            token, "expected a comparison operator (== != < <= > >= in not in)"
        )

    def parse_operand(self) -> Column | Literal:
        token = self.current
        if token.kind == "number":
            self.advance()
            return Literal(_number(token.text), token.position)
        if token.text == "-":
            self.advance()
            number = self.current
            if number.kind != "number":
                raise self.error(
                    token, "'-' is allowed only before a number, as in -0.5"
                )
            self.advance()
            return Literal(-_number(number.text), token.position)
        if token.kind == "string":
            self.advance()
            return Literal(_unquote(token.text), token.position)
        if token.kind == "quoted":
            self.advance()
            name = token.text[1:-1]
            if not name:
                raise self.error(token, "the backtick-quoted column name is empty")
            return Column(name, token.position)
        if token.kind == "name":
            lowered = token.text.lower()
            if lowered in _CONSTANTS:
                self.advance()
                return Literal(_CONSTANTS[lowered], token.position)
            if lowered in _KEYWORDS:
                raise self.error(
                    token, f"expected a column or a value before {token.text!r}"
                )
            return self.parse_column()
        if token.kind == "end":
            raise self.error(token, "the expression ends where a value was expected")
        raise self.error(
            token,
            "expected a column name (such as config.lr), a number or a quoted string",
        )

    def parse_column(self) -> Column:
        first = self.advance()
        parts = [first.text]
        while self.current.text == ".":
            dot = self.advance()
            part = self.current
            if part.kind not in ("name", "number"):
                raise self.error(dot, "a column name cannot end with '.'")
            self.advance()
            parts.append(part.text)
        return Column(".".join(parts), first.position)

    def parse_collection(self) -> Column | Literal:
        token = self.current
        if token.text != "[":
            operand = self.parse_operand()
            if isinstance(operand, Literal):
                raise self.error(
                    token,
                    '\'in\' needs a list such as ["a", "b"] or a list column '
                    "such as tags",
                )
            return operand
        self.advance()
        values: list[Any] = []
        while self.current.text != "]":
            item = self.current
            value = self.parse_operand()
            if not isinstance(value, Literal):
                raise self.error(item, "list items must be numbers or strings")
            values.append(value.value)
            if self.current.text == ",":
                self.advance()
            elif self.current.text != "]":
                raise self.error(self.current, "separate list items with ','")
        self.advance()
        return Literal(tuple(values), token.position)

    def expect(self, text: str, hint: str) -> Token:
        token = self.current
        if token.text != text:
            raise self.error(token, f"expected {text!r}; {hint}")
        return self.advance()

    def error(self, token: Token, message: str) -> FilterError:
        found = "the end of the expression" if token.kind == "end" else repr(token.text)
        return FilterError(_at(token.position, f"{found}: {message}"), token.position)


def _at(position: int, message: str) -> str:
    return f"invalid filter at character {position + 1}, {message}"


def _number(text: str) -> int | float:
    if re.fullmatch(r"\d+", text):
        return int(text)
    return float(text)


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _collect_columns(node: Node | Column | Literal | None, names: list[str]) -> None:
    if isinstance(node, Column):
        names.append(node.name)
    elif isinstance(node, Comparison):
        _collect_columns(node.left, names)
        _collect_columns(node.right, names)
    elif isinstance(node, BoolOp):
        for operand in node.operands:
            _collect_columns(operand, names)
    elif isinstance(node, Not):
        _collect_columns(node.operand, names)


# Evaluation


def _check_columns(runs: pd.DataFrame, expression: FilterExpression) -> None:
    available = [str(column) for column in runs.columns]
    for node in _column_nodes(expression.root):
        if node.name in runs.columns:
            continue
        close = difflib.get_close_matches(node.name, available, n=3, cutoff=0.6)
        hint = (
            f"did you mean {', '.join(close)}?"
            if close
            else "columns are state, name, tags, group, config.<key> and summary.<key>"
        )
        raise FilterError(
            _at(node.position, f"unknown column {node.name!r}; {hint}"),
            node.position,
        )


def _column_nodes(node: Any) -> list[Column]:
    if isinstance(node, Column):
        return [node]
    if isinstance(node, Comparison):
        return _column_nodes(node.left) + _column_nodes(node.right)
    if isinstance(node, BoolOp):
        return [found for item in node.operands for found in _column_nodes(item)]
    if isinstance(node, Not):
        return _column_nodes(node.operand)
    return []


def _evaluate(node: Node, runs: pd.DataFrame) -> pd.Series:
    if isinstance(node, BoolOp):
        masks = [_evaluate(operand, runs) for operand in node.operands]
        combined = masks[0]
        for mask in masks[1:]:
            combined = combined & mask if node.op == "and" else combined | mask
        return combined
    if isinstance(node, Not):
        return ~_evaluate(node.operand, runs)
    return _compare(node, runs)


def _compare(node: Comparison, runs: pd.DataFrame) -> pd.Series:
    left, right, op = node.left, node.right, node.op

    # Keep a column on the left so that "0.01 > config.lr" reads as the mirror.
    if isinstance(left, Literal) and op in COMPARISON_OPERATORS:
        left, right, op = right, left, _MIRRORED[op]

    if op in ("in", "not in"):
        return _membership(left, op, right, runs)

    values = runs[left.name]
    if isinstance(right, Literal):
        if right.value is None:
            return _null_comparison(values, op, node)
        literal = _coerce_literal(values, right, left.name)
        fast = _vectorized(values, op, literal)
        if fast is not None:
            return fast
        others: Sequence[Any] = [literal] * len(values)
    else:
        others = runs[right.name].tolist()

    function = COMPARISON_OPERATORS[op]
    result = [
        _safe_compare(function, value, other)
        for value, other in zip(values.tolist(), others, strict=True)
    ]
    return pd.Series(result, index=runs.index, dtype=bool)


_MIRRORED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _null_comparison(values: pd.Series, op: str, node: Comparison) -> pd.Series:
    if op not in ("==", "!="):
        raise FilterError(
            _at(node.position, f"{op!r}: null can only be compared with == or !="),
            node.position,
        )
    missing = values.map(_is_missing).astype(bool)
    return missing if op == "==" else ~missing


def _coerce_literal(values: pd.Series, literal: Literal, name: str) -> Any:
    value = literal.value
    if isinstance(value, tuple):
        raise FilterError(
            _at(literal.position, "a list can only follow 'in' or 'not in'"),
            literal.position,
        )
    if pd.api.types.is_datetime64_any_dtype(values):
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError) as exc:
            raise FilterError(
                _at(
                    literal.position,
                    f"{value!r}: column {name!r} holds times; compare it with a "
                    'date such as "2024-05-01" or "2024-05-01 13:00"',
                ),
                literal.position,
            ) from exc
        if stamp.tzinfo is None and getattr(values.dt, "tz", None) is not None:
            stamp = stamp.tz_localize("UTC")
        return stamp
    is_numeric_column = pd.api.types.is_numeric_dtype(
        values
    ) and not pd.api.types.is_bool_dtype(values)
    if is_numeric_column and isinstance(value, str):
        raise FilterError(
            _at(
                literal.position,
                f"{value!r}: column {name!r} holds numbers; compare it with a "
                "number, without quotes",
            ),
            literal.position,
        )
    return value


def _vectorized(values: pd.Series, op: str, literal: Any) -> pd.Series | None:
    is_number = isinstance(literal, int | float) and not isinstance(literal, bool)
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(
        values
    )
    datetime = pd.api.types.is_datetime64_any_dtype(values)
    if not (
        (numeric and is_number) or (datetime and isinstance(literal, pd.Timestamp))
    ):
        return None
    result = COMPARISON_OPERATORS[op](values, literal)
    return result & values.notna()


def _membership(
    left: Column | Literal, op: str, right: Column | Literal, runs: pd.DataFrame
) -> pd.Series:
    if isinstance(right, Literal):
        options = right.value
        values = runs[left.name].tolist()
        found = [
            (not _is_missing(value)) and _safe_contains(options, value)
            for value in values
        ]
    else:
        containers = runs[right.name].tolist()
        if isinstance(left, Literal):
            items = [left.value] * len(containers)
        else:
            items = runs[left.name].tolist()
        found = [
            _safe_contains(container, item)
            for item, container in zip(items, containers, strict=True)
        ]
    # A missing value is in no list and, by the missing-value rule, not in
    # any list either.
    present = pd.Series(found, index=runs.index, dtype=bool)
    if op == "in":
        return present
    if isinstance(right, Literal):
        missing = runs[left.name].map(_is_missing).astype(bool)
    else:
        missing = runs[right.name].map(_is_missing).astype(bool)
    return ~present & ~missing


def _safe_contains(container: Any, item: Any) -> bool:
    if _is_missing(container) or not isinstance(container, list | tuple | set | str):
        return False
    if isinstance(container, str) and not isinstance(item, str):
        return False
    try:
        return item in container
    except TypeError:
        return False


def _safe_compare(function: Callable[[Any, Any], bool], value: Any, other: Any) -> bool:
    if _is_missing(value) or _is_missing(other):
        return False
    try:
        return bool(function(value, other))
    except (TypeError, ValueError):
        # Values of unlike types (text against a number) never match.
        return False


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return False
