"""SQL store of the registry: every write is one transaction that locks its model row first.

Locking the ``registry_models`` row (an UPDATE on it as the transaction's first statement)
serialises concurrent writers of the same model on PostgreSQL and takes SQLite's write lock up
front (writes also start with ``BEGIN IMMEDIATE`` there), so version numbers, alias moves and
``archive_existing_versions`` stay consistent when several processes work on one model.
Transient lock errors are retried.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from registry import filters, schema
from registry.entities import (
    ALL_STAGES,
    EVENT_ALIAS_DELETED,
    EVENT_ALIAS_SET,
    EVENT_DELETED,
    EVENT_REGISTERED,
    EVENT_RESTORED,
    EVENT_STAGE,
    STAGE_ARCHIVED,
    STAGE_NONE,
    STAGE_PRODUCTION,
    STAGE_STAGING,
    STATUS_DELETED,
    STATUS_READY,
    ModelVersion,
    ModelVersionEvent,
    RegisteredModel,
)
from registry.validation import stage_name
from tracking import TrackingClient
from tracking.entities import PagedList
from tracking.exceptions import InvalidInputError, ResourceNotFoundError

T = TypeVar("T")

_MODEL_FIELDS = ("name",)
_VERSION_FIELDS = ("name", "run_id", "version_number", "current_stage", "source", "status")
_INTEGRITY_RETRIES = 5


def now_ms() -> int:
    """Current time in epoch milliseconds (the tracking store's unit)."""
    return int(time.time() * 1000)


class RegistryStore:
    """Registry tables in a tracking store's database (its engine and transaction helper)."""

    def __init__(self, tracking_client: TrackingClient) -> None:
        self.tracking = tracking_client
        self.engine = tracking_client.engine
        self.dialect = self.engine.dialect.name
        tracking_client.ensure_schema(schema.COMPONENT, schema.metadata, schema.SCHEMA_VERSION)

    # ----------------------------------------------------------------- transactions
    def _write(self, work: Callable[[Connection], T]) -> T:
        # Lock contention / serialization failures are retried by run_in_transaction; a
        # duplicate key (only possible if two writers slipped past the model-row lock) is too.
        for attempt in range(_INTEGRITY_RETRIES):
            try:
                return self.tracking.run_in_transaction(work, write=True)
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
        row = conn.execute(select(schema.models).where(schema.models.c.name == name)).first()
        if row is None:
            raise ResourceNotFoundError(f"name: registered model {name!r} does not exist")
        if row.deleted_time is not None and not allow_deleted:
            raise ResourceNotFoundError(
                f"name: registered model {name!r} was deleted; restore it with "
                "restore_registered_model() first"
            )
        return row

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
        self,
        conn: Connection,
        name: str,
        version: int,
        event: str,
        user: str,
        *,
        alias: str | None = None,
        from_value: str | None = None,
        to_value: str | None = None,
        comment: str | None = None,
        timestamp: int | None = None,
    ) -> None:
        conn.execute(
            insert(schema.events).values(
                name=name,
                version=version,
                event=event,
                alias=alias,
                from_value=from_value,
                to_value=to_value,
                user_id=user,
                timestamp=timestamp if timestamp is not None else now_ms(),
                comment=comment,
            )
        )

    def _insert_model_if_missing(self, conn: Connection, name: str, stamp: int) -> None:
        values = {
            "name": name,
            "creation_time": stamp,
            "last_updated_time": stamp,
            "last_version": 0,
        }
        if self.dialect in {"sqlite", "postgresql"}:
            if self.dialect == "sqlite":
                from sqlalchemy.dialects.sqlite import insert as dialect_insert
            else:
                from sqlalchemy.dialects.postgresql import insert as dialect_insert
            conn.execute(dialect_insert(schema.models).values(**values).on_conflict_do_nothing())
            return
        exists = conn.execute(
            select(schema.models.c.name).where(schema.models.c.name == name)
        ).first()
        if exists is None:
            conn.execute(insert(schema.models).values(**values))

    # ----------------------------------------------------------------- models
    def create_registered_model(
        self, name: str, tags: dict[str, str], description: str | None
    ) -> None:
        """Create an empty registered model; an existing name is an error."""

        def work(conn: Connection) -> None:
            stamp = now_ms()
            found = conn.execute(
                select(schema.models.c.name).where(schema.models.c.name == name)
            ).first()
            if found is not None:
                raise InvalidInputError(f"name: registered model {name!r} already exists")
            conn.execute(
                insert(schema.models).values(
                    name=name,
                    description=description,
                    creation_time=stamp,
                    last_updated_time=stamp,
                    last_version=0,
                )
            )
            for key, value in tags.items():
                conn.execute(insert(schema.model_tags).values(name=name, key=key, value=value))

        self._write(work)

    def create_version(
        self,
        name: str,
        *,
        run_id: str,
        source: str,
        metrics: dict[str, float],
        sha256: str | None,
        user: str,
        tags: dict[str, str],
        description: str | None,
    ) -> int:
        """Create the model if needed and add the next version number; returns it."""
        metrics_json = json.dumps(
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}
        )

        def work(conn: Connection) -> int:
            stamp = now_ms()
            self._insert_model_if_missing(conn, name, stamp)
            model = self._lock_model(conn, name)
            number = int(model.last_version) + 1
            conn.execute(
                update(schema.models)
                .where(schema.models.c.name == name)
                .values(last_version=number, last_updated_time=stamp)
            )
            conn.execute(
                insert(schema.versions).values(
                    name=name,
                    version=number,
                    run_id=run_id,
                    source=source,
                    status=STATUS_READY,
                    current_stage=STAGE_NONE,
                    description=description,
                    metrics_json=metrics_json,
                    sha256=sha256,
                    user_id=user,
                    creation_time=stamp,
                    last_updated_time=stamp,
                )
            )
            for key, value in tags.items():
                conn.execute(
                    insert(schema.version_tags).values(
                        name=name, version=number, key=key, value=value
                    )
                )
            self._event(
                conn, name, number, EVENT_REGISTERED, user, to_value=source, timestamp=stamp
            )
            return number

        return self._write(work)

    def get_registered_model(self, name: str, *, include_deleted: bool = False) -> RegisteredModel:
        """The model with tags, aliases and newest version per stage."""

        def work(conn: Connection) -> RegisteredModel:
            row = conn.execute(select(schema.models).where(schema.models.c.name == name)).first()
            if row is None:
                raise ResourceNotFoundError(f"name: registered model {name!r} does not exist")
            if row.deleted_time is not None and not include_deleted:
                raise ResourceNotFoundError(
                    f"name: registered model {name!r} was deleted (restore_registered_model "
                    "brings it back)"
                )
            return self._models_from_rows(conn, [row])[0]

        return self._read(work)

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
            RegisteredModel(
                name=r.name,
                description=r.description,
                tags=tags[r.name],
                aliases=alias_map[r.name],
                latest_versions=latest.get(r.name, []),
                creation_time=int(r.creation_time),
                last_updated_time=int(r.last_updated_time),
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

    def search_registered_models(
        self,
        filter_string: str | None,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
        include_deleted: bool,
    ) -> PagedList:
        """Models matching ``filter_string`` (fields: name, tags.<key>), ordered and paged."""
        m = schema.models
        clauses = filters.parse_filter(filter_string, _MODEL_FIELDS)
        conds = filters.to_conditions(
            clauses, {"name": m.c.name}, schema.model_tags, {"name": m.c.name}, self.dialect
        )
        if not include_deleted:
            conds.append(m.c.deleted_time.is_(None))
        order_columns = {
            "name": m.c.name,
            "creation_timestamp": m.c.creation_time,
            "creation_time": m.c.creation_time,
            "last_updated_timestamp": m.c.last_updated_time,
            "last_updated_time": m.c.last_updated_time,
        }
        name_key = filters.sort_key(m.c.name, self.dialect)
        ordering = filters.parse_order_by(order_by, order_columns, self.dialect) or [name_key]
        offset = _offset(page_token)
        limit = _limit(max_results)
        query = (
            select(m).where(*conds).order_by(*ordering, name_key).offset(offset).limit(limit + 1)
        )

        def work(conn: Connection) -> PagedList:
            rows = conn.execute(query).all()
            token = str(offset + limit) if len(rows) > limit else None
            return PagedList(self._models_from_rows(conn, rows[:limit]), token)

        return self._read(work)

    def update_registered_model(self, name: str, description: str | None) -> None:
        """Replace the model's description."""

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            conn.execute(
                update(schema.models)
                .where(schema.models.c.name == name)
                .values(description=description)
            )

        self._write(work)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set (insert or overwrite) one model tag."""

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            t = schema.model_tags
            conn.execute(delete(t).where(t.c.name == name, t.c.key == key))
            conn.execute(insert(t).values(name=name, key=key, value=value))

        self._write(work)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove one model tag; a missing key is an error."""

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            t = schema.model_tags
            gone = conn.execute(delete(t).where(t.c.name == name, t.c.key == key)).rowcount
            if not gone:
                raise ResourceNotFoundError(f"key: registered model {name!r} has no tag {key!r}")

        self._write(work)

    def set_model_deleted(self, name: str, deleted: bool) -> None:
        """Soft-delete (or restore) a registered model; its versions and aliases are kept."""

        def work(conn: Connection) -> None:
            row = self._lock_model(conn, name, allow_deleted=True)
            if deleted and row.deleted_time is not None:
                raise ResourceNotFoundError(f"name: registered model {name!r} is already deleted")
            if not deleted and row.deleted_time is None:
                raise InvalidInputError(f"name: registered model {name!r} is not deleted")
            conn.execute(
                update(schema.models)
                .where(schema.models.c.name == name)
                .values(deleted_time=now_ms() if deleted else None)
            )

        self._write(work)

    # ----------------------------------------------------------------- versions
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
                ModelVersion(
                    name=r.name,
                    version=int(r.version),
                    run_id=r.run_id,
                    source=r.source,
                    status=r.status,
                    current_stage=r.current_stage,
                    aliases=alias_lists[key],
                    description=r.description,
                    tags=tags[key],
                    metrics=metrics,
                    sha256=r.sha256,
                    creation_time=int(r.creation_time),
                    last_updated_time=int(r.last_updated_time),
                    user_id=r.user_id,
                )
            )
        return out

    def get_model_version(
        self, name: str, version: int, *, include_deleted: bool = False
    ) -> ModelVersion:
        """One version; a deleted one only with ``include_deleted``."""

        def work(conn: Connection) -> ModelVersion:
            self._require_model(conn, name)
            row = conn.execute(
                select(schema.versions).where(
                    schema.versions.c.name == name, schema.versions.c.version == version
                )
            ).first()
            if row is None or (row.status == STATUS_DELETED and not include_deleted):
                state = "was deleted" if row is not None else "does not exist"
                raise ResourceNotFoundError(
                    f"version: version {version} of registered model {name!r} {state}"
                )
            return self._versions_from_rows(conn, [row])[0]

        return self._read(work)

    def _require_model(self, conn: Connection, name: str) -> Any:
        row = conn.execute(select(schema.models).where(schema.models.c.name == name)).first()
        if row is None:
            raise ResourceNotFoundError(f"name: registered model {name!r} does not exist")
        if row.deleted_time is not None:
            raise ResourceNotFoundError(f"name: registered model {name!r} was deleted")
        return row

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points to."""

        def work(conn: Connection) -> ModelVersion:
            self._require_model(conn, name)
            a = schema.aliases
            row = conn.execute(
                select(schema.versions)
                .join(
                    a,
                    and_(
                        a.c.name == schema.versions.c.name, a.c.version == schema.versions.c.version
                    ),
                )
                .where(a.c.name == name, a.c.alias == alias)
            ).first()
            if row is None:
                known = conn.execute(select(a.c.alias).where(a.c.name == name)).scalars().all()
                hint = f"; known aliases: {', '.join(sorted(known))}" if known else ""
                raise ResourceNotFoundError(
                    f"alias: registered model {name!r} has no alias {alias!r}{hint}"
                )
            return self._versions_from_rows(conn, [row])[0]

        return self._read(work)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None) -> list[ModelVersion]:
        """Newest live version per stage (all stages when ``stages`` is None)."""

        def work(conn: Connection) -> list[ModelVersion]:
            self._require_model(conn, name)
            found = self._latest_per_stage(conn, [name]).get(name, [])
            return [mv for mv in found if stages is None or mv.current_stage in stages]

        return self._read(work)

    def latest_version(self, name: str) -> ModelVersion:
        """The highest live version number of a model."""

        def work(conn: Connection) -> ModelVersion:
            self._require_model(conn, name)
            v = schema.versions
            row = conn.execute(
                select(v)
                .where(v.c.name == name, v.c.status == STATUS_READY)
                .order_by(v.c.version.desc())
                .limit(1)
            ).first()
            if row is None:
                raise ResourceNotFoundError(f"name: registered model {name!r} has no live versions")
            return self._versions_from_rows(conn, [row])[0]

        return self._read(work)

    def search_model_versions(
        self,
        filter_string: str | None,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
        include_deleted: bool,
    ) -> PagedList:
        """Versions matching ``filter_string`` (name, run_id, version_number, current_stage,
        source, status, tags.<key>), newest first within a model by default."""
        v = schema.versions
        columns = {
            "name": v.c.name,
            "run_id": v.c.run_id,
            "version_number": v.c.version,
            "current_stage": v.c.current_stage,
            "source": v.c.source,
            "status": v.c.status,
        }
        clauses = filters.parse_filter(filter_string, _VERSION_FIELDS)
        clauses = [_canonical_stage(c) for c in clauses]
        conds = filters.to_conditions(
            clauses,
            columns,
            schema.version_tags,
            {"name": v.c.name, "version": v.c.version},
            self.dialect,
            int_fields=("version_number",),
        )
        m = schema.models
        live_models = select(m.c.name).where(m.c.deleted_time.is_(None))
        if not include_deleted:
            conds.append(v.c.status == STATUS_READY)
            conds.append(v.c.name.in_(live_models))
        order_columns = {
            **{k: c for k, c in columns.items() if k != "source"},
            "version": v.c.version,
            "creation_timestamp": v.c.creation_time,
            "creation_time": v.c.creation_time,
            "last_updated_timestamp": v.c.last_updated_time,
            "last_updated_time": v.c.last_updated_time,
        }
        name_key = filters.sort_key(v.c.name, self.dialect)
        ordering = filters.parse_order_by(order_by, order_columns, self.dialect) or [
            name_key,
            v.c.version.desc(),
        ]
        offset = _offset(page_token)
        limit = _limit(max_results)
        query = (
            select(v)
            .where(*conds)
            .order_by(*ordering, name_key, v.c.version)
            .offset(offset)
            .limit(limit + 1)
        )

        def work(conn: Connection) -> PagedList:
            rows = conn.execute(query).all()
            token = str(offset + limit) if len(rows) > limit else None
            return PagedList(self._versions_from_rows(conn, rows[:limit]), token)

        return self._read(work)

    def update_model_version(self, name: str, version: int, description: str | None) -> None:
        """Replace a version's description."""

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            self._touch_version(conn, name, version, description=description)

        self._write(work)

    def _touch_version(self, conn: Connection, name: str, version: int, **values: Any) -> None:
        v = schema.versions
        conn.execute(
            update(v)
            .where(v.c.name == name, v.c.version == version)
            .values(last_updated_time=now_ms(), **values)
        )

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set (insert or overwrite) one version tag."""

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            t = schema.version_tags
            where = (t.c.name == name, t.c.version == version, t.c.key == key)
            conn.execute(delete(t).where(*where))
            conn.execute(insert(t).values(name=name, version=version, key=key, value=value))
            self._touch_version(conn, name, version)

        self._write(work)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Remove one version tag; a missing key is an error."""

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            t = schema.version_tags
            gone = conn.execute(
                delete(t).where(t.c.name == name, t.c.version == version, t.c.key == key)
            ).rowcount
            if not gone:
                raise ResourceNotFoundError(
                    f"key: version {version} of model {name!r} has no tag {key!r}"
                )
            self._touch_version(conn, name, version)

        self._write(work)

    def transition_stage(
        self,
        name: str,
        version: int,
        stage: str,
        archive_existing_versions: bool,
        user: str,
        comment: str | None,
    ) -> None:
        """Move a version to ``stage`` (recorded), optionally archiving the stage's others."""
        if archive_existing_versions and stage not in {STAGE_STAGING, STAGE_PRODUCTION}:
            raise InvalidInputError(
                "archive_existing_versions: only valid when moving to Staging or Production, "
                f"not {stage}"
            )

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            row = self._version_row(conn, name, version)
            stamp = now_ms()
            if archive_existing_versions:
                v = schema.versions
                others = conn.execute(
                    select(v.c.version).where(
                        v.c.name == name,
                        v.c.version != version,
                        v.c.current_stage == stage,
                        v.c.status == STATUS_READY,
                    )
                ).scalars()
                for other in sorted(others):
                    self._touch_version(conn, name, other, current_stage=STAGE_ARCHIVED)
                    self._event(
                        conn,
                        name,
                        other,
                        EVENT_STAGE,
                        user,
                        from_value=stage,
                        to_value=STAGE_ARCHIVED,
                        comment=f"archived because version {version} moved to {stage}",
                        timestamp=stamp,
                    )
            if row.current_stage == stage:
                return
            self._touch_version(conn, name, version, current_stage=stage)
            self._event(
                conn,
                name,
                version,
                EVENT_STAGE,
                user,
                from_value=row.current_stage,
                to_value=stage,
                comment=comment,
                timestamp=stamp,
            )

        self._write(work)

    def set_alias(
        self, name: str, alias: str, version: int, user: str, comment: str | None
    ) -> None:
        """Point ``alias`` at ``version`` (moving it if set elsewhere); recorded in history."""

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            a = schema.aliases
            previous = conn.execute(
                select(a.c.version).where(a.c.name == name, a.c.alias == alias)
            ).scalar()
            if previous == version:
                return
            if previous is None:
                conn.execute(insert(a).values(name=name, alias=alias, version=version))
            else:
                conn.execute(
                    update(a).where(a.c.name == name, a.c.alias == alias).values(version=version)
                )
            self._event(
                conn,
                name,
                version,
                EVENT_ALIAS_SET,
                user,
                alias=alias,
                from_value=None if previous is None else str(previous),
                to_value=str(version),
                comment=comment,
            )

        self._write(work)

    def delete_alias(self, name: str, alias: str, user: str, comment: str | None) -> None:
        """Remove an alias; recorded on the version it pointed to."""

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            self._drop_alias(conn, name, alias, user, comment)

        self._write(work)

    def _drop_alias(
        self, conn: Connection, name: str, alias: str, user: str, comment: str | None
    ) -> None:
        a = schema.aliases
        previous = conn.execute(
            select(a.c.version).where(a.c.name == name, a.c.alias == alias)
        ).scalar()
        if previous is None:
            raise ResourceNotFoundError(f"alias: registered model {name!r} has no alias {alias!r}")
        conn.execute(delete(a).where(a.c.name == name, a.c.alias == alias))
        self._event(
            conn,
            name,
            int(previous),
            EVENT_ALIAS_DELETED,
            user,
            alias=alias,
            from_value=str(previous),
            comment=comment,
        )

    def set_version_deleted(self, name: str, version: int, deleted: bool, user: str) -> None:
        """Soft-delete a version (dropping its aliases, recorded) or restore it."""

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            row = self._version_row(conn, name, version, allow_deleted=True)
            if deleted == (row.status == STATUS_DELETED):
                state = "already deleted" if deleted else "not deleted"
                raise InvalidInputError(f"version: version {version} of {name!r} is {state}")
            if deleted:
                a = schema.aliases
                held = conn.execute(
                    select(a.c.alias).where(a.c.name == name, a.c.version == version)
                ).scalars()
                for alias in sorted(held):
                    self._drop_alias(conn, name, alias, user, "version deleted")
            status = STATUS_DELETED if deleted else STATUS_READY
            self._touch_version(conn, name, version, status=status)
            event = EVENT_DELETED if deleted else EVENT_RESTORED
            self._event(conn, name, version, event, user)

        self._write(work)

    def history(self, name: str, version: int) -> list[ModelVersionEvent]:
        """Every event of a version, oldest first, including alias moves away from it."""

        def work(conn: Connection) -> list[ModelVersionEvent]:
            self._require_model(conn, name)
            self._version_row(conn, name, version, allow_deleted=True)
            e = schema.events
            moved_away = and_(e.c.event == EVENT_ALIAS_SET, e.c.from_value == str(version))
            rows = conn.execute(
                select(e)
                .where(e.c.name == name, (e.c.version == version) | moved_away)
                .order_by(e.c.timestamp, e.c.id)
            ).all()
            return [
                ModelVersionEvent(
                    name=r.name,
                    version=int(r.version),
                    event=r.event,
                    alias=r.alias,
                    from_value=r.from_value,
                    to_value=r.to_value,
                    user=r.user_id,
                    timestamp=int(r.timestamp),
                    comment=r.comment,
                )
                for r in rows
            ]

        return self._read(work)


def _canonical_stage(clause: filters.Clause) -> filters.Clause:
    """``current_stage = 'production'`` matches like ``'Production'`` (stages are case-blind)."""
    if clause.field != "current_stage" or clause.op in {"LIKE", "ILIKE"}:
        return clause
    if isinstance(clause.value, list):
        value: object = [stage_name(v) for v in clause.value]
    else:
        value = stage_name(clause.value)
    return filters.Clause(clause.field, clause.key, clause.op, value)


def _offset(page_token: str | None) -> int:
    if page_token in (None, ""):
        return 0
    try:
        offset = int(str(page_token))
    except ValueError:
        offset = -1
    if offset < 0:
        raise InvalidInputError(f"page_token: {page_token!r} is not a token from a previous page")
    return offset


def _limit(max_results: int) -> int:
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidInputError(f"max_results: expected a positive integer, got {max_results!r}")
    return max_results
