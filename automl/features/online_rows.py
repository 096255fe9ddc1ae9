"""The online rows of a set of keys: one SQL statement per lookup, decoded into numpy columns.

A lookup runs one fixed statement per key-count bucket that returns a single row: the table's
metadata text and the matched keys and value objects, each aggregated into one string. The
driver then builds three Python strings instead of two per matched row, and one ``json.loads``
decodes every value object. The table's metadata (keys, their kinds, feature dtypes) is cached
per table as a ``LookupPlan``; the statement returns the current metadata text beside the rows,
so a plan made stale by a write (added columns) or by a dropped and recreated table is noticed
in the same snapshot and replaced, without a metadata query per call.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from automl.features import frames, schema
from automl.features.constants import ONLINE_BATCH
from automl.features.store import FeatureStore, table_not_found
from tracking import InvalidInputError

# Placeholders of each DB-API paramstyle the store's drivers use (sqlite3: qmark, psycopg:
# pyformat, which also accepts %s).
_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}
# Separates the matched entity keys in their aggregated text: keys are ``json.dumps`` output,
# which escapes control characters, so no key contains it.
_KEY_SEPARATOR = "\x1f"
# (keys, values) aggregates per dialect. Both aggregates of one query consume the rows in the
# same order (SQLite steps every aggregate per row; PostgreSQL orders both by the key).
_AGGREGATES = {
    "sqlite": ("group_concat(entity_key, char(31))", "group_concat(values_json, ',')"),
    "postgresql": (
        "string_agg(entity_key, chr(31) ORDER BY entity_key)",
        "string_agg(values_json, ',' ORDER BY entity_key)",
    ),
}
# The metadata a plan is built from, as one text: four JSON documents back to back (each is
# self-delimiting, so the concatenation decodes unambiguously).
_META_TEXT = "schema_json || key_kinds || primary_keys || timestamp_keys"
# A table whose keys change between every two statements of one lookup (dropped and recreated
# each time) is given up on after this many attempts.
_MAX_ATTEMPTS = 5
_MAX_PLANS = 1024
_NUMERIC = ("int", "uin", "flo")


@dataclass(frozen=True)
class LookupPlan:
    """How to encode a table's request keys and decode its online values (from its metadata)."""

    meta: str
    primary: tuple[str, ...]
    kinds: tuple[str, ...]
    dtypes: Mapping[str, str]  # feature column -> dtype, in the table's column order


@dataclass(frozen=True)
class OnlineRows:
    """Decoded online values for each request row (``columns`` in the requested order)."""

    names: tuple[str, ...]
    columns: list[Any]  # numpy arrays (lists or DatetimeIndex for non-numeric dtypes)
    matched: np.ndarray  # bool per request row: a row for its key exists


# One plan per (database, table); replaced when the statement returns another metadata text.
_plans: dict[tuple[str, str], LookupPlan] = {}


@functools.lru_cache(maxsize=256)
def _plan(meta: str) -> LookupPlan:
    decoder = json.JSONDecoder()
    parts, at = [], 0
    while at < len(meta):
        value, at = decoder.raw_decode(meta, at)
        parts.append(value)
    dtypes, kinds, primary, stamps = parts
    skip = set(primary) | set(stamps)
    return LookupPlan(
        meta=meta,
        primary=tuple(primary),
        kinds=tuple(kinds[k] for k in primary),
        dtypes={c: d for c, d in dtypes.items() if c not in skip},
    )


@functools.lru_cache(maxsize=64)
def _statement(dialect: str, paramstyle: str, n_keys: int) -> str:
    """The lookup statement for ``n_keys`` keys (``n_keys == 0``: the metadata alone).

    The texts are fixed per key count, so the driver's statement cache (sqlite3 keeps 128
    prepared statements per connection; psycopg prepares repeated queries) reuses them.
    """
    p = _PLACEHOLDER[paramstyle]
    meta = f"(SELECT {_META_TEXT} FROM {schema.tables.name} WHERE name = {p})"
    if n_keys == 0:
        return f"SELECT {meta}"
    keys, values = _AGGREGATES[dialect]
    return (
        f"SELECT {meta}, {keys}, {values} FROM {schema.online.name} "
        f"WHERE name = {p} AND entity_key IN ({', '.join([p] * n_keys)})"
    )


def _batch_size(n: int) -> int:
    """Keys per IN list: the next power of two up to ``ONLINE_BATCH`` (padded with a repeat),
    so a few statement texts serve every request size."""
    size = 1
    while size < min(n, ONLINE_BATCH):
        size *= 2
    return min(size, ONLINE_BATCH)


Keys = pd.DataFrame | Mapping[str, Any]  # a frame, or column name -> array-like of key values


def key_rows(keys: Keys) -> int:
    """Rows of a request: a frame's length, or the common length of a mapping's columns."""
    if isinstance(keys, pd.DataFrame):
        return len(keys)
    if not isinstance(keys, Mapping):
        raise InvalidInputError(
            f"keys: expected a DataFrame or a mapping of column -> values, got {type(keys)}"
        )
    lengths = {c: len(v) for c, v in keys.items()}
    if len(set(lengths.values())) > 1:
        raise InvalidInputError(f"keys: columns have different lengths {lengths}; align them")
    return next(iter(lengths.values()), 0)


def _encode(
    plan: LookupPlan, name: str, keys: Keys, key_columns: Sequence[str] | None
) -> list[str]:
    columns = list(key_columns or plan.primary)
    if len(columns) != len(plan.primary):
        raise InvalidInputError(
            f"key_columns: {len(columns)} column(s) {columns} for the {len(plan.primary)} "
            f"primary key(s) {list(plan.primary)} of feature table {name!r}; name one per key"
        )
    frame = isinstance(keys, pd.DataFrame)
    missing = [c for c in columns if c not in (keys.columns if frame else keys)]
    if missing:
        raise InvalidInputError(
            f"{missing[0]}: key column missing from the request (feature table {name!r} is "
            f"keyed by {list(plan.primary)}; the request must carry {columns}); send it"
        )
    by_key = {
        k: keys[c] if frame else np.asarray(keys[c])
        for k, c in zip(plan.primary, columns, strict=True)
    }
    return frames.entity_keys(by_key, plan.primary, plan.kinds)


def _query(
    cursor: Any, statement: Callable[[int], str], name: str, wanted: list[str]
) -> tuple[list[str | None], dict[str, dict]]:
    """(metadata text each statement saw, {entity key: value object} of the keys found)."""
    unique = list(dict.fromkeys(wanted))
    if not unique:
        cursor.execute(statement(0), (name,))
        return [cursor.fetchone()[0]], {}
    metas, found = [], {}
    for start in range(0, len(unique), ONLINE_BATCH):
        batch = unique[start : start + ONLINE_BATCH]
        size = _batch_size(len(batch))
        batch += [batch[-1]] * (size - len(batch))
        cursor.execute(statement(size), (name, name, *batch))
        meta, matched_keys, values = cursor.fetchone()
        metas.append(meta)
        if matched_keys is not None:
            records = json.loads(f"[{values}]")
            found.update(zip(matched_keys.split(_KEY_SEPARATOR), records, strict=True))
    return metas, found


def fetch(
    store: FeatureStore, name: str, keys: Keys, key_columns: Sequence[str] | None
) -> tuple[LookupPlan, list[str], dict[str, dict]]:
    """(plan, encoded key of each request row, {encoded key: value object} of those found)."""
    dialect = store.engine.dialect
    if dialect.name not in _AGGREGATES or dialect.paramstyle not in _PLACEHOLDER:
        raise InvalidInputError(
            f"tracking_uri: online lookups support SQLite and PostgreSQL, not {dialect.name!r}"
        )
    statement = functools.partial(_statement, dialect.name, dialect.paramstyle)
    cache_key = (store.tracking_uri, name)
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        plan = _plans.get(cache_key)
        current = plan is None  # the plan was read in this call (not possibly stale)
        if plan is None:
            plan = _read_plan(cursor, statement, name, cache_key)
        for _ in range(_MAX_ATTEMPTS):
            try:
                wanted = _encode(plan, name, keys, key_columns)
            except InvalidInputError:
                if current:
                    raise
                fresh = _read_plan(cursor, statement, name, cache_key)
                if fresh.meta == plan.meta:
                    raise
                plan, current = fresh, True  # the table was recreated: judge the keys again
                continue
            metas, found = _query(cursor, statement, name, wanted)
            if None in metas:
                _plans.pop(cache_key, None)
                raise table_not_found(name)
            consistent = len(set(metas)) == 1
            if consistent and metas[0] == plan.meta:
                break
            fresh = _remember(cache_key, _plan(metas[-1]))
            # one metadata text for every batch, whose keys encode as the request's were: the
            # rows are valid for it (a write only added columns)
            same_keys = (fresh.primary, fresh.kinds) == (plan.primary, plan.kinds)
            plan, current = fresh, True
            if consistent and same_keys:
                break
        else:
            raise InvalidInputError(
                f"name: feature table {name!r} changed during every lookup attempt; retry"
            )
        cursor.close()
    finally:
        raw.close()  # back to the pool (rolled back: nothing was written)
    return plan, wanted, found


def _read_plan(
    cursor: Any, statement: Callable[[int], str], name: str, cache_key: tuple[str, str]
) -> LookupPlan:
    cursor.execute(statement(0), (name,))
    meta = cursor.fetchone()[0]
    if meta is None:
        _plans.pop(cache_key, None)
        raise table_not_found(name)
    return _remember(cache_key, _plan(meta))


def _remember(cache_key: tuple[str, str], plan: LookupPlan) -> LookupPlan:
    if len(_plans) >= _MAX_PLANS:
        _plans.clear()
    _plans[cache_key] = plan
    return plan


@functools.lru_cache(maxsize=256)
def _getter(features: tuple[str, ...]) -> Callable[[dict], tuple]:
    if len(features) == 1:
        (only,) = features
        return lambda record: (record[only],)
    return itemgetter(*features)


def decode(
    plan: LookupPlan, wanted: list[str], found: dict[str, dict], features: Sequence[str]
) -> OnlineRows:
    """The columns ``features`` for each request row (NaN/None where a key or value is missing).

    Numeric features are decoded as one float64 block (ints without gaps are cast back);
    other dtypes column by column as the table stores them.
    """
    names = tuple(features)
    n = len(wanted)
    numeric = all(plan.dtypes[c][:3] in _NUMERIC for c in names)
    getter = _getter(names)
    try:  # every key found and every feature present (the common case)
        rows = list(map(getter, map(found.__getitem__, wanted)))
        matched = np.ones(n, dtype=bool)
    except KeyError:
        empty: dict = {}
        rows = [tuple(map(found.get(k, empty).get, names)) for k in wanted]
        matched = np.fromiter((k in found for k in wanted), dtype=bool, count=n)
    block = np.array(rows, dtype=np.float64 if numeric else object).reshape(n, len(names))
    columns: list[Any] = []
    for i, column in enumerate(names):
        dtype = plan.dtypes[column]
        values = block[:, i]
        if not numeric:
            columns.append(frames.column_from_json(values.tolist(), dtype))
        elif dtype[:3] != "flo" and not np.isnan(values).any():
            columns.append(values.astype(dtype))
        else:
            columns.append(values)
    return OnlineRows(names, columns, matched)
