"""SQL tables of the feature store, prefixed ``features_`` in the tracking store's database.

The schema version is the ``features`` row of ``tracking_schema_version`` (created through
``TrackingClient.ensure_schema``, as the registry does).
"""

from __future__ import annotations

import sqlalchemy as sa

from automl.features.constants import MAX_NAME_LENGTH

metadata = sa.MetaData()


def _name() -> sa.Column:
    """The feature table a row belongs to: the first primary key column of every table."""
    return sa.Column("name", sa.String(MAX_NAME_LENGTH), primary_key=True)


def _version() -> sa.Column:
    """A version number of the table (numbered by the store, not by the database)."""
    return sa.Column("version", sa.Integer, primary_key=True, autoincrement=False)


def _per_version(table: str, *columns: sa.Column) -> sa.Table:
    """A table with rows per version of a feature table: keyed by (name, version, ...)."""
    return sa.Table(table, metadata, _name(), _version(), *columns)


def _json(column: str) -> sa.Column:
    """A JSON document stored as text (lists of key names, {column: dtype} maps)."""
    return sa.Column(column, sa.Text, nullable=False)


def _millis(column: str) -> sa.Column:
    """A wall-clock time in milliseconds since the epoch, as the tracking store keeps them."""
    return sa.Column(column, sa.BigInteger, nullable=False)


tables = sa.Table(
    "features_tables",
    metadata,
    _name(),
    _json("primary_keys"),  # [key, ...]
    _json("timestamp_keys"),  # [] or [column]
    _json("schema_json"),  # {column: dtype} of the current version
    _json("key_kinds"),  # {key: "int" | "str"}
    sa.Column("description", sa.Text),
    sa.Column("last_version", sa.Integer, nullable=False),
    _millis("creation_time"),
    _millis("last_updated_time"),
)

tags = sa.Table(
    "features_tags",
    metadata,
    _name(),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

versions = _per_version(
    "features_versions",
    sa.Column("mode", sa.String(16), nullable=False),
    _millis("creation_time"),
    sa.Column("num_rows", sa.BigInteger, nullable=False),
    _json("schema_json"),
)

# The rows each version wrote, as Parquet chunks (a version is the base it overwrote or merged
# onto plus these rows; versions are immutable, so old training sets rebuild exactly).
chunks = _per_version(
    "features_chunks",
    sa.Column("chunk", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

# The online copy: the latest row per primary key, keyed by the canonical JSON of the key
# values; the primary key is the index point lookups use. On SQLite the table is clustered on
# that key (WITHOUT ROWID): one B-tree search per key instead of index + row, which halves a
# 100-key IN query (0.54 -> 0.27 ms p50 on 100k keys). Stores created before keep their
# rowid table; both read the same.
online = sa.Table(
    "features_online",
    metadata,
    _name(),
    sa.Column("entity_key", sa.String(1000), primary_key=True),
    sa.Column("ts", sa.BigInteger),
    _json("values_json"),  # {feature: value}
    sqlite_with_rowid=False,
)

# Which runs trained on which table versions (lineage from a table to its models).
usage = _per_version(
    "features_usage",
    sa.Column("run_id", sa.String(32), primary_key=True),
    _millis("creation_time"),
)
