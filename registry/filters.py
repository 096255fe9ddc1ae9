"""Search filters and ``order_by`` for registered models and model versions: tracking's grammar
(``tracking.filters``) and SQL compiler (``tracking.search``) configured with the registry's
fields, as MLflow's ``SearchModelVersionUtils`` specialises ``SearchUtils``.

Grammar: ``<field> <op> <value> [AND ...]`` where field is an attribute (``name``, ``run_id``,
...) or ``tags.<key>`` (backquote keys with spaces: ``tags.`my key```, or the entity too:
```tags`.key``), op one of ``= != LIKE ILIKE IN NOT IN IS [NOT] NULL`` (and ``> >= < <=`` for
``version_number``), value a quoted string, a number, or for IN a parenthesised list. OR is not
supported. LIKE is case-sensitive on every backend, ILIKE never is. The nesting and clause
limits of tracking's grammar hold here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry import schema
from registry.validation import stage_name
from tracking.filters import TAG_ALIASES, Grammar, parse_filter, parse_order_by
from tracking.search import EntitySearch, Field, KeyValues, attribute_order, sort_key, where

REGISTRY_GRAMMAR = Grammar(TAG_ALIASES, "tags.", allow_or=False, int_literals=True)

_m, _v = schema.models, schema.versions

MODEL_SEARCH = EntitySearch(
    grammar=REGISTRY_GRAMMAR,
    attributes={"name": Field(_m.c.name, "string")},
    keyed={"tag": KeyValues(schema.model_tags, "string", (("name", _m.c.name),))},
    order_columns={
        "name": _m.c.name,
        "creation_timestamp": _m.c.creation_time,
        "creation_time": _m.c.creation_time,
        "last_updated_timestamp": _m.c.last_updated_time,
        "last_updated_time": _m.c.last_updated_time,
    },
    noun="field",
    fold_case=True,
    byte_order=True,
)

VERSION_SEARCH = EntitySearch(
    grammar=REGISTRY_GRAMMAR,
    attributes={
        "name": Field(_v.c.name, "string"),
        "run_id": Field(_v.c.run_id, "string"),
        "version_number": Field(_v.c.version, "integer"),
        "current_stage": Field(_v.c.current_stage, "string", canonical=stage_name),
        "source": Field(_v.c.source, "string"),
        "status": Field(_v.c.status, "string"),
    },
    keyed={
        "tag": KeyValues(
            schema.version_tags, "string", (("name", _v.c.name), ("version", _v.c.version))
        )
    },
    order_columns={
        "name": _v.c.name,
        "run_id": _v.c.run_id,
        "version_number": _v.c.version,
        "version": _v.c.version,
        "current_stage": _v.c.current_stage,
        "status": _v.c.status,
        "creation_timestamp": _v.c.creation_time,
        "creation_time": _v.c.creation_time,
        "last_updated_timestamp": _v.c.last_updated_time,
        "last_updated_time": _v.c.last_updated_time,
    },
    noun="field",
    fold_case=True,
    byte_order=True,
)


def conditions(spec: EntitySearch, filter_string: str | None, dialect: str) -> list[Any]:
    """The WHERE conditions of ``filter_string`` over ``spec``'s table (empty for no filter)."""
    condition = where(parse_filter(filter_string, spec.grammar), spec, dialect)
    return [] if condition is None else [condition]


def ordering(
    spec: EntitySearch, order_by: Sequence[str] | str | None, dialect: str, default: list[Any]
) -> list[Any]:
    """ORDER BY terms of ``order_by`` (``["name ASC", "version_number DESC"]``), else
    ``default``; then the model name in code-point order as the tie-breaker."""
    terms = attribute_order(parse_order_by(order_by, spec.grammar), spec, dialect) or default
    return [*terms, sort_key(spec.attributes["name"].column, dialect)]
