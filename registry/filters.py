"""MLflow-style search filters and ``order_by`` for registered models and model versions.

Grammar: ``<field> <op> <value> [AND <field> <op> <value> ...]`` where field is an attribute
(``name``, ``run_id``, ...) or ``tags.<key>`` (backquote keys with spaces: ``tags.`my key```),
op is one of ``= != LIKE ILIKE IN NOT IN`` (and ``> >= < <=`` for numeric fields such as
``version_number``) and value a quoted string, a number, or for IN a parenthesised list. LIKE
is case-sensitive on every backend, ILIKE never is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, and_, exists, select
from sqlalchemy.sql.schema import Column, Table

from tracking.exceptions import FilterSyntaxError

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>!=|<>|>=|<=|=|>|<|\(|\)|,)
      | (?P<ident>(?:tags|tag)\.(?:`[^`]+`|[\w.\-]+)|`[^`]+`|[A-Za-z_][\w.]*)
    )""",
    re.VERBOSE,
)


_OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN", "NOT IN")
_ORDERING = {">": "__gt__", ">=": "__ge__", "<": "__lt__", "<=": "__le__"}


@dataclass(frozen=True)
class Clause:
    """One parsed comparison; ``key`` is set for ``tags.<key>`` clauses."""

    field: str
    key: str | None
    op: str
    value: object


def _unquote(token: str) -> str:
    """Quoted literal -> text: a doubled quote (``'it''s'``) or a backslash escapes, as in
    tracking's grammar."""
    body = token[1:-1].replace(token[0] * 2, token[0])
    return re.sub(r"\\(.)", r"\1", body)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FilterSyntaxError(
                f"filter_string: cannot parse {text[pos:].strip()!r} in {text!r}; expected "
                "e.g. \"name = 'churn' AND tags.team LIKE 'ml%'\""
            )
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def parse_filter(filter_string: str | None, allowed: Sequence[str]) -> list[Clause]:
    """Parse ``filter_string`` into clauses over the ``allowed`` attribute names (plus tags)."""
    if not filter_string or not filter_string.strip():
        return []
    tokens = _tokenize(filter_string)
    clauses: list[Clause] = []
    i = 0

    def expect_value(idx: int) -> tuple[object, int]:
        if idx >= len(tokens):
            raise FilterSyntaxError(f"filter_string: missing value at the end of {filter_string!r}")
        kind, text = tokens[idx]
        if kind == "string":
            return _unquote(text), idx + 1
        if kind == "number":
            return (float(text) if "." in text else int(text)), idx + 1
        raise FilterSyntaxError(
            f"filter_string: expected a quoted value or number, got {text!r} in {filter_string!r}"
        )

    while i < len(tokens):
        kind, text = tokens[i]
        if kind != "ident":
            raise FilterSyntaxError(
                f"filter_string: expected a field name, got {text!r} in {filter_string!r}"
            )
        field, key = _field(text, allowed)
        i += 1
        if i >= len(tokens):
            raise FilterSyntaxError(f"filter_string: missing operator after {text!r}")
        op_kind, op_text = tokens[i]
        op = op_text.upper()
        if op_kind == "ident" and op == "NOT" and i + 1 < len(tokens):
            if tokens[i + 1][1].upper() != "IN":
                raise FilterSyntaxError(
                    f"filter_string: expected IN after NOT in {filter_string!r}"
                )
            op, i = "NOT IN", i + 1
        elif op == "<>":
            op = "!="
        if op not in _OPERATORS:
            raise FilterSyntaxError(
                f"filter_string: unsupported operator {op_text!r} after {text!r}; use one of "
                f"{', '.join(_OPERATORS)}"
            )
        i += 1
        if op in {"IN", "NOT IN"}:
            values, i = _parse_list(tokens, i, filter_string)
            value: object = values
        else:
            value, i = expect_value(i)
        clauses.append(Clause(field, key, op, value))
        if i < len(tokens):
            joiner = tokens[i][1].upper()
            if joiner != "AND":
                hint = " (OR is not supported; run two searches)" if joiner == "OR" else ""
                raise FilterSyntaxError(
                    f"filter_string: expected AND, got {tokens[i][1]!r} in {filter_string!r}{hint}"
                )
            i += 1
            if i >= len(tokens):
                raise FilterSyntaxError(f"filter_string: dangling AND in {filter_string!r}")
    return clauses


def _parse_list(tokens: list[tuple[str, str]], i: int, source: str) -> tuple[list[object], int]:
    if i >= len(tokens) or tokens[i][1] != "(":
        raise FilterSyntaxError(f"filter_string: IN needs a list like ('a', 'b') in {source!r}")
    values: list[object] = []
    i += 1
    if i < len(tokens) and tokens[i][1] == ")":
        raise FilterSyntaxError(
            f"filter_string: empty IN list in {source!r}; give at least one value"
        )
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "string":
            values.append(_unquote(text))
        elif kind == "number":
            values.append(float(text) if "." in text else int(text))
        else:
            raise FilterSyntaxError(f"filter_string: bad IN list element {text!r} in {source!r}")
        i += 1
        if i < len(tokens) and tokens[i][1] == ",":
            i += 1
            continue
        if i < len(tokens) and tokens[i][1] == ")":
            return values, i + 1
        break
    raise FilterSyntaxError(f"filter_string: unterminated IN list in {source!r}")


def _field(ident: str, allowed: Sequence[str]) -> tuple[str, str | None]:
    if ident.lower().startswith(("tags.", "tag.")):
        key = ident.split(".", 1)[1]
        if key.startswith("`") and key.endswith("`"):
            key = key[1:-1]
        return "tags", key
    name = ident.strip("`").lower()
    if name not in allowed:
        raise FilterSyntaxError(
            f"filter_string: unknown field {ident!r}; use one of {', '.join(allowed)} or tags.<key>"
        )
    return name, None


def _glob_escape(pattern: str) -> str:
    """Translate a LIKE pattern to SQLite GLOB (which is case-sensitive)."""
    out = []
    for ch in pattern:
        if ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)


def compare(column: ColumnElement, op: str, value: object, dialect: str) -> ColumnElement[bool]:
    """SQL condition ``column <op> value`` with backend-independent LIKE semantics."""
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op == "IN":
        return column.in_(value)  # type: ignore[arg-type]
    if op == "NOT IN":
        return column.not_in(value)  # type: ignore[arg-type]
    if op in _ORDERING:
        return getattr(column, _ORDERING[op])(value)
    if not isinstance(value, str):
        raise FilterSyntaxError(f"filter_string: {op} needs a quoted pattern, got {value!r}")
    if op == "ILIKE":
        return column.ilike(value)
    if dialect == "sqlite":
        return column.op("GLOB")(_glob_escape(value))
    return column.like(value)


def to_conditions(
    clauses: Sequence[Clause],
    columns: Mapping[str, Column],
    tag_table: Table,
    join: Mapping[str, Column],
    dialect: str,
    int_fields: Sequence[str] = (),
) -> list[ColumnElement[bool]]:
    """Turn parsed clauses into SQL conditions; ``join`` maps tag-table columns to outer ones."""
    out: list[ColumnElement[bool]] = []
    for clause in clauses:
        if clause.field == "tags":
            if clause.op in _ORDERING:
                raise FilterSyntaxError(
                    f"filter_string: tag values are text; use =, !=, LIKE, ILIKE or IN with "
                    f"tags.{clause.key}, not {clause.op}"
                )
            link = [tag_table.c[col] == outer for col, outer in join.items()]
            cond = compare(tag_table.c.value, clause.op, _as_str(clause.value), dialect)
            out.append(exists(select(1).where(and_(*link, tag_table.c.key == clause.key, cond))))
            continue
        value = clause.value
        if clause.field in int_fields:
            value = _as_int(clause.field, value, clause.op)
        elif clause.op in _ORDERING:
            raise FilterSyntaxError(
                f"filter_string: {clause.op} only compares numbers ({', '.join(int_fields)}); "
                f"use =, !=, LIKE, ILIKE or IN with {clause.field}"
            )
        elif clause.op not in {"LIKE", "ILIKE"}:
            value = _as_str(value)
        cond = compare(columns[clause.field], clause.op, value, dialect)
        out.append(cond)
    return out


def _as_str(value: object) -> object:
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)


def _as_int(field: str, value: object, op: str) -> object:
    if op in {"LIKE", "ILIKE"}:
        raise FilterSyntaxError(f"filter_string: {field} is a number; use =, !=, IN or NOT IN")
    try:
        numbers = [int(str(v)) for v in value] if isinstance(value, list) else [int(str(value))]
    except ValueError:
        raise FilterSyntaxError(
            f"filter_string: {field} must be an integer, got {value!r}"
        ) from None
    if any(abs(n) > 2**31 - 1 for n in numbers):
        raise FilterSyntaxError(
            f"filter_string: {field} {value!r} is out of range (versions go up to {2**31 - 1})"
        )
    return numbers if isinstance(value, list) else numbers[0]


def sort_key(column: Column, dialect: str) -> ColumnElement:
    """The column as sorted on every backend alike: text by code point (PostgreSQL's "C")."""
    if dialect == "postgresql" and isinstance(column.type, String):
        return column.collate("C")
    return column


def parse_order_by(
    order_by: Sequence[str] | None, columns: Mapping[str, Column], dialect: str
) -> list[ColumnElement]:
    """``["name ASC", "version_number DESC"]`` -> SQL ordering, naming bad entries clearly."""
    if order_by is None:
        return []
    if isinstance(order_by, str):
        order_by = [order_by]
    out: list[ColumnElement] = []
    for entry in order_by:
        parts = entry.split()
        if not parts or len(parts) > 2:
            raise FilterSyntaxError(f"order_by: cannot parse {entry!r}; use e.g. 'name ASC'")
        field = parts[0].strip("`").lower()
        direction = parts[1].upper() if len(parts) == 2 else "ASC"
        if field not in columns:
            raise FilterSyntaxError(
                f"order_by: unknown field {parts[0]!r}; use one of {', '.join(columns)}"
            )
        if direction not in {"ASC", "DESC"}:
            raise FilterSyntaxError(f"order_by: direction must be ASC or DESC, got {parts[1]!r}")
        column = sort_key(columns[field], dialect)
        out.append(column.desc() if direction == "DESC" else column.asc())
    return out
