"""Checks on table names, key columns and frames, with errors naming the argument and the fix."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from automl.features.constants import MAX_NAME_LENGTH
from tracking import InvalidInputError
from tracking.validation import check_uri_name


def table_name(name: object) -> str:
    """A feature table name, validated like a registered model name."""
    return check_uri_name(name, "feature table", MAX_NAME_LENGTH)


def column_list(value: str | Sequence[str] | None, argument: str) -> list[str]:
    """``"a"`` or ``["a", "b"]`` -> list of column names (None -> [])."""
    if value is None:
        return []
    columns = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(c, str) and c for c in columns):
        raise InvalidInputError(f"{argument}: expected column names, got {value!r}")
    if len(set(columns)) != len(columns):
        raise InvalidInputError(f"{argument}: {value!r} names a column twice")
    return columns


def frame(df: object, argument: str = "df") -> pd.DataFrame:
    """A pandas DataFrame with string column names."""
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"{argument}: expected a pandas DataFrame, got {type(df).__name__}")
    bad = [c for c in df.columns if not isinstance(c, str)]
    if bad:
        raise InvalidInputError(f"{argument}: column names must be strings, got {bad[:5]!r}")
    if df.columns.duplicated().any():
        raise InvalidInputError(
            f"{argument}: duplicate column names {list(df.columns[df.columns.duplicated()])}"
        )
    return df


def columns_present(df: pd.DataFrame, columns: Sequence[str], argument: str) -> None:
    """Raise naming ``argument`` when ``columns`` are not all in ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidInputError(
            f"{argument}: column(s) {missing} not in the DataFrame (it has {list(df.columns)[:20]})"
        )


def key_kind(series: pd.Series, argument: str) -> str:
    """'int' or 'str': the kinds a primary/lookup key may have."""
    if pd.api.types.is_bool_dtype(series.dtype):
        raise InvalidInputError(
            f"{argument}: key column {series.name!r} is boolean; use int or str"
        )
    if pd.api.types.is_integer_dtype(series.dtype):
        return "int"
    if pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        return "str"
    raise InvalidInputError(
        f"{argument}: key column {series.name!r} has dtype {series.dtype}; keys must be integers "
        "or strings (cast it, e.g. df[col].astype('int64'))"
    )


def timestamp_ns(series: pd.Series, argument: str) -> pd.Series:
    """A datetime column as naive UTC ``datetime64[ns]`` (aware values are converted to UTC)."""
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        raise InvalidInputError(
            f"{argument}: timestamp column {series.name!r} has dtype {series.dtype}; convert it "
            "with pd.to_datetime(df[col])"
        )
    if getattr(series.dtype, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series.astype("datetime64[ns]")
