"""Online lookups: the latest feature values by key, for serving (the ``features_online`` table).

The online copy lives in the same database as the offline versions, indexed by (table, key)
and written in the same transaction as each ``write_table``: it is never stale, needs no
publish step or second store, and an indexed point lookup on SQLite takes microseconds.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from automl.features import online_rows
from automl.features.entities import FeatureSpec, ResolvedLookup
from automl.features.store import FeatureStore
from tracking import InvalidInputError


class MissingFeatureKeyError(InvalidInputError):
    """A request key has no online row and its features have no default (HTTP 400)."""


@functools.lru_cache(maxsize=256)
def _column_index(names: tuple[str, ...]) -> pd.Index:
    return pd.Index(list(names))


def _frame(names: tuple[str, ...], columns: list[Any], index: pd.Index) -> pd.DataFrame:
    """One frame of ``columns``: all-float64 ones as one 2-D block (a fraction of the cost of
    pandas' dict constructor, which builds and checks every column separately)."""
    if columns and all(isinstance(c, np.ndarray) and c.dtype == np.float64 for c in columns):
        block = np.column_stack(columns)
        return pd.DataFrame(block, columns=_column_index(names), index=index, copy=False)
    return pd.DataFrame(dict(zip(names, columns, strict=True)), index=index, copy=False)


def _rows(
    store: FeatureStore,
    name: str,
    keys: online_rows.Keys,
    key_columns: Sequence[str] | None,
    features: Sequence[str] | None = None,
) -> online_rows.OnlineRows:
    plan, wanted, found = online_rows.fetch(store, name, keys, key_columns)
    if features is None:
        features = list(plan.dtypes)
    else:
        unknown = [f for f in features if f not in plan.dtypes]
        if unknown:
            raise InvalidInputError(
                f"features: {unknown} are not features of table {name!r} "
                f"({list(plan.dtypes)}); look up existing ones"
            )
    return online_rows.decode(plan, wanted, found, features)


def lookup_online(
    store: FeatureStore,
    name: str,
    keys: pd.DataFrame | Mapping[str, Any],
    key_columns: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Latest features of table ``name`` for each row of ``keys`` and which rows were found.

    ``keys`` is a DataFrame (the result keeps its index) or a mapping of column -> values
    (arrays or lists; no frame is built for the request). ``key_columns`` names the columns
    of ``keys`` matching the table's primary keys (default: the primary key names).
    """
    n = online_rows.key_rows(keys)
    rows = _rows(store, name, keys, None if key_columns is None else list(key_columns))
    index = keys.index if isinstance(keys, pd.DataFrame) else pd.RangeIndex(n)
    return _frame(rows.names, rows.columns, index), rows.matched


def _lookup_frame(
    store: FeatureStore, request: pd.DataFrame, lookup: ResolvedLookup
) -> pd.DataFrame:
    rows = _rows(store, lookup.table_name, request, lookup.lookup_keys, list(lookup.features))
    names = tuple(lookup.features[f] for f in rows.names)
    matched = rows.matched
    if matched.all():
        return _frame(names, rows.columns, request.index)
    without = [f for f in lookup.features if f not in lookup.default_values]
    if without:
        row = int(np.flatnonzero(~matched)[0])
        key = {k: request[k].iloc[row] for k in lookup.lookup_keys}
        raise MissingFeatureKeyError(
            f"{lookup.lookup_keys[0]}: no row of feature table {lookup.table_name!r} for key "
            f"{key} and features {without} have no default; send a known key"
        )
    columns = []
    for feature, column in zip(rows.names, rows.columns, strict=True):
        value = lookup.default_values[feature]
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        floats = isinstance(column, np.ndarray) and column.dtype.kind == "f"
        filled = np.array(column, dtype=np.float64 if numeric and floats else object)
        filled[~matched] = value
        columns.append(filled)
    return _frame(names, columns, request.index)


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
