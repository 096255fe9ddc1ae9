"""Shared core of the registry's SQL store: transactions, the model-row lock, history events
and the row -> entity conversions the model, version and move stores all use.

Locking the ``registry_models`` row (an UPDATE on it as the transaction's first statement)
serialises concurrent writers of the same model on PostgreSQL and takes SQLite's write lock up
front (writes also start with ``BEGIN IMMEDIATE`` there), so version numbers, alias moves and
``archive_existing_versions`` stay consistent when several processes work on one model.
Transient lock errors are retried by tracking's transaction helper.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from registry import schema
from registry.entities import (
    ALL_STAGES,
    STATUS_DELETED,
    STATUS_READY,
    ModelVersion,
    RegisteredModel,
)
from registry.filters import SearchQuery
from tracking.db import run_in_transaction
from tracking.entities import PagedList
from tracking.exceptions import InvalidInputError, ResourceNotFoundError
from tracking.paging import read_page
from tracking.store import now_ms

T = TypeVar("T")

_INTEGRITY_RETRIES = 5


class StoreCore:
    """Registry tables in a tracking store's database (shares its engine and transactions)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        schema.CORE.ensure(engine)

    # ----------------------------------------------------------------- transactions
    def _write(self, work: Callable[[Connection], T]) -> T:
        # Lock contention / serialization failures are retried by run_in_transaction; a
        # duplicate key (only possible if two writers slipped past the model-row lock) is too.
        for attempt in range(_INTEGRITY_RETRIES):
            try:
                return run_in_transaction(self.engine, work, write=True)
            except IntegrityError:
                if attempt == _INTEGRITY_RETRIES - 1:
                    raise
                time.sleep(0.01 * (1 + random.random()))
        raise AssertionError("unreachable")

    def _read(self, work: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn:
            return work(conn)

    def _lock_model(self, conn: Connection, name: str, *, allow_deleted: bool = False) -> Any:
        """Touch the model row (taking the write lock) and return it, or raise if absent."""
        stamp = now_ms()
        conn.execute(
            update(schema.models)
            .where(schema.models.c.name == name)
            .values(last_updated_time=stamp)
        )
        return self._require_model(conn, name, allow_deleted=allow_deleted)

    def _version_row(
        self, conn: Connection, name: str, version: int, *, allow_deleted: bool = False
    ) -> Any:
        row = conn.execute(
            select(schema.versions).where(
                schema.versions.c.name == name, schema.versions.c.version == version
            )
        ).first()
        if row is None:
            raise ResourceNotFoundError(
                f"version: registered model {name!r} has no version {version}"
            )
        if row.status == STATUS_DELETED and not allow_deleted:
            raise InvalidInputError(
                f"version: version {version} of model {name!r} is deleted; restore it with "
                "restore_model_version() first"
            )
        return row

    def _event(
        self, conn: Connection, name: str, version: int, event: str, user: str, **details: Any
    ) -> None:
        """Add ``event`` by ``user`` to the history of version ``version``; ``details`` fill the
        other columns of ``registry_events`` (alias, from_value, to_value, comment, and
        timestamp, default now)."""
        details.setdefault("timestamp", now_ms())
        conn.execute(
            insert(schema.events).values(
                name=name, version=version, event=event, user_id=user, **details
            )
        )

    def _alias_version(self, conn: Connection, name: str, alias: str) -> int | None:
        """The version ``alias`` of model ``name`` points to, or None when it is unset."""
        a = schema.aliases
        value = conn.execute(
            select(a.c.version).where(a.c.name == name, a.c.alias == alias)
        ).scalar()
        return None if value is None else int(value)

    def _require_model(self, conn: Connection, name: str, *, allow_deleted: bool = False) -> Any:
        """The model's row; absent (or deleted, unless allowed) is an error saying what to do."""
        row = conn.execute(select(schema.models).where(schema.models.c.name == name)).first()
        if row is None:
            raise ResourceNotFoundError(f"name: registered model {name!r} does not exist")
        if row.deleted_time is not None and not allow_deleted:
            raise ResourceNotFoundError(
                f"name: registered model {name!r} was deleted; restore it with "
                "restore_registered_model() first"
            )
        return row

    def _page(
        self, query: Any, search: SearchQuery, convert: Callable[[Connection, list], list]
    ) -> PagedList:
        """The page of ``query`` that ``search`` asks for, converted, with the next token."""
        return self._read(
            lambda conn: read_page(conn, query, search.offset, search.max_results, convert)
        )

    def _touch_version(self, conn: Connection, name: str, version: int, **values: Any) -> None:
        v = schema.versions
        conn.execute(
            update(v)
            .where(v.c.name == name, v.c.version == version)
            .values(last_updated_time=now_ms(), **values)
        )

    def _models_from_rows(self, conn: Connection, rows: Sequence[Any]) -> list[RegisteredModel]:
        names = [r.name for r in rows]
        if not names:
            return []
        tags: dict[str, dict[str, str]] = {n: {} for n in names}
        for t in conn.execute(select(schema.model_tags).where(schema.model_tags.c.name.in_(names))):
            tags[t.name][t.key] = t.value
        alias_map: dict[str, dict[str, int]] = {n: {} for n in names}
        for a in conn.execute(
            select(schema.aliases)
            .where(schema.aliases.c.name.in_(names))
            .order_by(schema.aliases.c.alias)
        ):
            alias_map[a.name][a.alias] = int(a.version)
        latest = self._latest_per_stage(conn, names)
        return [
            schema.from_row(
                RegisteredModel,
                r,
                tags=tags[r.name],
                aliases=alias_map[r.name],
                latest_versions=latest.get(r.name, []),
                deleted=r.deleted_time is not None,
            )
            for r in rows
        ]

    def _latest_per_stage(
        self, conn: Connection, names: list[str]
    ) -> dict[str, list[ModelVersion]]:
        v = schema.versions
        newest = (
            select(v.c.name, v.c.current_stage, func.max(v.c.version).label("version"))
            .where(v.c.name.in_(names), v.c.status == STATUS_READY)
            .group_by(v.c.name, v.c.current_stage)
            .subquery()
        )
        rows = conn.execute(
            select(v).join(
                newest,
                and_(v.c.name == newest.c.name, v.c.version == newest.c.version),
            )
        ).all()
        versions = self._versions_from_rows(conn, rows)
        order = {stage: i for i, stage in enumerate(ALL_STAGES)}
        out: dict[str, list[ModelVersion]] = {}
        for mv in sorted(versions, key=lambda m: (m.name, order[m.current_stage])):
            out.setdefault(mv.name, []).append(mv)
        return out

    def _versions_from_rows(self, conn: Connection, rows: Sequence[Any]) -> list[ModelVersion]:
        if not rows:
            return []
        keys = {(r.name, int(r.version)) for r in rows}
        by_name: dict[str, set[int]] = {}
        for name, number in keys:
            by_name.setdefault(name, set()).add(number)

        def belongs(table: Any) -> Any:
            return or_(
                *(
                    and_(table.c.name == name, table.c.version.in_(sorted(numbers)))
                    for name, numbers in by_name.items()
                )
            )

        tags: dict[tuple[str, int], dict[str, str]] = {k: {} for k in keys}
        for t in conn.execute(select(schema.version_tags).where(belongs(schema.version_tags))):
            tags[(t.name, int(t.version))][t.key] = t.value
        alias_lists: dict[tuple[str, int], list[str]] = {k: [] for k in keys}
        for a in conn.execute(
            select(schema.aliases).where(belongs(schema.aliases)).order_by(schema.aliases.c.alias)
        ):
            alias_lists[(a.name, int(a.version))].append(a.alias)
        out = []
        for r in rows:
            key = (r.name, int(r.version))
            metrics = {
                k: (math.nan if v is None else float(v))
                for k, v in json.loads(r.metrics_json).items()
            }
            out.append(
                schema.from_row(
                    ModelVersion, r, aliases=alias_lists[key], tags=tags[key], metrics=metrics
                )
            )
        return out
