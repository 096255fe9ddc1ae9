"""Registered models in the registry store: create, read, search, tags, soft delete."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, update

from registry import filters, schema
from registry.entities import RegisteredModel
from registry.store_core import StoreCore
from tracking.entities import PagedList
from tracking.exceptions import InvalidInputError, ResourceNotFoundError
from tracking.store import now_ms


def _new_model(name: str, stamp: int, description: str | None = None) -> dict[str, object]:
    """The row of a registered model created at ``stamp``, with no version handed out yet."""
    return {
        "name": name,
        "description": description,
        "creation_time": stamp,
        "last_updated_time": stamp,
        "last_version": 0,
    }


class ModelStore(StoreCore):
    """The ``registry_models`` rows and their tags."""

    def _insert_model_if_missing(self, conn: Connection, name: str, stamp: int) -> None:
        values = _new_model(name, stamp)
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
            conn.execute(insert(schema.models).values(**_new_model(name, stamp, description)))
            for key, value in tags.items():
                conn.execute(insert(schema.model_tags).values(name=name, key=key, value=value))

        self._write(work)

    def get_registered_model(self, name: str, *, include_deleted: bool = False) -> RegisteredModel:
        """The model with tags, aliases and newest version per stage."""

        def work(conn: Connection) -> RegisteredModel:
            row = self._require_model(conn, name, allow_deleted=include_deleted)
            return self._models_from_rows(conn, [row])[0]

        return self._read(work)

    def search_registered_models(self, query: filters.SearchQuery) -> PagedList:
        """Models matching the query's filter (fields: name, tags.<key>), ordered and paged."""
        live = [schema.models.c.deleted_time.is_(None)]
        select_models = filters.search(filters.MODEL_SEARCH, query, self.dialect, live, [])
        return self._page(select_models, query, self._models_from_rows)

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
