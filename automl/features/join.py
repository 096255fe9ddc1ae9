"""Point-in-time join of label rows with one feature table, on DuckDB's ASOF JOIN.

Measured on 1M label rows x 10M feature rows (2 shared cores): DuckDB 7.6-15 s, a hand-written
numpy searchsorted join 19.6 s, pandas ``merge_asof`` 26 s; hence DuckDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

_ROW = "__automl_row"
_HIT = "__automl_hit"


@dataclass(frozen=True)
class JoinResult:
    """Output columns aligned with the label rows, and which rows found a feature row."""

    values: pd.DataFrame
    matched: np.ndarray


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def latest_per_key(features: pd.DataFrame, keys: Sequence[str], timestamp: str) -> pd.DataFrame:
    """The newest row of each key (what a lookup without a timestamp sees)."""
    return features.sort_values(timestamp, kind="stable").drop_duplicates(list(keys), keep="last")


def point_in_time_join(
    labels: pd.DataFrame,
    label_keys: Sequence[str],
    label_timestamp: str | None,
    features: pd.DataFrame,
    feature_keys: Sequence[str],
    feature_timestamp: str | None,
    columns: dict[str, str],
) -> JoinResult:
    """For each label row, the feature row with equal keys and the latest timestamp <= the label's.

    ``columns`` maps feature column -> output name. Without ``label_timestamp`` the join is on
    keys only (``features`` must then hold one row per key). Label order is kept.
    """
    left = pd.DataFrame({f"k{i}": labels[k].to_numpy() for i, k in enumerate(label_keys)})
    right = pd.DataFrame({f"k{i}": features[k].to_numpy() for i, k in enumerate(feature_keys)})
    for i, _ in enumerate(label_keys):
        if left[f"k{i}"].dtype != right[f"k{i}"].dtype and right[f"k{i}"].dtype.kind in "iu":
            left[f"k{i}"] = left[f"k{i}"].astype("float64")  # nullable label keys
            right[f"k{i}"] = right[f"k{i}"].astype("float64")
    left[_ROW] = np.arange(len(labels), dtype=np.int64)
    for i, (feature, _) in enumerate(columns.items()):
        right[f"f{i}"] = features[feature].to_numpy()
    right[_HIT] = True
    on = " AND ".join(f"l.k{i} = r.k{i}" for i in range(len(label_keys)))
    join = "LEFT JOIN"
    if label_timestamp is not None and feature_timestamp is not None:
        left["ts"] = labels[label_timestamp].to_numpy()
        right["ts"] = features[feature_timestamp].to_numpy()
        join = "ASOF LEFT JOIN"
        on += " AND l.ts >= r.ts"
    outputs = ", ".join(f"r.f{i}" for i in range(len(columns)))
    sql = (
        f"SELECT l.{_ROW}, r.{_HIT}{', ' + outputs if outputs else ''} "
        f"FROM l {join} r ON {on} ORDER BY l.{_ROW}"
    )
    con = duckdb.connect()
    try:
        con.register("l", left)
        con.register("r", right)
        result = con.execute(sql).df()
    finally:
        con.close()
    matched = result[_HIT].fillna(False).to_numpy(dtype=bool)
    values = pd.DataFrame(
        {out: result[f"f{i}"].to_numpy() for i, out in enumerate(columns.values())},
        index=labels.index,
    )
    for feature, out in columns.items():
        dtype = features[feature].dtype
        if dtype.kind in "iub" and matched.all():
            values[out] = values[out].astype(dtype)
        elif dtype.kind == "M":
            values[out] = pd.to_datetime(values[out])
    return JoinResult(values, matched)
