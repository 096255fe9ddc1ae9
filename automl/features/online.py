"""Online lookups: the latest feature values by key, for serving (the ``features_online`` table).

The online copy lives in the same database as the offline versions, indexed by (table, key)
and written in the same transaction as each ``write_table``: it is never stale, needs no
publish step or second store, and an indexed point lookup on SQLite takes microseconds.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from automl.features import frames, schema
from automl.features.constants import ONLINE_BATCH
from automl.features.entities import FeatureSpec, ResolvedLookup
from automl.features.store import FeatureStore
from tracking import InvalidInputError


class MissingFeatureKeyError(InvalidInputError):
    """A request key has no online row and its features have no default (HTTP 400)."""


# Placeholders of each DB-API paramstyle the store's drivers use (sqlite3: qmark, psycopg:
# pyformat, which also accepts %s).
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


@functools.lru_cache(maxsize=256)
def _table_meta(primary_json: str, kinds_json: str, schema_json: str, stamps_json: str) -> tuple:
    primary = json.loads(primary_json)
    kinds = json.loads(kinds_json)
    stamps = json.loads(stamps_json)
    dtypes = {c: d for c, d in json.loads(schema_json).items() if c not in primary + stamps}
    return primary, [kinds[k] for k in primary], dtypes


@functools.lru_cache(maxsize=64)
def _statements(paramstyle: str, n_keys: int) -> tuple[str, str]:
    """(table metadata query, online rows query for ``n_keys`` keys) in the driver's style.

    The texts are fixed per key count, so the driver's statement cache (sqlite3 keeps 128
    prepared statements per connection; psycopg prepares repeated queries) reuses them.
    """
    p = _PLACEHOLDER[paramstyle]
    tables, online = schema.tables.name, schema.online.name
    meta = (
        f"SELECT primary_keys, key_kinds, schema_json, timestamp_keys FROM {tables} "
        f"WHERE name = {p}"
    )
    rows = (
        f"SELECT entity_key, values_json FROM {online} "
        f"WHERE name = {p} AND entity_key IN ({', '.join([p] * n_keys)})"
    )
    return meta, rows


def _batch_size(n: int) -> int:
    """Keys per IN list: the next power of two up to ``ONLINE_BATCH`` (padded with a repeat),
    so a few statement texts serve every request size."""
    size = 1
    while size < min(n, ONLINE_BATCH):
        size *= 2
    return min(size, ONLINE_BATCH)


def _fetch(store: FeatureStore, name: str, keys: pd.DataFrame, columns: list[str] | None):
    """One pooled DB-API connection: the table's metadata row, then its online rows in one
    ``IN`` query per batch (the primary key (name, entity_key) is the index it uses)."""
    paramstyle = store.engine.dialect.paramstyle
    if paramstyle not in _PLACEHOLDER:
        raise InvalidInputError(f"tracking_uri: unsupported driver paramstyle {paramstyle!r}")
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(_statements(paramstyle, 1)[0], (name,))
        row = cursor.fetchone()
        if row is None:
            store.get_table(name)  # raises the not-found error
        primary, kinds, dtypes = _table_meta(*row)
        columns = list(columns or primary)
        missing = [c for c in columns if c not in keys.columns]
        if missing:
            raise InvalidInputError(
                f"{missing[0]}: key column missing from the request (feature table {name!r} is "
                f"keyed by {primary}; the request must carry {columns}); send it"
            )
        by_key = {k: keys[c] for k, c in zip(primary, columns, strict=True)}
        wanted = frames.entity_keys(by_key, primary, kinds)
        unique = list(dict.fromkeys(wanted))
        found: dict[str, str] = {}
        for start in range(0, len(unique), ONLINE_BATCH):
            batch = unique[start : start + ONLINE_BATCH]
            size = _batch_size(len(batch))
            batch += [batch[-1]] * (size - len(batch))
            cursor.execute(_statements(paramstyle, size)[1], (name, *batch))
            found.update(cursor.fetchall())
        cursor.close()
    finally:
        raw.close()  # back to the pool (rolled back: nothing was written)
    return wanted, found, dtypes


def lookup_online(
    store: FeatureStore, name: str, keys: pd.DataFrame, key_columns: Sequence[str] | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Latest features of table ``name`` for each row of ``keys`` and which rows were found.

    ``key_columns`` names the columns of ``keys`` matching the table's primary keys (default:
    the primary key names).
    """
    wanted, found, dtypes = _fetch(
        store, name, keys, None if key_columns is None else list(key_columns)
    )
    records = frames.decode_values([found.get(k, "{}") for k in wanted])
    values = pd.DataFrame(
        {c: frames.column_from_json([r.get(c) for r in records], d) for c, d in dtypes.items()},
        index=keys.index,
    )
    matched = np.fromiter((k in found for k in wanted), dtype=bool, count=len(wanted))
    return values, matched


def _lookup_frame(
    store: FeatureStore, request: pd.DataFrame, lookup: ResolvedLookup
) -> pd.DataFrame:
    values, matched = lookup_online(store, lookup.table_name, request, lookup.lookup_keys)
    values = values[list(lookup.features)].rename(columns=lookup.features)
    if matched.all():
        return values
    without = [f for f in lookup.features if f not in lookup.default_values]
    if without:
        row = int(np.flatnonzero(~matched)[0])
        key = {k: request[k].iloc[row] for k in lookup.lookup_keys}
        raise MissingFeatureKeyError(
            f"{lookup.lookup_keys[0]}: no row of feature table {lookup.table_name!r} for key "
            f"{key} and features {without} have no default; send a known key"
        )
    for feature, value in lookup.default_values.items():
        out = lookup.features[feature]
        column = values[out] if isinstance(value, int | float) else values[out].astype(object)
        values[out] = column.where(matched, value)
    return values


def add_online_features(
    spec: FeatureSpec, request: pd.DataFrame, store: FeatureStore | None = None
) -> pd.DataFrame:
    """``request`` (keys + request-time columns) with the spec's features looked up by key.

    Columns the request already carries are kept (they win over the store); the label and
    excluded columns are dropped, so the result has the columns the model was trained on.
    """
    store = store or FeatureStore(spec.tracking_uri)
    parts = [request]
    for lookup in spec.lookups:
        if all(out in request.columns for out in lookup.features.values()):
            continue
        values = _lookup_frame(store, request, lookup)
        parts.append(values.drop(columns=[c for c in values.columns if c in request.columns]))
    frame = pd.concat(parts, axis=1)
    drop = [c for c in [spec.label, *spec.exclude_columns] if c is not None and c in frame.columns]
    return frame.drop(columns=drop)
