"""Registry tables, created next to the tracking tables in the same database.

Every table is prefixed ``registry_`` so it collides neither with the tracking store nor with
Optuna's RDBStorage tables that share the database. The schema version is the ``registry`` row of
``tracking_schema_version``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 1
COMPONENT = "registry"

metadata = MetaData()


def _name(**options: Any) -> Column:
    """The registered model's name column of a registry table."""
    return Column("name", String(256), **options)


def _version(**options: Any) -> Column:
    """The version number column of a registry table."""
    return Column("version", Integer, **options)


def _of_version() -> ForeignKeyConstraint:
    """(name, version) references a row of ``registry_versions``."""
    return ForeignKeyConstraint(
        ["name", "version"], ["registry_versions.name", "registry_versions.version"]
    )


def _tags(name: str, owner: list[Column], reference: ForeignKeyConstraint) -> Table:
    """A tag table: the owner's key columns, key and value, referencing the owner's row."""
    key = Column("key", String(250), primary_key=True)
    return Table(name, metadata, *owner, key, Column("value", Text, nullable=False), reference)


models = Table(
    "registry_models",
    metadata,
    _name(primary_key=True),
    Column("description", Text),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    # The highest version number ever handed out; bumped in the registering transaction, so
    # numbers stay unique under concurrency and are never reused after a (soft) delete.
    Column("last_version", Integer, nullable=False, default=0),
    Column("deleted_time", BigInteger),
)

model_tags = _tags(
    "registry_model_tags",
    [_name(primary_key=True)],
    ForeignKeyConstraint(["name"], ["registry_models.name"]),
)

versions = Table(
    "registry_versions",
    metadata,
    _name(primary_key=True),
    _version(primary_key=True, autoincrement=False),
    Column("run_id", String(32), nullable=False),
    Column("source", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("current_stage", String(20), nullable=False),
    Column("description", Text),
    Column("metrics_json", Text, nullable=False),
    Column("sha256", String(64)),
    Column("user_id", String(256)),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    ForeignKeyConstraint(["name"], ["registry_models.name"]),
    Index("registry_versions_run_id", "run_id"),
)

version_tags = _tags(
    "registry_version_tags",
    [_name(primary_key=True), _version(primary_key=True, autoincrement=False)],
    _of_version(),
)

aliases = Table(
    "registry_aliases",
    metadata,
    _name(primary_key=True),
    Column("alias", String(256), primary_key=True),
    _version(nullable=False),
    _of_version(),
)

events = Table(
    "registry_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _name(nullable=False),
    _version(nullable=False),
    Column("event", String(32), nullable=False),
    Column("alias", String(256)),
    Column("from_value", Text),
    Column("to_value", Text),
    Column("user_id", String(256), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("comment", Text),
    Index("registry_events_name_version", "name", "version"),
)
