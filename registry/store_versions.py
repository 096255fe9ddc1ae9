"""Model versions in the registry store: register, read, search, tags, delete, history."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from sqlalchemy import Connection, and_, delete, insert, select, update

from registry import filters, protection, schema
from registry.entities import (
    EVENT_ALIAS_SET,
    EVENT_DELETED,
    EVENT_REGISTERED,
    EVENT_RESTORED,
    STAGE_NONE,
    STATUS_DELETED,
    STATUS_READY,
    ModelVersion,
    ModelVersionEvent,
)
from registry.store_core import StoreCore
from tracking.entities import PagedList
from tracking.exceptions import InvalidInputError, ResourceNotFoundError
from tracking.store import now_ms


class VersionStore(StoreCore):
    """The ``registry_versions`` rows, their tags and their history."""

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

    def search_model_versions(self, query: filters.SearchQuery) -> PagedList:
        """Versions matching the query's filter (name, run_id, version_number, current_stage,
        source, status, tags.<key>), newest first within a model by default."""
        v, m = schema.versions, schema.models
        live_models = select(m.c.name).where(m.c.deleted_time.is_(None))
        live = [v.c.status == STATUS_READY, v.c.name.in_(live_models)]
        newest_first = [filters.sort_key(v.c.name, self.dialect), v.c.version.desc()]
        select_versions = filters.search(
            filters.VERSION_SEARCH, query, self.dialect, live, newest_first
        ).order_by(v.c.version)
        return self._page(select_versions, query, self._versions_from_rows)

    def update_model_version(self, name: str, version: int, description: str | None) -> None:
        """Replace a version's description."""

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            self._touch_version(conn, name, version, description=description)

        self._write(work)

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

    def set_version_deleted(self, name: str, version: int, deleted: bool, user: str) -> None:
        """Soft-delete a version (dropping its aliases, recorded) or restore it."""

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            row = self._version_row(conn, name, version, allow_deleted=True)
            if deleted == (row.status == STATUS_DELETED):
                state = "already deleted" if deleted else "not deleted"
                raise InvalidInputError(f"version: version {version} of {name!r} is {state}")
            action = f"{'deleting' if deleted else 'restoring'} version {version}"
            protection.check_move(conn, name, row.current_stage, action)
            if deleted:
                a = schema.aliases
                held = sorted(
                    conn.execute(
                        select(a.c.alias).where(a.c.name == name, a.c.version == version)
                    ).scalars()
                )
                for alias in held:
                    protection.check_move(conn, name, alias, action)
                for alias in held:
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
            return [schema.from_row(ModelVersionEvent, r, user=r.user_id) for r in rows]

        return self._read(work)
