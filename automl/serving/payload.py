"""Request bodies -> pandas DataFrame, as MLflow's scoring server reads them, plus the schema check.

JSON bodies carry exactly one of ``dataframe_split``, ``dataframe_records``, ``instances`` or
``inputs`` (and optionally ``params``); ``text/csv`` bodies are a header row and data rows. The
frame is then checked against the model's logged input schema: missing columns, values of the
wrong type and empty payloads are refused with a message naming the column.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl.serving import constants as C


class ServingError(Exception):
    """An error answered to the client as MLflow's ``{"error_code", "message"}`` JSON."""

    def __init__(self, message: str, status: int = 400, error_code: str = C.BAD_REQUEST) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code

    def to_json(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}


@dataclass(frozen=True)
class ColumnSpec:
    """One input column of a model's logged schema."""

    name: str
    dtype: str  # pandas dtype name as logged, or "unknown"


@dataclass
class ParsedRequest:
    """The input rows of one request and its ``params``."""

    frame: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)


def schema_from_metadata(metadata: dict[str, Any]) -> list[ColumnSpec] | None:
    """The input schema recorded in a model's ``MLmodel.json`` (None when it has none)."""
    schema = metadata.get("input_schema")
    if not schema:
        return None
    return [ColumnSpec(str(c["name"]), str(c.get("dtype", "unknown"))) for c in schema]


def check_content_type(content_type: str | None) -> str:
    """The MIME type, after MLflow's checks: UTF-8 only, no other parameters (else 415)."""
    if not content_type:
        raise ServingError(
            f"missing Content-Type header; use one of {list(C.CONTENT_TYPES)}", status=415
        )
    parts = [p.strip() for p in content_type.split(";")]
    mime = parts[0].lower()
    params = dict(p.partition("=")[::2] for p in parts[1:] if p)
    charset = params.pop("charset", "utf-8").strip('"').lower()
    if charset not in ("utf-8", "utf8"):
        raise ServingError(
            f"charset {charset!r} is not supported: the scoring server only supports UTF-8",
            status=415,
        )
    if params:
        raise ServingError(
            f"unrecognized content type parameter(s) {sorted(params)}; only charset is allowed",
            status=415,
        )
    if mime not in C.CONTENT_TYPES:
        raise ServingError(
            f"content type {content_type!r} is not supported; use one of {list(C.CONTENT_TYPES)}",
            status=415,
        )
    return mime


def parse_body(body: bytes, mime: str, schema: list[ColumnSpec] | None) -> ParsedRequest:
    """Decode a JSON or CSV body into its rows and params (no schema check yet)."""
    if mime == C.CONTENT_TYPE_CSV:
        try:
            return ParsedRequest(pd.read_csv(io.BytesIO(body), encoding="utf-8"))
        except pd.errors.EmptyDataError:
            raise ServingError(
                "empty CSV payload: send a header row and at least one row"
            ) from None
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise ServingError(
                "failed to parse input as CSV; send a header row of column names and data rows "
                f"as written by pandas.DataFrame.to_csv(index=False). Error: {exc}"
            ) from None
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ServingError(f"the body is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ServingError(
            f"the JSON body must be an object with one of the keys {list(C.INPUT_FORMATS)}, "
            f"got a {type(document).__name__}"
        )
    formats = [k for k in C.INPUT_FORMATS if k in document]
    if len(formats) != 1:
        raise ServingError(
            f"the JSON body must have exactly one of the keys {list(C.INPUT_FORMATS)} "
            f"(and optionally {C.PARAMS_KEY!r}); got keys {sorted(document)}"
        )
    params = document.get(C.PARAMS_KEY) or {}
    if not isinstance(params, dict):
        raise ServingError(f"{C.PARAMS_KEY!r} must be an object, got {type(params).__name__}")
    unknown = sorted(set(params) - set(C.KNOWN_PARAMS))
    if unknown:
        raise ServingError(f"unknown param(s) {unknown}; supported: {list(C.KNOWN_PARAMS)}")
    return ParsedRequest(_frame(formats[0], document[formats[0]], schema), params)


def _frame(fmt: str, data: Any, schema: list[ColumnSpec] | None) -> pd.DataFrame:
    try:
        if fmt == C.DF_SPLIT:
            if not isinstance(data, dict) or "data" not in data:
                raise ServingError(
                    f"{C.DF_SPLIT} must be an object with 'columns' and 'data' (pandas "
                    "orient='split')"
                )
            columns = data.get("columns")
            if columns is None:
                columns = _schema_names(schema, data["data"], fmt)
            return pd.DataFrame(data["data"], columns=columns, index=data.get("index"))
        if fmt == C.DF_RECORDS:
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise ServingError(f"{C.DF_RECORDS} must be a list of objects (one per row)")
            return pd.DataFrame.from_records(data)
        # instances / inputs: records, columns (dict of lists) or rows of values.
        if isinstance(data, dict):
            if all(isinstance(v, list) for v in data.values()):
                return pd.DataFrame(data)
            return pd.DataFrame([data])
        if isinstance(data, list) and all(isinstance(r, dict) for r in data):
            return pd.DataFrame.from_records(data)
        if isinstance(data, list) and all(isinstance(r, list) for r in data):
            return pd.DataFrame(data, columns=_schema_names(schema, data, fmt))
        raise ServingError(
            f"{fmt} must be a list of records, an object of column lists or a list of rows"
        )
    except ServingError:
        raise
    except (ValueError, TypeError) as exc:
        raise ServingError(f"{fmt} is not a valid table: {exc}") from None


def _schema_names(schema: list[ColumnSpec] | None, rows: Any, fmt: str) -> list[str]:
    if schema is None:
        raise ServingError(f"{fmt}: rows without column names need a model with a logged schema")
    width = len(rows[0]) if rows else len(schema)
    if width != len(schema):
        raise ServingError(
            f"{fmt}: rows have {width} values but the model expects {len(schema)} columns "
            f"{[c.name for c in schema]}"
        )
    return [c.name for c in schema]


def check_schema(frame: pd.DataFrame, schema: list[ColumnSpec] | None) -> pd.DataFrame:
    """Rows in the schema's column order and types; 400 naming the column when they cannot be."""
    if len(frame) == 0:
        raise ServingError("empty payload: the request holds no rows to predict")
    if schema is None:
        return frame
    frame.columns = [str(c) for c in frame.columns]
    missing = [c.name for c in schema if c.name not in frame.columns]
    if missing:
        raise ServingError(
            f"missing column(s) {missing}; the model expects {[c.name for c in schema]}"
        )
    out = {}
    for spec in schema:
        out[spec.name] = _coerce(frame[spec.name], spec)
    return pd.DataFrame(out, index=frame.index)


def _coerce(values: pd.Series, spec: ColumnSpec) -> pd.Series:
    kind = spec.dtype.lower()
    if kind.startswith(("int", "uint", "float")):
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            return values
        converted = pd.to_numeric(values, errors="coerce")
        _refuse(values, converted.isna() & values.notna(), spec, f"numbers ({spec.dtype})", True)
        return converted.astype("float64")
    if kind == "bool" or kind == "boolean":
        if pd.api.types.is_bool_dtype(values):
            return values
        _refuse(values, ~values.isin([True, False, 0, 1]) & values.notna(), spec, "booleans")
        return values
    if kind.startswith("datetime"):
        converted = pd.to_datetime(values, errors="coerce")
        _refuse(values, converted.isna() & values.notna(), spec, f"dates/times ({spec.dtype})")
        return converted
    return values


def _refuse(
    values: pd.Series, bad: pd.Series, spec: ColumnSpec, expects: str, row: bool = False
) -> None:
    """A ``ServingError`` naming the column, what it expects and the first bad value."""
    if bad.any():
        where = f" in row {int(np.flatnonzero(bad.to_numpy())[0])}" if row else ""
        raise ServingError(
            f"column {spec.name!r} expects {expects}, got {values[bad].iloc[0]!r}{where}"
        )
