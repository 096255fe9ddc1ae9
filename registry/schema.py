"""Registry tables, created next to the tracking tables in the same database.

Every table is prefixed ``registry_`` so it collides neither with the tracking store nor with
Optuna's RDBStorage tables that share the database. Each :class:`Component` (the registry's
core tables, transition requests, gate reports, protections) keeps its own row in
``tracking_schema_version``, created through tracking's ``ensure_schema``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from tracking.schema import ensure_schema

T = TypeVar("T")

SCHEMA_VERSION = 1
COMPONENT = "registry"

metadata = MetaData()


@dataclass(frozen=True)
class Component:
    """Tables created together, versioned by one row of ``tracking_schema_version``."""

    name: str
    version: int
    metadata: MetaData = field(default_factory=MetaData, compare=False)

    def ensure(self, engine: Engine) -> None:
        """Create the tables if missing; a newer stored version is refused by tracking."""
        ensure_schema(engine, self.name, self.metadata, self.version)


CORE = Component(COMPONENT, SCHEMA_VERSION, metadata)
APPROVALS = Component("registry_approvals", 1)
GATES = Component("registry_gates", 1)
PROTECTION = Component("registry_protection", 1)


def from_row(record: type[T], row: Any, **values: Any) -> T:
    """The dataclass ``record`` built from a table row: each field is the row's column of the
    same name unless given in ``values`` (derived or renamed fields)."""
    columns = row._mapping
    return record(
        **{
            f.name: values[f.name] if f.name in values else columns[f.name]
            for f in dataclasses.fields(record)  # type: ignore[arg-type]
        }
    )


def _name(**options: Any) -> Column:
    """The registered model's name column of a registry table."""
    return Column("name", String(256), **options)


def _version(**options: Any) -> Column:
    """The version number column of a registry table."""
    return Column("version", Integer, **options)


def _user(column: str = "user_id", **options: Any) -> Column:
    """A column naming who did something (a history entry, a request, a decision)."""
    return Column(column, String(256), **options)


def _target(**options: Any) -> Column:
    """The alias or stage name a request, gate report or protection is about."""
    return Column("target", String(256), **options)


def _entry(*, target: bool = False) -> list[Column]:
    """The id and the (name, version) columns of a row about one version (an event), and with
    ``target`` the alias or stage it is about (a transition request, a gate report)."""
    columns = [
        Column("id", Integer, primary_key=True, autoincrement=True),
        _name(nullable=False),
        _version(nullable=False),
    ]
    return [*columns, _target(nullable=False)] if target else columns


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
    _user(),
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
    *_entry(),
    Column("event", String(32), nullable=False),
    Column("alias", String(256)),
    Column("from_value", Text),
    Column("to_value", Text),
    _user(nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("comment", Text),
    Index("registry_events_name_version", "name", "version"),
)

# Transition requests (``registry.approvals``): a move asked for by one user, decided by another.
transition_requests = Table(
    "registry_transition_requests",
    APPROVALS.metadata,
    *_entry(target=True),
    Column("from_value", Text),
    Column("status", String(16), nullable=False),
    _user("requested_by", nullable=False),
    Column("request_comment", Text),
    Column("requested_time", BigInteger, nullable=False),
    _user("decided_by"),
    Column("decision_comment", Text),
    Column("decided_time", BigInteger),
)

# Gate reports (``registry.gate_store``): the checks of one promotion attempt.
gate_reports = Table(
    "registry_gate_reports",
    GATES.metadata,
    *_entry(target=True),
    Column("baseline_version", Integer),
    Column("passed", Boolean, nullable=False),
    Column("checks_json", Text, nullable=False),
    _user(nullable=False),
    Column("comment", Text),
    Column("created_time", BigInteger, nullable=False),
    Index("registry_gate_reports_name_version", "name", "version"),
)

# Protected targets (``registry.protection``); the name ``*`` stands for every model.
protected_targets = Table(
    "registry_protected_targets",
    PROTECTION.metadata,
    _name(primary_key=True),
    _target(primary_key=True),
)
