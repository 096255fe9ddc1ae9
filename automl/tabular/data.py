"""Check a table and the arguments against it before any trial runs (reading it is core.inputs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from automl.core.inputs import alert, load_dataset
from automl.core.spec import AutoMLInputError

__all__ = ["AutoMLInputError", "alert", "load_dataset", "validate_inputs"]

TASKS = ("classification", "regression")
FRAMEWORKS = ("sklearn", "lightgbm")
IMPUTE_STRATEGIES = ("mean", "median", "most_frequent", "constant")
SPLIT_VALUES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validate": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
RESERVED_COLUMNS = ("_automl_split", "_automl_fold")
# Fewer rows than this cannot be split into train, validation and test parts.
MIN_ROWS = 10
# A float target with more distinct values than this is a quantity to regress, not classes.
MAX_FLOAT_CLASSES = 50


def _as_list(value: str | Iterable[str] | None, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise AutoMLInputError(f"{name}: expected a column name or a list of them") from None


def parse_time_column(series: pd.Series) -> pd.Series:
    """Parse a time column to naive UTC timestamps; numbers are kept as an ordering key."""
    if pd.api.types.is_datetime64_any_dtype(series):
        if getattr(series.dt, "tz", None) is not None:
            return series.dt.tz_convert("UTC").dt.tz_localize(None)
        return series
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    text = series.astype("object").where(series.notna(), None)
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
    if parsed.notna().sum() < series.notna().sum():
        parsed = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    return parsed.dt.tz_localize(None)


def normalise_split_values(series: pd.Series, column: str) -> pd.Series:
    """Map a user split column to train/val/test; unknown values raise naming them."""
    keys = series.astype("object").map(lambda v: str(v).strip().lower() if pd.notna(v) else None)
    mapped = keys.map(SPLIT_VALUES)
    bad = sorted({str(v) for v, m in zip(series, mapped, strict=True) if m is None or pd.isna(m)})
    if bad:
        raise AutoMLInputError(
            f"split_col {column!r}: values {bad[:5]} are not train/val/test "
            "(accepted: train, val, validate, validation, test)"
        )
    return mapped


def validate_inputs(
    df: pd.DataFrame,
    *,
    task: str,
    target_col: str,
    primary_metric: str | None = None,
    exclude_cols: str | Iterable[str] | None = None,
    exclude_frameworks: str | Iterable[str] | None = None,
    imputers: Mapping[str, Any] | None = None,
    pos_label: Any = None,
    time_col: str | None = None,
    split_col: str | None = None,
    sample_weight_col: str | None = None,
) -> None:
    """Raise :class:`AutoMLInputError` naming the argument or column for any unusable input.

    Checks the arguments against the data (the budget, names and seed were checked when the
    :class:`~automl.core.spec.SearchSpec` was built). Runs before the plan is made and before
    anything is written to the tracking store.
    """
    from automl.tabular.metrics import METRICS

    if task not in TASKS:
        raise AutoMLInputError(f"task: expected one of {list(TASKS)}, got {task!r}")
    if not isinstance(df, pd.DataFrame):
        raise AutoMLInputError(f"dataset: expected a DataFrame, got {type(df).__name__}")
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise AutoMLInputError("dataset: the frame is empty (no rows or no columns)")
    not_text = [c for c in df.columns if not isinstance(c, str)]
    if not_text:
        raise AutoMLInputError(
            f"dataset: column names must be strings, got {not_text[:5]}; "
            "rename them, e.g. df.columns = df.columns.astype(str)"
        )
    duplicated = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if duplicated:
        raise AutoMLInputError(f"dataset: duplicate column names {duplicated}; rename them")
    reserved = [c for c in RESERVED_COLUMNS if c in df.columns]
    if reserved:
        raise AutoMLInputError(f"dataset: column names {reserved} are reserved; rename them")
    if not isinstance(target_col, str) or target_col not in df.columns:
        raise AutoMLInputError(
            f"target_col: column {target_col!r} is not in the dataset "
            f"(columns: {[str(c) for c in df.columns][:20]})"
        )
    if primary_metric is not None:
        spec = METRICS.get(primary_metric)
        if spec is None:
            raise AutoMLInputError(
                f"primary_metric: unknown metric {primary_metric!r}; for {task} use one of "
                f"{[m for m, s in METRICS.items() if s.task == task]}"
            )
        if spec.task != task:
            raise AutoMLInputError(
                f"primary_metric: {primary_metric!r} is a {spec.task} metric and does not fit "
                f"{task}; use one of {[m for m, s in METRICS.items() if s.task == task]}"
            )

    frameworks = _as_list(exclude_frameworks, "exclude_frameworks")
    unknown = [f for f in frameworks if f not in FRAMEWORKS]
    if unknown:
        raise AutoMLInputError(
            f"exclude_frameworks: unknown frameworks {unknown}; accepted: {list(FRAMEWORKS)}"
        )
    if set(FRAMEWORKS) <= set(frameworks):
        raise AutoMLInputError(
            f"exclude_frameworks: excluding all of {list(FRAMEWORKS)} leaves no model to train"
        )

    excluded = _as_list(exclude_cols, "exclude_cols")
    missing = [c for c in excluded if c not in df.columns]
    if missing:
        raise AutoMLInputError(
            f"exclude_cols: columns {missing} are not in the dataset "
            f"(columns: {[str(c) for c in df.columns][:20]})"
        )
    if target_col in excluded:
        raise AutoMLInputError(
            f"exclude_cols: cannot exclude the target column {target_col!r}; remove it from "
            "exclude_cols (the target is never used as a feature)"
        )

    for name, col in (
        ("time_col", time_col),
        ("split_col", split_col),
        ("sample_weight_col", sample_weight_col),
    ):
        if col is None:
            continue
        if not isinstance(col, str) or col not in df.columns:
            raise AutoMLInputError(
                f"{name}: column {col!r} is not in the dataset "
                f"(columns: {[str(c) for c in df.columns][:20]})"
            )
        if col == target_col:
            raise AutoMLInputError(
                f"{name}: {col!r} is the target column; give another column or {name}=None"
            )
    if time_col is not None and split_col is not None:
        raise AutoMLInputError("time_col and split_col: give at most one way to split the data")

    target = df[target_col]
    known = target.notna()
    if not known.any():
        raise AutoMLInputError(f"target_col {target_col!r}: every value is missing")
    kinds = _value_types(target[known])
    if len(kinds) > 1:
        raise AutoMLInputError(
            f"target_col {target_col!r}: mixes value types {kinds}; convert it to one type "
            f"first, e.g. df[{target_col!r}] = df[{target_col!r}].astype(str)"
        )
    if int(known.sum()) < MIN_ROWS:
        raise AutoMLInputError(
            f"dataset: {int(known.sum())} rows with a known target; at least {MIN_ROWS} are "
            "needed to train, validate and test a model"
        )
    if task == "regression":
        if pd.api.types.is_bool_dtype(target) or not pd.api.types.is_numeric_dtype(target):
            converted = pd.to_numeric(target[known].astype("object"), errors="coerce")
            if pd.api.types.is_bool_dtype(target) or converted.isna().any():
                raise AutoMLInputError(
                    f"target_col {target_col!r}: regression needs a numeric target, got dtype "
                    f"{target.dtype} (e.g. {target[known].iloc[0]!r}); use automl.classify for labels"
                )
        values = pd.to_numeric(target[known].astype("object"), errors="coerce").astype("float64")
        if not np.isfinite(values).all():
            raise AutoMLInputError(f"target_col {target_col!r}: contains infinite values")
        if values.nunique() < 2:
            raise AutoMLInputError(
                f"target_col {target_col!r}: every value is the same; nothing to learn "
                "(check the column, or give rows with other values)"
            )
    else:
        classes = target[known].unique()
        counts = target[known].value_counts()
        if pd.api.types.is_float_dtype(target) and len(classes) > MAX_FLOAT_CLASSES:
            raise AutoMLInputError(
                f"target_col {target_col!r}: {len(classes)} distinct float values look like a "
                "continuous quantity, not classes; use automl.regress, or convert the target to "
                "labels (e.g. bins)"
            )
        if len(classes) >= 2 and counts.min() < 2:
            rare = [str(c) for c in counts[counts < 2].index[:5]]
            raise AutoMLInputError(
                f"target_col {target_col!r}: classes {rare} have a single row; each class needs "
                "at least 2 rows to be learned and scored: drop or merge those rows"
            )
        if len(classes) < 2:
            raise AutoMLInputError(
                f"target_col {target_col!r}: has a single class {str(classes[0])!r}; "
                "classification needs rows of at least two classes"
            )
        if pos_label is not None:
            if len(classes) != 2:
                raise AutoMLInputError(
                    f"pos_label: only for binary classification; target {target_col!r} has "
                    f"{len(classes)} classes"
                )
            if not any(_same_label(pos_label, c) for c in classes):
                raise AutoMLInputError(
                    f"pos_label: {pos_label!r} is not among the classes "
                    f"{sorted(map(str, classes))} of target {target_col!r}"
                )

    if time_col is not None:
        known_time = df[time_col].notna()
        parsed = parse_time_column(df[time_col])
        failed = known_time & parsed.isna()
        if not known_time.any() or failed.any():
            example = df.loc[failed, time_col].iloc[0] if failed.any() else None
            raise AutoMLInputError(
                f"time_col {time_col!r}: values do not parse as dates/times or numbers "
                f"(e.g. {example!r}); give a datetime column"
            )
    if split_col is not None:
        mapped = normalise_split_values(df[split_col], split_col)
        for needed in ("train", "val"):
            if not (mapped == needed).any():
                raise AutoMLInputError(f"split_col {split_col!r}: has no {needed!r} rows")
    if sample_weight_col is not None:
        weights = pd.to_numeric(df[sample_weight_col].astype("object"), errors="coerce")
        if weights.isna().any() or (weights < 0).any() or not (weights > 0).any():
            raise AutoMLInputError(
                f"sample_weight_col {sample_weight_col!r}: weights must be non-negative numbers, "
                "not all zero, with no missing values"
            )

    if imputers is not None:
        validate_imputers(df, imputers, target_col)


def _value_types(values: pd.Series) -> list[str]:
    """Python type names of an object column's values (numbers count as one type)."""
    if values.dtype != object:
        return [str(values.dtype)]
    names = set()
    for value in values:
        if isinstance(value, bool | np.bool_):
            names.add("bool")
        elif isinstance(value, int | float | np.number):
            names.add("number")
        else:
            names.add(type(value).__name__)
    return sorted(names)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def unify_mixed_columns(df: pd.DataFrame, target_col: str) -> tuple[pd.DataFrame, list[dict]]:
    """Object columns holding values of several types (int, str, bytes, tuples) become text,
    with an alert naming each; otherwise the snapshot (Parquet) could not store them."""
    alerts, converted = [], {}
    for column in df.columns:
        if column == target_col or df[column].dtype != object:
            continue
        known = df[column].dropna()
        kinds = _value_types(known)
        if len(kinds) > 1 or (kinds and kinds[0] not in ("str", "number", "bool")):
            converted[column] = df[column].map(lambda v: None if _is_missing(v) else str(v))
            alerts.append(
                alert(
                    "mixed_types",
                    f"column {column!r} mixes value types {kinds}: converted to text",
                    column,
                )
            )
    if converted:
        df = df.assign(**converted)
    return df, alerts


def normalise_imputer(column: str, spec: Any) -> dict[str, Any]:
    """Turn ``"median"`` or ``{"strategy": "constant", "fill_value": 0}`` into the plan's form."""
    if isinstance(spec, str):
        spec = {"strategy": spec}
    if not isinstance(spec, Mapping) or "strategy" not in spec:
        raise AutoMLInputError(
            f"imputers[{column!r}]: expected a strategy name or a dict with 'strategy', got {spec!r}"
        )
    strategy = spec["strategy"]
    if strategy not in IMPUTE_STRATEGIES:
        raise AutoMLInputError(
            f"imputers[{column!r}]: unknown strategy {strategy!r}; use one of {list(IMPUTE_STRATEGIES)}"
        )
    extra = set(spec) - {"strategy", "fill_value"}
    if extra:
        raise AutoMLInputError(f"imputers[{column!r}]: unknown keys {sorted(extra)}")
    if strategy == "constant" and "fill_value" not in spec:
        raise AutoMLInputError(f"imputers[{column!r}]: strategy 'constant' needs a 'fill_value'")
    out: dict[str, Any] = {"strategy": strategy}
    if strategy == "constant":
        value = spec["fill_value"]
        out["fill_value"] = value.item() if isinstance(value, np.generic) else value
    return out


def validate_imputers(df: pd.DataFrame, imputers: Mapping[str, Any], target_col: str) -> None:
    """Check every imputer names a feature column and a strategy that fits its values."""
    if not isinstance(imputers, Mapping):
        raise AutoMLInputError("imputers: expected a dict {column: strategy}")
    for column, spec in imputers.items():
        if column not in df.columns:
            raise AutoMLInputError(f"imputers: column {column!r} is not in the dataset")
        if column == target_col:
            raise AutoMLInputError(
                f"imputers: {column!r} is the target; rows with a missing target are dropped"
            )
        normalised = normalise_imputer(column, spec)
        if normalised["strategy"] in ("mean", "median"):
            values = df[column]
            numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(
                values
            )
            if not numeric:
                converted = pd.to_numeric(values.dropna().astype("object"), errors="coerce")
                numeric = bool(converted.notna().all())
            if not numeric:
                raise AutoMLInputError(
                    f"imputers[{column!r}]: strategy {normalised['strategy']!r} needs a numeric "
                    "column; use 'most_frequent' or 'constant'"
                )


def _same_label(a: Any, b: Any) -> bool:
    try:
        if a == b:
            return True
    except (TypeError, ValueError):
        pass
    return str(a) == str(b)


def drop_missing_target(df: pd.DataFrame, target_col: str) -> tuple[pd.DataFrame, list[dict]]:
    """Drop rows whose target is missing, with an alert saying how many."""
    missing = df[target_col].isna()
    if not missing.any():
        return df, []
    n = int(missing.sum())
    message = f"dropped {n} of {len(df)} rows whose target {target_col!r} is missing"
    return df.loc[~missing].reset_index(drop=True), [alert("missing_target", message, target_col)]
