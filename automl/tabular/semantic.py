"""Detect each column's semantic type: what it means, not how it is stored."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from automl.tabular.data import alert

KINDS = ("numeric", "categorical", "high_cardinality", "boolean", "datetime", "text")
HIGH_CARDINALITY = 50
LOW_CARDINALITY_NUMBER = 5
TEXT_MIN_WORDS = 3.0
SAMPLE_ROWS = 5000
BOOLEAN_PAIRS = (
    frozenset({"true", "false"}),
    frozenset({"yes", "no"}),
    frozenset({"y", "n"}),
    frozenset({"t", "f"}),
    frozenset({"1", "0"}),
)
_DATE_HINT = re.compile(r"\d{1,4}[-/.:]\d{1,2}")
_ID_NAME = re.compile(r"(^|[_\s])(id|uuid|guid|key)$|^rownames$|^unnamed: ?0$", re.IGNORECASE)


def _is_string_like(series: pd.Series) -> bool:
    return (
        pd.api.types.is_object_dtype(series)
        or pd.api.types.is_string_dtype(series)
        or isinstance(series.dtype, pd.CategoricalDtype)
    )


def _sample(values: pd.Series, seed: int = 0) -> pd.Series:
    if len(values) <= SAMPLE_ROWS:
        return values
    return values.sample(SAMPLE_ROWS, random_state=seed)


def boolean_key(value: Any) -> str:
    """Lower-case text form of a value, used to recognise yes/no-like pairs."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, float, np.integer, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip().lower()


def _looks_boolean(values: pd.Series) -> bool:
    keys = frozenset(boolean_key(v) for v in values.unique())
    return len(keys) == 2 and any(keys == pair for pair in BOOLEAN_PAIRS)


def _looks_datetime(values: pd.Series) -> bool:
    sample = _sample(values).astype("str")
    if not sample.str.contains(_DATE_HINT).mean() >= 0.9:
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed", utc=True)
    return bool(parsed.notna().mean() >= 0.9)


def _looks_numeric_text(values: pd.Series) -> bool:
    converted = pd.to_numeric(_sample(values).astype("str").str.strip(), errors="coerce")
    return bool(converted.notna().mean() >= 0.98)


def _mean_words(values: pd.Series) -> float:
    return float(_sample(values).astype("str").str.split().str.len().mean())


def _is_integer_valued(values: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(values):
        return True
    array = values.to_numpy(dtype="float64")
    return bool(np.all(np.isfinite(array)) and np.all(array == np.round(array)))


def _numeric_id_like(name: str, values: pd.Series, n_rows: int) -> bool:
    if not _is_integer_valued(values) or values.nunique() < max(n_rows * 0.99, 20):
        return False
    if _ID_NAME.search(str(name)):
        return True
    array = values.to_numpy(dtype="float64")
    consecutive = array.max() - array.min() + 1 == len(np.unique(array))
    return bool(consecutive or values.is_monotonic_increasing or values.is_monotonic_decreasing)


def detect_column(name: str, series: pd.Series) -> tuple[str, str | None]:
    """Return ``(semantic type, reason)`` for one column; type ``"dropped"`` carries a reason."""
    values = series.dropna()
    n_rows = len(series)
    if len(values) == 0:
        return "dropped", "all values missing"
    nunique = values.nunique()
    if nunique <= 1:
        return "dropped", "constant"
    if pd.api.types.is_bool_dtype(series):
        return "boolean", None
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime", None
    if pd.api.types.is_timedelta64_dtype(series):
        return "numeric", None
    if isinstance(series.dtype, pd.CategoricalDtype):
        if _looks_boolean(values):
            return "boolean", None
        return ("high_cardinality" if nunique > HIGH_CARDINALITY else "categorical"), None
    if pd.api.types.is_numeric_dtype(series):
        if nunique == 2 and _looks_boolean(values):
            return "boolean", None
        if _numeric_id_like(name, values, n_rows):
            return "dropped", "id-like (a distinct integer per row)"
        if nunique <= LOW_CARDINALITY_NUMBER and _is_integer_valued(values):
            return "categorical", None
        return "numeric", None
    if _is_string_like(series):
        values = values.astype("str")
        if _looks_boolean(values):
            return "boolean", None
        if _looks_numeric_text(values):
            return "numeric", None
        if _looks_datetime(values):
            return "datetime", None
        unique_ratio = nunique / max(len(values), 1)
        words = _mean_words(values)
        if nunique > HIGH_CARDINALITY and words >= TEXT_MIN_WORDS:
            return "text", None
        if unique_ratio >= 0.95 and len(values) >= 20:
            return "dropped", "id-like (a distinct value per row)"
        return ("high_cardinality" if nunique > HIGH_CARDINALITY else "categorical"), None
    return "dropped", f"unsupported dtype {series.dtype}"


def _storage_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    return "categorical"


def detect_semantic_types(
    df: pd.DataFrame,
    target_col: str,
    exclude_cols: Iterable[str] = (),
    reserved_cols: Iterable[str] = (),
) -> tuple[dict[str, list[str]], dict[str, str], dict[str, str], list[dict]]:
    """Classify every feature column.

    Returns ``(feature_columns, dropped_columns, semantic_type_conversions, alerts)``:
    ``feature_columns`` maps each kind in :data:`KINDS` to its columns (dataset order),
    ``dropped_columns`` maps a column to why it is not used, conversions list columns whose
    meaning differs from their storage type (e.g. a string column of dates).
    """
    excluded = set(exclude_cols)
    reserved = set(reserved_cols)
    features: dict[str, list[str]] = {kind: [] for kind in KINDS}
    dropped: dict[str, str] = {}
    conversions: dict[str, str] = {}
    alerts: list[dict] = []
    for column in df.columns:
        if column == target_col or column in reserved:
            continue
        if column in excluded:
            dropped[column] = "excluded by exclude_cols"
            continue
        kind, reason = detect_column(column, df[column])
        if kind == "dropped":
            dropped[column] = reason or "unusable"
            alerts.append(alert("dropped_column", f"column {column!r} dropped: {reason}", column))
            continue
        features[kind].append(column)
        storage = _storage_kind(df[column])
        if kind != storage and not (kind == "high_cardinality" and storage == "categorical"):
            conversions[column] = kind
    return features, dropped, conversions, alerts
