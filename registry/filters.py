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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from registry import schema
from registry.validation import stage_name
from tracking.filters import TAG_ALIASES, Grammar, parse_filter, parse_order_by
from tracking.paging import check_max_results, decode_token
from tracking.search import EntitySearch, Field, KeyValues, attribute_order, sort_key, where

REGISTRY_GRAMMAR = Grammar(TAG_ALIASES, "tags.", allow_or=False, int_literals=True)

_m, _v = schema.models, schema.versions


@dataclass(frozen=True)
class SearchQuery:
    """One checked search request of the registry: filter, page size and offset, order."""

    filter_string: str | None
    max_results: int
    order_by: Sequence[str] | str | None
    offset: int
    include_deleted: bool

    @classmethod
    def of(
        cls,
        filter_string: str | None,
        max_results: int,
        order_by: Sequence[str] | str | None,
        page_token: str | None,
        include_deleted: bool,
    ) -> SearchQuery:
        """The request of a ``search_*`` call; a bad page size or token is refused here."""
        return cls(
            filter_string,
            check_max_results(max_results),
            order_by,
            decode_token(page_token),
            bool(include_deleted),
        )


def _timestamps(table: Any) -> dict[str, Any]:
    """MLflow's and the table's names of the creation and last-update times."""
    return {
        "creation_timestamp": table.c.creation_time,
        "creation_time": table.c.creation_time,
        "last_updated_timestamp": table.c.last_updated_time,
        "last_updated_time": table.c.last_updated_time,
    }


MODEL_SEARCH = EntitySearch(
    grammar=REGISTRY_GRAMMAR,
    attributes={"name": Field(_m.c.name, "string")},
    keyed={"tag": KeyValues(schema.model_tags, "string", (("name", _m.c.name),))},
    order_columns={"name": _m.c.name, **_timestamps(_m)},
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
        **_timestamps(_v),
    },
    noun="field",
    fold_case=True,
    byte_order=True,
)


def search(
    spec: EntitySearch, query: SearchQuery, dialect: str, live: list[Any], default: list[Any]
) -> Any:
    """SELECT of ``spec``'s table for ``query``: its filter (plus the ``live`` conditions unless
    deleted rows are asked for too), ordered by ``order_by`` or ``default``, then by name in
    code-point order."""
    table = spec.attributes["name"].column.table
    condition = where(parse_filter(query.filter_string, spec.grammar), spec, dialect)
    conditions = [] if condition is None else [condition]
    if not query.include_deleted:
        conditions += live
    order = attribute_order(parse_order_by(query.order_by, spec.grammar), spec, dialect)
    name = sort_key(spec.attributes["name"].column, dialect)
    return select(table).where(*conditions).order_by(*(order or default), name)
