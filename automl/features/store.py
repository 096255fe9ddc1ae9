"""``FeatureStore``: versioned feature tables and their online copy on the tracking database.

Every write is a new immutable version holding the rows it wrote (Parquet chunks); a version
reads as the last overwrite at or before it plus the merges after, newest row per key winning.
The online copy (latest row per primary key) is updated in the same transaction as the write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

import tracking
from automl.features import frames, schema, validation
from automl.features.constants import (
    COMPONENT,
    MODE_MERGE,
    MODE_OVERWRITE,
    ONLINE_BATCH,
    SCHEMA_VERSION,
)
from automl.features.entities import FeatureTable, FeatureTableVersion
from tracking import InvalidInputError, ResourceAlreadyExistsError, ResourceNotFoundError

_KIND_OF = {"i": "int", "u": "int", "f": "float", "b": "bool", "M": "datetime", "O": "object"}


def _now_ms() -> int:
    return int(datetime.now().timestamp() * 1000)


def table_not_found(name: str) -> ResourceNotFoundError:
    """The error for a table ``name`` that does not exist (raised by every reader)."""
    return ResourceNotFoundError(
        f"name: feature table {name!r} does not exist; create it with create_table()"
    )


def _kind(dtype: str) -> str:
    try:
        return _KIND_OF.get(pd.api.types.pandas_dtype(dtype).kind, dtype)
    except TypeError:
        return dtype  # extension dtypes ("string", "category") compare by name


class FeatureStore:
    """Feature tables in the database of ``tracking_uri`` (default: the current tracking URI)."""

    def __init__(self, tracking_uri: str | None = None) -> None:
        self.client = tracking.TrackingClient(tracking_uri)
        self.tracking_uri = self.client.tracking_uri
        self.engine = self.client.engine
        self.client.ensure_schema(COMPONENT, schema.metadata, SCHEMA_VERSION)

    # ------------------------------------------------------------------ reading metadata
    def _row(self, conn: Connection, name: str) -> Any:
        row = conn.execute(sa.select(schema.tables).where(schema.tables.c.name == name)).first()
        if row is None:
            raise table_not_found(name)
        return row

    def _entity(self, conn: Connection, row: Any) -> FeatureTable:
        tag_rows = conn.execute(
            sa.select(schema.tags.c.key, schema.tags.c.value).where(schema.tags.c.name == row.name)
        ).all()
        primary = tuple(json.loads(row.primary_keys))
        stamps = tuple(json.loads(row.timestamp_keys))
        columns = json.loads(row.schema_json)
        return FeatureTable(
            name=row.name,
            primary_keys=primary,
            timestamp_keys=stamps,
            features={c: d for c, d in columns.items() if c not in primary + stamps},
            description=row.description,
            version=row.last_version,
            creation_time=row.creation_time,
            last_updated_time=row.last_updated_time,
            tags={r.key: r.value for r in tag_rows},
        )

    def get_table(self, name: str) -> FeatureTable:
        """The table's keys, features, current version and tags."""
        name = validation.table_name(name)
        with self.engine.connect() as conn:
            return self._entity(conn, self._row(conn, name))

    def list_tables(self) -> list[FeatureTable]:
        """Every feature table, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(schema.tables).order_by(schema.tables.c.name)).all()
            return [self._entity(conn, row) for row in rows]

    def list_versions(self, name: str) -> list[FeatureTableVersion]:
        """Every write of the table, oldest first."""
        name = validation.table_name(name)
        with self.engine.connect() as conn:
            self._row(conn, name)
            rows = conn.execute(
                sa.select(schema.versions)
                .where(schema.versions.c.name == name)
                .order_by(schema.versions.c.version)
            ).all()
        return [
            FeatureTableVersion(r.name, r.version, r.mode, r.creation_time, r.num_rows)
            for r in rows
        ]

    # ------------------------------------------------------------------ writing
    def create_table(
        self,
        name: str,
        primary_keys: str | Sequence[str],
        df: pd.DataFrame,
        timestamp_keys: str | Sequence[str] | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> FeatureTable:
        """Create a table from ``df`` (version 1). Keys are int or str columns without nulls."""
        name = validation.table_name(name)
        primary = validation.column_list(primary_keys, "primary_keys")
        stamps = validation.column_list(timestamp_keys, "timestamp_keys")
        if not primary:
            raise InvalidInputError("primary_keys: name at least one key column")
        if len(stamps) > 1:
            raise InvalidInputError("timestamp_keys: at most one timestamp column is supported")
        if set(primary) & set(stamps):
            raise InvalidInputError(
                "timestamp_keys: a column cannot be both primary and timestamp key"
            )
        df = validation.frame(df)
        validation.columns_present(df, primary, "primary_keys")
        validation.columns_present(df, stamps, "timestamp_keys")
        kinds = {k: validation.key_kind(df[k], "primary_keys") for k in primary}
        prepared = self._prepare(df, primary, stamps)
        if len(prepared.columns) == len(primary) + len(stamps):
            raise InvalidInputError("df: has no feature columns besides the keys")
        dtypes = {c: str(prepared[c].dtype) for c in prepared.columns}
        blobs = frames.to_chunks(prepared)
        online = self._online_rows(prepared, primary, stamps, [kinds[k] for k in primary])
        now = _now_ms()
        if description is not None and not isinstance(description, str):
            raise InvalidInputError("description: must be a string")
        tag_items = [
            (validation.column_list(k, "tags")[0], str(v)) for k, v in (tags or {}).items()
        ]

        def work(conn: Connection) -> None:
            exists = conn.execute(
                sa.select(schema.tables.c.name).where(schema.tables.c.name == name)
            ).first()
            if exists is not None:
                raise ResourceAlreadyExistsError(
                    f"name: feature table {name!r} already exists; use write_table() to add rows"
                )
            conn.execute(
                schema.tables.insert().values(
                    name=name,
                    primary_keys=json.dumps(primary),
                    timestamp_keys=json.dumps(stamps),
                    schema_json=json.dumps(dtypes),
                    key_kinds=json.dumps(kinds),
                    description=description,
                    last_version=1,
                    creation_time=now,
                    last_updated_time=now,
                )
            )
            for key, value in tag_items:
                conn.execute(schema.tags.insert().values(name=name, key=key, value=value))
            self._insert_version(conn, name, 1, MODE_OVERWRITE, now, prepared, dtypes, blobs)
            self._write_online(conn, name, online, replace=True)

        self.client.run_in_transaction(work)
        return self.get_table(name)

    def write_table(
        self, name: str, df: pd.DataFrame, mode: str = MODE_MERGE
    ) -> FeatureTableVersion:
        """Write ``df`` as a new version: ``merge`` upserts rows by key, ``overwrite`` replaces.

        Columns may be added; a missing column or a changed dtype is refused, storing nothing.
        """
        name = validation.table_name(name)
        if mode not in (MODE_MERGE, MODE_OVERWRITE):
            raise InvalidInputError(f"mode: expected 'merge' or 'overwrite', got {mode!r}")
        df = validation.frame(df)
        table = self.get_table(name)
        primary, stamps = list(table.primary_keys), list(table.timestamp_keys)
        with self.engine.connect() as conn:
            row = self._row(conn, name)
        old = json.loads(row.schema_json)
        kinds = json.loads(row.key_kinds)
        missing = [c for c in old if c not in df.columns]
        if missing:
            raise InvalidInputError(
                f"df: column(s) {missing} of feature table {name!r} are missing; schema changes "
                "other than adding columns are refused (write every existing column)"
            )
        for k in primary:
            if validation.key_kind(df[k], "df") != kinds[k]:
                raise InvalidInputError(
                    f"df: key column {k!r} is {df[k].dtype}, the table's key is {kinds[k]}"
                )
        prepared = self._prepare(df, primary, stamps)
        changed = [
            f"{c} ({old[c]} -> {prepared[c].dtype})"
            for c in old
            if c not in primary and _kind(old[c]) != _kind(str(prepared[c].dtype))
        ]
        if changed:
            raise InvalidInputError(
                f"df: dtype of {', '.join(changed)} differs from feature table {name!r}; schema "
                "changes other than adding columns are refused (cast the columns back)"
            )
        prepared = prepared.astype({c: old[c] for c in old if c not in primary and c in prepared})
        dtypes = dict(old)
        dtypes.update({c: str(prepared[c].dtype) for c in prepared.columns if c not in old})
        prepared = prepared[list(dtypes)]
        blobs = frames.to_chunks(prepared)
        online = self._online_rows(prepared, primary, stamps, [kinds[k] for k in primary])
        now = _now_ms()

        def work(conn: Connection) -> int:
            conn.execute(
                schema.tables.update()
                .where(schema.tables.c.name == name)
                .values(last_updated_time=now)
            )
            version = self._row(conn, name).last_version + 1
            conn.execute(
                schema.tables.update()
                .where(schema.tables.c.name == name)
                .values(last_version=version, schema_json=json.dumps(dtypes))
            )
            self._insert_version(conn, name, version, mode, now, prepared, dtypes, blobs)
            self._write_online(conn, name, online, replace=mode == MODE_OVERWRITE)
            return version

        version = self.client.run_in_transaction(work)
        return FeatureTableVersion(name, version, mode, now, len(prepared))

    def drop_table(self, name: str) -> None:
        """Delete the table, its versions, online copy, tags and usage records."""
        name = validation.table_name(name)

        def work(conn: Connection) -> None:
            self._row(conn, name)
            for table in (schema.chunks, schema.versions, schema.online, schema.tags, schema.usage):
                conn.execute(table.delete().where(table.c.name == name))
            conn.execute(schema.tables.delete().where(schema.tables.c.name == name))

        self.client.run_in_transaction(work)

    def set_table_tag(self, name: str, key: str, value: str) -> None:
        """Set (or replace) a tag on the table."""
        name = validation.table_name(name)
        key = validation.column_list(key, "key")[0]

        def work(conn: Connection) -> None:
            self._row(conn, name)
            conn.execute(
                schema.tags.delete().where(
                    (schema.tags.c.name == name) & (schema.tags.c.key == key)
                )
            )
            conn.execute(schema.tags.insert().values(name=name, key=key, value=str(value)))

        self.client.run_in_transaction(work)

    def delete_table_tag(self, name: str, key: str) -> None:
        """Remove a tag (ResourceNotFoundError when absent)."""
        name = validation.table_name(name)

        def work(conn: Connection) -> None:
            self._row(conn, name)
            done = conn.execute(
                schema.tags.delete().where(
                    (schema.tags.c.name == name) & (schema.tags.c.key == key)
                )
            )
            if done.rowcount == 0:
                raise ResourceNotFoundError(f"key: feature table {name!r} has no tag {key!r}")

        self.client.run_in_transaction(work)

    # ------------------------------------------------------------------ reading rows
    def resolve_version(self, name: str, as_of: int | datetime | pd.Timestamp | None) -> int:
        """The version ``as_of`` names: a number, a time (the last write at or before it), None."""
        name = validation.table_name(name)
        with self.engine.connect() as conn:
            last = self._row(conn, name).last_version
            if as_of is None:
                return last
            if isinstance(as_of, bool) or not isinstance(as_of, int | datetime):
                raise InvalidInputError(
                    f"as_of: expected a version number or a datetime, got {as_of!r}"
                )
            if isinstance(as_of, int):
                if not 1 <= as_of <= last:
                    raise InvalidInputError(
                        f"as_of: feature table {name!r} has versions 1..{last}, not {as_of}"
                    )
                return as_of
            stamp = pd.Timestamp(as_of)
            if stamp.tzinfo is None:
                stamp = stamp.tz_localize(datetime.now().astimezone().tzinfo)
            ms = int(stamp.timestamp() * 1000)
            version = conn.execute(
                sa.select(sa.func.max(schema.versions.c.version)).where(
                    (schema.versions.c.name == name) & (schema.versions.c.creation_time <= ms)
                )
            ).scalar()
        if version is None:
            raise InvalidInputError(f"as_of: feature table {name!r} did not exist at {as_of}")
        return int(version)

    def read_table(
        self, name: str, as_of: int | datetime | pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """The table's rows at version ``as_of`` (number or time; None: current)."""
        version = self.resolve_version(name, as_of)
        table = self.get_table(name)
        with self.engine.connect() as conn:
            dtypes = json.loads(
                conn.execute(
                    sa.select(schema.versions.c.schema_json).where(
                        (schema.versions.c.name == name) & (schema.versions.c.version == version)
                    )
                ).scalar_one()
            )
            base = conn.execute(
                sa.select(sa.func.max(schema.versions.c.version)).where(
                    (schema.versions.c.name == name)
                    & (schema.versions.c.version <= version)
                    & (schema.versions.c.mode == MODE_OVERWRITE)
                )
            ).scalar_one()
            blobs = (
                conn.execute(
                    sa.select(schema.chunks.c.data)
                    .where(
                        (schema.chunks.c.name == name)
                        & (schema.chunks.c.version >= base)
                        & (schema.chunks.c.version <= version)
                    )
                    .order_by(schema.chunks.c.version, schema.chunks.c.chunk)
                )
                .scalars()
                .all()
            )
        df = frames.from_chunks(blobs).to_pandas()
        if version > base:
            df = df.drop_duplicates(list(table.identity), keep="last", ignore_index=True)
        for column, dtype in dtypes.items():
            if column not in df.columns:
                df[column] = pd.Series(
                    pd.NA if dtype in ("string", "object") else float("nan"), index=df.index
                )
        return df[list(dtypes)]

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _prepare(df: pd.DataFrame, primary: list[str], stamps: list[str]) -> pd.DataFrame:
        validation.columns_present(df, primary + stamps, "df")
        nulls = [k for k in primary + stamps if df[k].isna().any()]
        if nulls:
            raise InvalidInputError(
                f"df: key column(s) {nulls} contain nulls; every row needs keys"
            )
        prepared = df.reset_index(drop=True).copy()
        for column in stamps:
            prepared[column] = validation.timestamp_ns(prepared[column], "timestamp_keys")
        duplicated = prepared.duplicated(primary + stamps)
        if duplicated.any():
            raise InvalidInputError(
                f"df: {int(duplicated.sum())} rows repeat a key {primary + stamps} already in "
                "the frame; keep one row per key (e.g. df.drop_duplicates(keys, keep='last'))"
            )
        return prepared

    @staticmethod
    def _online_rows(
        df: pd.DataFrame, primary: list[str], stamps: list[str], kinds: list[str]
    ) -> list[dict[str, Any]]:
        latest = df
        if stamps:
            latest = df.sort_values(stamps[0], kind="stable").drop_duplicates(primary, keep="last")
        features = [c for c in latest.columns if c not in primary + stamps]
        keys = frames.entity_keys(latest, primary, kinds)
        values = frames.values_json(latest[features])
        stamps_ns = latest[stamps[0]].astype("int64").tolist() if stamps else [None] * len(keys)
        return [
            {"entity_key": k, "ts": t, "values_json": v}
            for k, t, v in zip(keys, stamps_ns, values, strict=True)
        ]

    @staticmethod
    def _insert_version(
        conn: Connection,
        name: str,
        version: int,
        mode: str,
        now: int,
        df: pd.DataFrame,
        dtypes: dict[str, str],
        blobs: list[bytes],
    ) -> None:
        conn.execute(
            schema.versions.insert().values(
                name=name,
                version=version,
                mode=mode,
                creation_time=now,
                num_rows=len(df),
                schema_json=json.dumps(dtypes),
            )
        )
        for number, blob in enumerate(blobs):
            conn.execute(
                schema.chunks.insert().values(name=name, version=version, chunk=number, data=blob)
            )

    @staticmethod
    def _write_online(
        conn: Connection, name: str, rows: list[dict[str, Any]], replace: bool
    ) -> None:
        online = schema.online
        if replace:
            conn.execute(online.delete().where(online.c.name == name))
        for start in range(0, len(rows), ONLINE_BATCH):
            batch = rows[start : start + ONLINE_BATCH]
            if not replace:
                stored = dict(
                    conn.execute(
                        sa.select(online.c.entity_key, online.c.ts).where(
                            (online.c.name == name)
                            & online.c.entity_key.in_([r["entity_key"] for r in batch])
                        )
                    ).all()
                )
                batch = [
                    r
                    for r in batch
                    if r["entity_key"] not in stored
                    or r["ts"] is None
                    or stored[r["entity_key"]] is None
                    or r["ts"] >= stored[r["entity_key"]]
                ]
                if not batch:
                    continue
                conn.execute(
                    online.delete().where(
                        (online.c.name == name)
                        & online.c.entity_key.in_([r["entity_key"] for r in batch])
                    )
                )
            conn.execute(online.insert(), [{"name": name, **r} for r in batch])
