"""Compile parsed filters / order_by clauses into SQLAlchemy expressions, and page tokens."""

from __future__ import annotations

import base64
import json
from typing import Any

import sqlalchemy as sa

from tracking import schema as t
from tracking.exceptions import FilterSyntaxError, InvalidInputError
from tracking.filters import BoolOp, Comparison, Identifier, OrderClause

NUMERIC_OPS = ("=", "!=", ">", ">=", "<", "<=")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
NULL_OPS = ("IS NULL", "IS NOT NULL")

RUN_ATTRIBUTES: dict[str, tuple[sa.Column, str]] = {
    "run_id": (t.runs.c.run_uuid, "string"),
    "run_uuid": (t.runs.c.run_uuid, "string"),
    "run_name": (t.runs.c.name, "string"),
    "status": (t.runs.c.status, "string"),
    "artifact_uri": (t.runs.c.artifact_uri, "string"),
    "lifecycle_stage": (t.runs.c.lifecycle_stage, "string"),
    "parent_run_id": (t.runs.c.parent_run_id, "string"),
    "experiment_id": (t.runs.c.experiment_id, "experiment"),
    "start_time": (t.runs.c.start_time, "number"),
    "created": (t.runs.c.start_time, "number"),
    "end_time": (t.runs.c.end_time, "number"),
}

EXPERIMENT_ATTRIBUTES: dict[str, tuple[sa.Column, str]] = {
    "name": (t.experiments.c.name, "string"),
    "experiment_id": (t.experiments.c.experiment_id, "experiment"),
    "artifact_location": (t.experiments.c.artifact_location, "string"),
    "lifecycle_stage": (t.experiments.c.lifecycle_stage, "string"),
    "creation_time": (t.experiments.c.creation_time, "number"),
    "last_update_time": (t.experiments.c.last_update_time, "number"),
}


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


def _compare(col: Any, cmp: Comparison, dialect: str) -> Any:
    op, value = cmp.op, cmp.value
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


class _Compiler:
    """Turns the AST for one entity (runs or experiments) into a WHERE expression."""

    def __init__(self, source: str, dialect: str, experiments: bool = False) -> None:
        self.source = source  # e.g. "filter_string"
        self.dialect = dialect
        self.experiments = experiments

    def compile(self, node: Any) -> Any:
        if isinstance(node, BoolOp):
            parts = [self.compile(item) for item in node.items]
            return sa.and_(*parts) if node.op == "AND" else sa.or_(*parts)
        return self.comparison(node)

    def check_value(self, cmp: Comparison, kind: str) -> None:
        ident, op = cmp.ident, cmp.op
        allowed = {
            "number": NUMERIC_OPS,
            "string": STRING_OPS,
            "experiment": NUMERIC_OPS + ("IN", "NOT IN"),
        }[kind]
        nullable = ident.entity != "attribute" or ident.key in (
            "end_time",
            "parent_run_id",
            "run_name",
        )
        if op in NULL_OPS:
            if nullable:
                return
            raise _err(self.source, f"{ident.text} is never NULL", ident, cmp.op_token)
        if op not in allowed:
            raise _err(
                self.source,
                f"comparator {op!r} is not valid for {ident.text}; use one of {', '.join(allowed)}",
                ident,
                cmp.op_token,
            )
        values = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
        for value in values:
            if kind == "number" and not isinstance(value, float):
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

    def comparison(self, cmp: Comparison) -> Any:
        ident = cmp.ident
        if self.experiments:
            return self.experiment_comparison(cmp)
        if ident.entity == "attribute":
            if ident.key not in RUN_ATTRIBUTES:
                raise _err(
                    self.source,
                    f"unknown attribute {ident.key!r}; valid: {', '.join(sorted(RUN_ATTRIBUTES))}",
                    ident,
                )
            col, kind = RUN_ATTRIBUTES[ident.key]
            self.check_value(cmp, kind)
            if cmp.op in NULL_OPS:
                return col.is_(None) if cmp.op == "IS NULL" else col.is_not(None)
            if kind == "experiment":
                cmp = Comparison(
                    ident, cmp.op, _experiment_values(cmp.value), cmp.value_token, cmp.op_token
                )
            return _compare(col, cmp, self.dialect)
        table = {"metric": t.latest_metrics, "param": t.params, "tag": t.tags}[ident.entity]
        self.check_value(cmp, "number" if ident.entity == "metric" else "string")
        if cmp.op in NULL_OPS:
            present = sa.select(table.c.run_uuid).where(table.c.key == ident.key)
            has = t.runs.c.run_uuid.in_(present)
            return sa.not_(has) if cmp.op == "IS NULL" else has
        matching = sa.select(table.c.run_uuid).where(
            table.c.key == ident.key, _compare(table.c.value, cmp, self.dialect)
        )
        return t.runs.c.run_uuid.in_(matching)

    def experiment_comparison(self, cmp: Comparison) -> Any:
        ident = cmp.ident
        if ident.entity == "tag":
            self.check_value(cmp, "string")
            table = t.experiment_tags
            if cmp.op in NULL_OPS:
                present = sa.select(table.c.experiment_id).where(table.c.key == ident.key)
                has = t.experiments.c.experiment_id.in_(present)
                return sa.not_(has) if cmp.op == "IS NULL" else has
            matching = sa.select(table.c.experiment_id).where(
                table.c.key == ident.key, _compare(table.c.value, cmp, self.dialect)
            )
            return t.experiments.c.experiment_id.in_(matching)
        if ident.entity != "attribute" or ident.key not in EXPERIMENT_ATTRIBUTES:
            raise _err(
                self.source,
                f"experiments can be filtered by tags.<key> or "
                f"{', '.join(sorted(EXPERIMENT_ATTRIBUTES))}",
                ident,
            )
        col, kind = EXPERIMENT_ATTRIBUTES[ident.key]
        self.check_value(cmp, kind)
        if kind == "experiment":
            cmp = Comparison(
                ident, cmp.op, _experiment_values(cmp.value), cmp.value_token, cmp.op_token
            )
        return _compare(col, cmp, self.dialect)


def _experiment_values(value: Any) -> Any:
    def one(v: Any) -> int:
        try:
            return int(float(v)) if isinstance(v, float) else int(v)
        except ValueError as exc:
            raise InvalidInputError(f"experiment_id {v!r} is not a decimal integer") from exc

    return tuple(one(v) for v in value) if isinstance(value, tuple) else one(value)


def run_filter(tree: Any, dialect: str) -> Any:
    """WHERE clause over ``tracking_runs`` for a parsed filter (None -> no condition)."""
    return None if tree is None else _Compiler("filter_string", dialect).compile(tree)


def experiment_filter(tree: Any, dialect: str) -> Any:
    """WHERE clause over ``tracking_experiments`` for a parsed filter."""
    if tree is None:
        return None
    return _Compiler("filter_string", dialect, experiments=True).compile(tree)


def run_order(query: sa.Select, clauses: list[OrderClause]) -> sa.Select:
    """Add ORDER BY (missing values last), then start_time DESC, run_id as tie-breakers."""
    order = []
    for n, clause in enumerate(clauses):
        ident = clause.ident
        if ident.entity == "attribute":
            if ident.key not in RUN_ATTRIBUTES:
                raise _err(
                    "order_by",
                    f"unknown attribute {ident.key!r}; valid: {', '.join(sorted(RUN_ATTRIBUTES))}",
                    ident,
                )
            col = RUN_ATTRIBUTES[ident.key][0]
        else:
            table = {"metric": t.latest_metrics, "param": t.params, "tag": t.tags}[ident.entity]
            alias = table.alias(f"order_{n}")
            query = query.outerjoin(
                alias, sa.and_(alias.c.run_uuid == t.runs.c.run_uuid, alias.c.key == ident.key)
            )
            col = alias.c.value
        order.append((col.asc() if clause.ascending else col.desc()).nulls_last())
    order += [t.runs.c.start_time.desc(), t.runs.c.run_uuid.asc()]
    return query.order_by(*order)


def experiment_order(query: sa.Select, clauses: list[OrderClause]) -> sa.Select:
    """ORDER BY for experiments (attributes only), then creation_time DESC, id."""
    order = []
    for clause in clauses:
        ident = clause.ident
        if ident.entity != "attribute" or ident.key not in EXPERIMENT_ATTRIBUTES:
            raise _err(
                "order_by",
                f"experiments can be ordered by {', '.join(sorted(EXPERIMENT_ATTRIBUTES))}",
                ident,
            )
        col = EXPERIMENT_ATTRIBUTES[ident.key][0]
        order.append((col.asc() if clause.ascending else col.desc()).nulls_last())
    order += [t.experiments.c.creation_time.desc(), t.experiments.c.experiment_id.asc()]
    return query.order_by(*order)


def encode_token(offset: int) -> str:
    """Opaque page token for the next page."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str | None) -> int:
    """Offset encoded in ``page_token`` (0 when None)."""
    if token is None or token == "":
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(offset)
        return offset
    except Exception as exc:
        raise InvalidInputError(
            f"page_token: {token!r} is not a token from a previous page of this search"
        ) from exc


def check_max_results(max_results: Any, limit: int = 50_000) -> int:
    """Positive int up to ``limit``."""
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidInputError(f"max_results: expected a positive integer, got {max_results!r}")
    if max_results > limit:
        raise InvalidInputError(f"max_results: {max_results} exceeds the limit of {limit}")
    return max_results
