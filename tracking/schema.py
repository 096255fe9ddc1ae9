"""SQL tables of the tracking store and versioned schema creation/migration.

Every table is prefixed ``tracking_`` so the store can share a database with Optuna's
RDBStorage (``studies``, ``trials``, ``version_info``, ``alembic_version``...) and with other
packages. ``ensure_schema`` is public so another package (e.g. ``registry``) can create its own
tables in the same database and keep its own row in ``tracking_schema_version``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking.db import run_in_transaction
from tracking.exceptions import SchemaVersionError

SCHEMA_VERSION = 1
COMPONENT = "tracking"

version_metadata = sa.MetaData()
schema_version = sa.Table(
    "tracking_schema_version",
    version_metadata,
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_time", sa.BigInteger, nullable=False),
)

metadata = sa.MetaData()
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

experiments = sa.Table(
    "tracking_experiments",
    metadata,
    sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(500), nullable=False, unique=True),
    sa.Column("artifact_location", sa.String(2000), nullable=False),
    sa.Column("lifecycle_stage", sa.String(16), nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("last_update_time", sa.BigInteger, nullable=False),
)


def _experiment_id(**options: Any) -> sa.Column:
    """A column referencing an experiment."""
    return sa.Column(
        "experiment_id", sa.Integer, sa.ForeignKey("tracking_experiments.experiment_id"), **options
    )


def _run_uuid(**options: Any) -> sa.Column:
    """A column referencing a run."""
    return sa.Column("run_uuid", sa.String(32), sa.ForeignKey("tracking_runs.run_uuid"), **options)


def _key(**options: Any) -> sa.Column:
    """The key of a tag, param or metric."""
    return sa.Column("key", sa.String(250), **options)


def _key_values(name: str, owner: sa.Column, value_length: int, *extra: Any) -> sa.Table:
    """A key/value table (tags, params): the owner's reference, key and text value."""
    value = sa.Column("value", sa.String(value_length), nullable=False)
    return sa.Table(name, metadata, owner, _key(primary_key=True), value, *extra)


experiment_tags = _key_values("tracking_experiment_tags", _experiment_id(primary_key=True), 8000)

runs = sa.Table(
    "tracking_runs",
    metadata,
    sa.Column("run_uuid", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(500)),
    _experiment_id(nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger),
    sa.Column("artifact_uri", sa.String(2000), nullable=False),
    sa.Column("lifecycle_stage", sa.String(16), nullable=False),
    sa.Column("parent_run_id", sa.String(32)),
    sa.Column("deleted_time", sa.BigInteger),
    # Who owns the run, so runs of dead local processes can be marked KILLED.
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("proc_start", sa.BigInteger),
    sa.Index("ix_tracking_runs_experiment", "experiment_id", "lifecycle_stage", "start_time"),
    sa.Index("ix_tracking_runs_status", "status"),
    sa.Index("ix_tracking_runs_parent", "parent_run_id"),
)

params = _key_values(
    "tracking_params",
    _run_uuid(primary_key=True),
    6000,
    sa.Index("ix_tracking_params_key_value", "key", "value"),
)

tags = _key_values("tracking_tags", _run_uuid(primary_key=True), 8000)


def _metric_value() -> list[sa.Column]:
    """A metric's value, NaN flag, timestamp and step. NaN is stored as NULL + is_nan (SQLite
    turns NaN into NULL; PostgreSQL sorts NaN first)."""
    return [
        sa.Column("value", sa.Double),
        sa.Column("is_nan", sa.Boolean, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
    ]


metrics = sa.Table(
    "tracking_metrics",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    _run_uuid(nullable=False),
    _key(nullable=False),
    *_metric_value(),
    sa.Index("ix_tracking_metrics_run_key", "run_uuid", "key", "step"),
)

latest_metrics = sa.Table(
    "tracking_latest_metrics",
    metadata,
    _run_uuid(primary_key=True),
    _key(primary_key=True),
    *_metric_value(),
    sa.Index("ix_tracking_latest_metrics_key_value", "key", "value"),
)

Migration = Callable[[Connection], None]
_ready: weakref.WeakKeyDictionary[Engine, set[tuple[str, int]]] = weakref.WeakKeyDictionary()
_ready_lock = threading.Lock()
_PG_LOCK_ID = 0x7472_6B67  # arbitrary constant: serialises schema creation on PostgreSQL


def _stored_version(conn: Connection, component: str) -> int | None:
    if not sa.inspect(conn).has_table(schema_version.name):
        return None
    row = conn.execute(
        sa.select(schema_version.c.version).where(schema_version.c.component == component)
    ).first()
    return None if row is None else int(row[0])


def ensure_schema(
    engine: Engine,
    component: str,
    table_metadata: sa.MetaData,
    version: int,
    migrations: Mapping[int, Migration] | None = None,
    initialize: Migration | None = None,
) -> None:
    """Create ``table_metadata``'s tables and record ``component``'s schema version, once.

    On an existing store at an older version, ``migrations[v](conn)`` upgrades v -> v+1 in
    order (then any new tables are created). A store written by a newer release raises
    ``SchemaVersionError``. ``initialize(conn)`` runs once, when the component is first
    installed (e.g. to create default rows). Safe to call from many processes at once.
    """
    if (component, version) in _ready.get(engine, ()):
        return
    with engine.connect() as conn:
        current = _stored_version(conn, component)
        conn.rollback()
    if current is not None and current > version:
        raise SchemaVersionError(
            f"the {component!r} tables in {engine.url!r} are at schema version {current}, newer "
            f"than this release's {version}; upgrade the package to open this store"
        )
    if current != version:
        run_in_transaction(
            engine,
            lambda conn: _upgrade(conn, component, table_metadata, version, migrations, initialize),
        )
    with _ready_lock:
        _ready.setdefault(engine, set()).add((component, version))


def _create_missing(conn: Connection, table_metadata: sa.MetaData, existing: set[str]) -> None:
    missing = [table for table in table_metadata.sorted_tables if table.name not in existing]
    if missing:
        table_metadata.create_all(conn, tables=missing, checkfirst=False)


def _upgrade(
    conn: Connection,
    component: str,
    table_metadata: sa.MetaData,
    version: int,
    migrations: Mapping[int, Migration] | None,
    initialize: Migration | None,
) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_ID})
    existing = set(sa.inspect(conn).get_table_names())
    _create_missing(conn, version_metadata, existing)
    row = conn.execute(
        sa.select(schema_version.c.version).where(schema_version.c.component == component)
    ).first()
    stored = None if row is None else int(row[0])
    now = int(time.time() * 1000)
    if stored == version:
        return
    if stored is None:
        _create_missing(conn, table_metadata, existing)
        if initialize is not None:
            initialize(conn)
        conn.execute(
            schema_version.insert().values(component=component, version=version, updated_time=now)
        )
        return
    if stored > version:
        raise SchemaVersionError(
            f"the {component!r} tables are at schema version {stored}, newer than {version}"
        )
    for step in range(stored, version):
        migrate = (migrations or {}).get(step)
        if migrate is None:
            raise SchemaVersionError(
                f"no migration of the {component!r} tables from version {step} to {step + 1}"
            )
        migrate(conn)
    _create_missing(conn, table_metadata, set(sa.inspect(conn).get_table_names()))
    conn.execute(
        schema_version.update()
        .where(schema_version.c.component == component)
        .values(version=version, updated_time=now)
    )
