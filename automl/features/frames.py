"""Frame <-> stored bytes and online rows: Parquet chunks, canonical key JSON, value JSON."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from automl.features.constants import CHUNK_ROWS
from tracking import InvalidInputError


def to_chunks(df: pd.DataFrame) -> list[bytes]:
    """``df`` as Parquet blobs of at most ``CHUNK_ROWS`` rows each."""
    blobs = []
    for start in range(0, max(len(df), 1), CHUNK_ROWS):
        table = pa.Table.from_pandas(df.iloc[start : start + CHUNK_ROWS], preserve_index=False)
        buffer = io.BytesIO()
        pq.write_table(table, buffer, compression="zstd")
        blobs.append(buffer.getvalue())
    return blobs


def from_chunks(blobs: Sequence[bytes]) -> pa.Table:
    """Concatenate Parquet blobs into one Arrow table (columns missing in older chunks -> null)."""
    tables = [pq.read_table(io.BytesIO(blob)) for blob in blobs]
    return pa.concat_tables(tables, promote_options="permissive")


def normalize_key(value: object, kind: str, column: str) -> int | str:
    """One key value in its canonical form (``"5"`` -> 5 for an integer key)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        raise InvalidInputError(f"{column}: key value is missing (null); every key needs a value")
    if kind == "int":
        try:
            number = int(value)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{column}: key value {value!r} is not an integer, as this key's column is"
            ) from None
        if isinstance(value, float) and number != value:
            raise InvalidInputError(f"{column}: key value {value!r} is not an integer")
        return number
    return str(value)


def entity_keys(
    df: pd.DataFrame | Mapping[str, pd.Series], keys: Sequence[str], kinds: Sequence[str]
) -> list[str]:
    """Canonical JSON text of each row's key values (the online table's key).

    One integer key column (the common case) is encoded without a ``json.dumps`` per row;
    the text is the same (``[5]``), so writes and lookups always agree.
    """
    if len(keys) == 1 and kinds[0] == "int" and df[keys[0]].dtype.kind in "iu":
        return [f"[{v}]" for v in df[keys[0]].tolist()]
    columns = []
    for column, kind in zip(keys, kinds, strict=True):
        values = df[column].tolist()
        columns.append([normalize_key(v, kind, column) for v in values])
    return [json.dumps(list(row), separators=(",", ":")) for row in zip(*columns, strict=True)]


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)  # str: objects JSON lacks


def _json_values(column: pd.Series) -> list:
    """One column as JSON-ready Python values: floats exact (their shortest repr, so an online
    value equals the offline one), missing as None, datetimes as ISO text."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else ""
    if kind == "f":
        return [None if v != v else v for v in column.tolist()]
    if kind and kind in "iub":
        return column.tolist()
    if kind == "M" or isinstance(column.dtype, pd.DatetimeTZDtype):
        values = column.dt.tz_convert("UTC").dt.tz_localize(None) if column.dt.tz else column
        text = np.datetime_as_string(values.to_numpy(dtype="datetime64[ns]"), unit="ns")
        return [None if t == "NaT" else t for t in text.tolist()]
    if kind == "O" or isinstance(column.dtype, pd.StringDtype):
        missing = column.isna().tolist()
        return [None if m else v for v, m in zip(column.tolist(), missing, strict=True)]
    # other extension dtypes (nullable ints, categories, ...): what pandas writes for them
    return json.loads(column.to_json(orient="values", date_format="iso", date_unit="ns"))


def values_json(df: pd.DataFrame) -> list[str]:
    """Each row of ``df`` as a JSON object (NaN -> null, datetimes as ISO text).

    Encoded with ``json`` rather than ``DataFrame.to_json``, which keeps 10 significant
    digits of a float and would serve values that differ from the training rows.
    """
    names = list(df.columns)
    columns = [_json_values(df[c]) for c in names]
    return [
        _ENCODER.encode(dict(zip(names, row, strict=True))) for row in zip(*columns, strict=True)
    ]


def column_from_json(values: list, dtype: str) -> np.ndarray | pd.Series | list:
    """Decoded online values of one column in the table's dtype (ints with gaps become floats)."""
    kind = dtype[:3]
    if kind in ("int", "uin", "flo"):
        array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        if kind != "flo" and not np.isnan(array).any():
            return array.astype(dtype)
        return array
    if dtype.startswith("datetime64"):
        return pd.to_datetime(values, utc=True).tz_localize(None)
    if dtype == "bool" and None not in values:
        return np.array(values, dtype=bool)
    return values
