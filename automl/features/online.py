"""Online lookups: the latest feature values by key, for serving (the ``features_online`` table).

The online copy lives in the same database as the offline versions, indexed by (table, key)
and written in the same transaction as each ``write_table``: it is never stale, needs no
publish step or second store, and an indexed point lookup on SQLite takes microseconds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa

from automl.features import frames, schema
from automl.features.constants import ONLINE_BATCH
from automl.features.entities import FeatureSpec, ResolvedLookup
from automl.features.store import FeatureStore
from tracking import InvalidInputError


class MissingFeatureKeyError(InvalidInputError):
    """A request key has no online row and its features have no default (HTTP 400)."""


def lookup_online(
    store: FeatureStore, name: str, keys: pd.DataFrame, key_columns: Sequence[str] | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Latest features of table ``name`` for each row of ``keys`` and which rows were found.

    ``key_columns`` names the columns of ``keys`` matching the table's primary keys (default:
    the primary key names).
    """
    table = store.get_table(name)
    columns = list(key_columns or table.primary_keys)
    missing = [c for c in columns if c not in keys.columns]
    if missing:
        raise InvalidInputError(f"{missing[0]}: key column missing from the request; send it")
    with store.engine.connect() as conn:
        kinds = json.loads(
            conn.execute(
                sa.select(schema.tables.c.key_kinds).where(schema.tables.c.name == name)
            ).scalar_one()
        )
        wanted = frames.entity_keys(
            keys.rename(columns=dict(zip(columns, table.primary_keys, strict=True))),
            table.primary_keys,
            [kinds[k] for k in table.primary_keys],
        )
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(wanted))
        for start in range(0, len(unique), ONLINE_BATCH):
            rows = conn.execute(
                sa.select(schema.online.c.entity_key, schema.online.c.values_json).where(
                    (schema.online.c.name == name)
                    & schema.online.c.entity_key.in_(unique[start : start + ONLINE_BATCH])
                )
            ).all()
            found.update(rows)
    records = [json.loads(found[k]) if k in found else {} for k in wanted]
    values = pd.DataFrame.from_records(records, columns=list(table.features), index=keys.index)
    matched = np.fromiter((k in found for k in wanted), dtype=bool, count=len(wanted))
    return frames.restore_dtypes(values, table.features), matched


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
