"""Compile parsed filters and ``order_by`` clauses into SQLAlchemy expressions.

One compiler serves every searchable entity. An ``EntitySearch`` says what an entity can be
searched by: its attribute columns (``Field``: column, value kind, nullability, canonical form)
and its key/value tables (``KeyValues``: metrics, params, tags, linked to the entity's key
columns). Runs and experiments are configured here; the registry configures its registered
models and model versions the same way (``registry.filters``), as MLflow's
``SearchModelVersionUtils`` specialises ``SearchUtils``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tracking import schema as t
from tracking.exceptions import FilterSyntaxError
from tracking.filters import RUN_GRAMMAR, BoolOp, Comparison, Grammar, Identifier, OrderClause

NUMERIC_OPS = ("=", "!=", ">", ">=", "<", "<=")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
INTEGER_OPS = NUMERIC_OPS + ("IN", "NOT IN")
NULL_OPS = ("IS NULL", "IS NOT NULL")
ALLOWED_OPS = {"number": NUMERIC_OPS, "string": STRING_OPS, "integer": INTEGER_OPS}
MAX_INTEGER = 2**31 - 1  # integer columns (experiment ids, version numbers) are 32-bit


@dataclass(frozen=True)
class Field:
    """A searchable attribute: its column, value kind (number | string | integer), whether it
    may be NULL, and an optional canonical form of compared values (e.g. stage names)."""

    column: Any
    kind: str
    nullable: bool = False
    canonical: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class KeyValues:
    """A key/value table of an entity (``metrics.<key>``, ``params.<key>``, ``tags.<key>``);
    ``link`` pairs its columns with the entity's key columns."""

    table: sa.Table
    kind: str
    link: tuple[tuple[str, Any], ...]

    def members(self, *conditions: Any) -> Any:
        """Condition: the entity has a row here matching ``conditions``."""
        inner = [self.table.c[name] for name, _ in self.link]
        outer = [column for _, column in self.link]
        rows = sa.select(*inner).where(*conditions)
        return outer[0].in_(rows) if len(outer) == 1 else sa.tuple_(*outer).in_(rows)


@dataclass(frozen=True)
class EntitySearch:
    """What one entity can be filtered and ordered by.

    ``noun`` names an attribute in errors ("attribute", "field"); ``fold_case`` matches
    attribute names case-blind; ``byte_order`` sorts text by code point on PostgreSQL too (as
    SQLite does); ``hint``, when set, replaces the list of valid names in errors.
    """

    grammar: Grammar
    attributes: Mapping[str, Field]
    keyed: Mapping[str, KeyValues] = field(default_factory=dict)
    order_columns: Mapping[str, Any] | None = None
    noun: str = "attribute"
    fold_case: bool = False
    byte_order: bool = False
    hint: str | None = None

    def attribute(self, ident: Identifier, names: Mapping[str, Any], source: str) -> Any:
        """The entry of ``names`` an attribute identifier designates, or a clear error."""
        key = ident.key.lower() if self.fold_case else ident.key
        if ident.entity == "attribute" and key in names:
            return names[key]
        if self.hint is not None:
            raise _err(source, self.hint, ident)
        if ident.entity != "attribute":
            raise _err(source, f"{ident.text} cannot be used here", ident)
        raise _err(
            source, f"unknown {self.noun} {ident.key!r}; valid: {', '.join(sorted(names))}", ident
        )


def _err(text: str, message: str, ident: Identifier, token: Any = None) -> FilterSyntaxError:
    pos = token.pos if token is not None else ident.pos
    shown = token.text if token is not None else ident.text
    return FilterSyntaxError(
        f"invalid {text}: {message} (at {shown!r}, position {pos})", ident.source, pos, shown
    )


def _like(col: Any, pattern: str, dialect: str, insensitive: bool) -> Any:
    if insensitive:
        return col.ilike(pattern)
    if dialect == "sqlite":  # SQLite's LIKE ignores case; GLOB does not: require both.
        glob = "".join(
            {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}.get(ch, ch) for ch in pattern
        )
        return sa.and_(col.like(pattern), col.op("GLOB")(glob))
    return col.like(pattern)


def _compare(col: Any, op: str, value: Any, dialect: str) -> Any:
    if op == "LIKE" or op == "ILIKE":
        return _like(col, value, dialect, op == "ILIKE")
    if op == "IN":
        return col.in_(list(value))
    if op == "NOT IN":
        return col.not_in(list(value))
    return {
        "=": col.__eq__,
        "!=": col.__ne__,
        ">": col.__gt__,
        ">=": col.__ge__,
        "<": col.__lt__,
        "<=": col.__le__,
    }[op](value)


def _integer(value: Any) -> int | None:
    """``value`` as an int if it is one (3, 3.0, '3'), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return int(str(value))
    except ValueError:
        return None


class _Compiler:
    """Turns the AST into a WHERE expression over one entity."""

    def __init__(self, spec: EntitySearch, source: str, dialect: str) -> None:
        self.spec = spec
        self.source = source  # e.g. "filter_string"
        self.dialect = dialect

    def compile(self, node: Any) -> Any:
        if isinstance(node, BoolOp):
            parts = [self.compile(item) for item in node.items]
            return sa.and_(*parts) if node.op == "AND" else sa.or_(*parts)
        return self.comparison(node)

    def values(self, cmp: Comparison, kind: str, nullable: bool) -> Any:
        """The comparison's value(s) checked against ``kind`` (and converted, for integers)."""
        ident, op = cmp.ident, cmp.op
        if op in NULL_OPS:
            if nullable:
                return None
            raise _err(self.source, f"{ident.text} is never NULL", ident, cmp.op_token)
        allowed = ALLOWED_OPS[kind]
        if op not in allowed:
            if kind != "string":
                reason = ""
            elif ident.entity == "attribute":
                reason = f" ({op} only compares numbers)"
            else:
                reason = f" ({ident.entity} values are text)"
            raise _err(
                self.source,
                f"comparator {op!r} is not valid for {ident.text}{reason}; use one of "
                f"{', '.join(allowed)}",
                ident,
                cmp.op_token,
            )
        values = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
        for value in values:
            if kind == "number" and (isinstance(value, str | bool)):
                raise _err(
                    self.source,
                    f"{ident.text} is numeric; compare it with a number, not {value!r}",
                    ident,
                    cmp.value_token,
                )
            if kind == "string" and not isinstance(value, str):
                raise _err(
                    self.source,
                    f"{ident.text} is a string; quote the value ('{value:g}')",
                    ident,
                    cmp.value_token,
                )
        if kind != "integer":
            return cmp.value
        numbers = tuple(_integer(v) for v in values)
        for value, number in zip(values, numbers, strict=True):
            if number is None:
                message = f"{ident.text} must be an integer, got {value!r}"
            elif abs(number) > MAX_INTEGER:
                message = f"{ident.text} {value!r} is out of range (the limit is {MAX_INTEGER})"
            else:
                continue
            raise _err(self.source, message, ident, cmp.value_token)
        return numbers if isinstance(cmp.value, tuple) else numbers[0]

    def comparison(self, cmp: Comparison) -> Any:
        ident = cmp.ident
        keyed = self.spec.keyed.get(ident.entity)
        if keyed is not None:
            value = self.values(cmp, keyed.kind, nullable=True)
            key_is = keyed.table.c.key == ident.key
            if cmp.op in NULL_OPS:
                has = keyed.members(key_is)
                return sa.not_(has) if cmp.op == "IS NULL" else has
            return keyed.members(key_is, _compare(keyed.table.c.value, cmp.op, value, self.dialect))
        spec_field: Field = self.spec.attribute(ident, self.spec.attributes, self.source)
        value = self.values(cmp, spec_field.kind, spec_field.nullable)
        col = spec_field.column
        if cmp.op in NULL_OPS:
            return col.is_(None) if cmp.op == "IS NULL" else col.is_not(None)
        if spec_field.canonical is not None and cmp.op not in ("LIKE", "ILIKE"):
            canonical = spec_field.canonical
            value = tuple(map(canonical, value)) if isinstance(value, tuple) else canonical(value)
        return _compare(col, cmp.op, value, self.dialect)


def where(tree: Any, spec: EntitySearch, dialect: str) -> Any:
    """WHERE clause over ``spec``'s entity for a parsed filter (None -> no condition)."""
    return None if tree is None else _Compiler(spec, "filter_string", dialect).compile(tree)


def sort_key(column: Any, dialect: str) -> Any:
    """The column as sorted on every backend alike: text by code point (PostgreSQL's "C")."""
    if dialect == "postgresql" and isinstance(getattr(column, "type", None), sa.String):
        return column.collate("C")
    return column


def attribute_order(clauses: list[OrderClause], spec: EntitySearch, dialect: str) -> list[Any]:
    """ORDER BY terms (missing values last) for ``order_by`` clauses naming attributes."""
    columns = spec.order_columns
    if columns is None:
        columns = {name: f.column for name, f in spec.attributes.items()}
    order = []
    for clause in clauses:
        col = spec.attribute(clause.ident, columns, "order_by")
        if spec.byte_order:
            col = sort_key(col, dialect)
        order.append((col.asc() if clause.ascending else col.desc()).nulls_last())
    return order


def _run_values(table: sa.Table, kind: str) -> KeyValues:
    return KeyValues(table, kind, (("run_uuid", t.runs.c.run_uuid),))


RUN_SEARCH = EntitySearch(
    grammar=RUN_GRAMMAR,
    attributes={
        "run_id": Field(t.runs.c.run_uuid, "string"),
        "run_uuid": Field(t.runs.c.run_uuid, "string"),
        "run_name": Field(t.runs.c.name, "string", nullable=True),
        "status": Field(t.runs.c.status, "string"),
        "artifact_uri": Field(t.runs.c.artifact_uri, "string"),
        "lifecycle_stage": Field(t.runs.c.lifecycle_stage, "string"),
        "parent_run_id": Field(t.runs.c.parent_run_id, "string", nullable=True),
        "experiment_id": Field(t.runs.c.experiment_id, "integer"),
        "start_time": Field(t.runs.c.start_time, "number"),
        "created": Field(t.runs.c.start_time, "number"),
        "end_time": Field(t.runs.c.end_time, "number", nullable=True),
    },
    keyed={
        "metric": _run_values(t.latest_metrics, "number"),
        "param": _run_values(t.params, "string"),
        "tag": _run_values(t.tags, "string"),
    },
)

_EXPERIMENT_ATTRIBUTES = {
    "name": Field(t.experiments.c.name, "string"),
    "experiment_id": Field(t.experiments.c.experiment_id, "integer"),
    "artifact_location": Field(t.experiments.c.artifact_location, "string"),
    "lifecycle_stage": Field(t.experiments.c.lifecycle_stage, "string"),
    "creation_time": Field(t.experiments.c.creation_time, "number"),
    "last_update_time": Field(t.experiments.c.last_update_time, "number"),
}
EXPERIMENT_SEARCH = EntitySearch(
    grammar=RUN_GRAMMAR,
    attributes=_EXPERIMENT_ATTRIBUTES,
    keyed={
        "tag": KeyValues(
            t.experiment_tags, "string", (("experiment_id", t.experiments.c.experiment_id),)
        )
    },
    hint=f"experiments can be filtered by tags.<key> or {', '.join(sorted(_EXPERIMENT_ATTRIBUTES))}",
)
_EXPERIMENT_ORDER = EntitySearch(
    grammar=RUN_GRAMMAR,
    attributes=_EXPERIMENT_ATTRIBUTES,
    hint=f"experiments can be ordered by {', '.join(sorted(_EXPERIMENT_ATTRIBUTES))}",
)


def run_filter(tree: Any, dialect: str) -> Any:
    """WHERE clause over ``tracking_runs`` for a parsed filter (None -> no condition)."""
    return where(tree, RUN_SEARCH, dialect)


def experiment_filter(tree: Any, dialect: str) -> Any:
    """WHERE clause over ``tracking_experiments`` for a parsed filter."""
    return where(tree, EXPERIMENT_SEARCH, dialect)


def run_order(query: sa.Select, clauses: list[OrderClause]) -> sa.Select:
    """Add ORDER BY (missing values last), then start_time DESC, run_id as tie-breakers."""
    order = []
    for n, clause in enumerate(clauses):
        ident = clause.ident
        keyed = RUN_SEARCH.keyed.get(ident.entity)
        if keyed is None:
            (term,) = attribute_order([clause], RUN_SEARCH, "")
            order.append(term)
            continue
        alias = keyed.table.alias(f"order_{n}")
        query = query.outerjoin(
            alias, sa.and_(alias.c.run_uuid == t.runs.c.run_uuid, alias.c.key == ident.key)
        )
        col = alias.c.value
        order.append((col.asc() if clause.ascending else col.desc()).nulls_last())
    order += [t.runs.c.start_time.desc(), t.runs.c.run_uuid.asc()]
    return query.order_by(*order)


def experiment_order(query: sa.Select, clauses: list[OrderClause]) -> sa.Select:
    """ORDER BY for experiments (attributes only), then creation_time DESC, id."""
    order = attribute_order(clauses, _EXPERIMENT_ORDER, "")
    order += [t.experiments.c.creation_time.desc(), t.experiments.c.experiment_id.asc()]
    return query.order_by(*order)
