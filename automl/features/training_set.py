"""Training sets: label rows joined point-in-time with feature lookups (``create_training_set``)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from automl.features import validation
from automl.features.entities import FeatureLookup, FeatureSpec, MissingKeyAlert, ResolvedLookup
from automl.features.join import latest_per_key, point_in_time_join
from automl.features.store import FeatureStore
from tracking import InvalidInputError


def resolve_lookup(
    store: FeatureStore, lookup: FeatureLookup, index: int, label_columns: Sequence[str]
) -> ResolvedLookup:
    """Check ``lookup`` against its table and the label columns, fixing the table version."""
    where = f"feature_lookups[{index}]"
    if not isinstance(lookup, FeatureLookup):
        raise InvalidInputError(f"{where}: expected a FeatureLookup, got {type(lookup).__name__}")
    table = store.get_table(lookup.table_name)
    version = store.resolve_version(table.name, lookup.version)
    keys = validation.column_list(lookup.lookup_key, f"{where}.lookup_key")
    if len(keys) != len(table.primary_keys):
        raise InvalidInputError(
            f"{where}.lookup_key: {keys} has {len(keys)} column(s); table {table.name!r} is keyed "
            f"by {list(table.primary_keys)}, give one label column per key, in that order"
        )
    missing = [k for k in keys if k not in label_columns]
    if missing:
        raise InvalidInputError(
            f"{where}.lookup_key: column(s) {missing} not in the label DataFrame"
        )
    stamp = lookup.timestamp_lookup_key
    if stamp is not None:
        if stamp not in label_columns:
            raise InvalidInputError(
                f"{where}.timestamp_lookup_key: {stamp!r} not in the label DataFrame"
            )
        if not table.timestamp_keys:
            raise InvalidInputError(
                f"{where}.timestamp_lookup_key: table {table.name!r} has no timestamp key; drop it"
            )
    names = lookup.feature_names if lookup.feature_names is not None else list(table.features)
    names = validation.column_list(names, f"{where}.feature_names")
    unknown = [n for n in names if n not in table.features]
    if unknown:
        raise InvalidInputError(
            f"{where}.feature_names: {unknown} are not features of {table.name!r} "
            f"(it has {list(table.features)})"
        )
    renames = dict(lookup.rename_outputs or {})
    stray = [n for n in renames if n not in names]
    if stray:
        raise InvalidInputError(f"{where}.rename_outputs: {stray} are not looked-up features")
    defaults = dict(lookup.default_values or {})
    stray = [n for n in defaults if n not in names]
    if stray:
        raise InvalidInputError(f"{where}.default_values: {stray} are not looked-up features")
    return ResolvedLookup(
        table_name=table.name,
        table_version=version,
        lookup_keys=keys,
        timestamp_lookup_key=stamp,
        features={n: renames.get(n, n) for n in names},
        default_values=defaults,
    )


def check_outputs(lookups: Sequence[ResolvedLookup], label_columns: Sequence[str]) -> None:
    """Refuse two lookups (or a lookup and a label column) producing the same column."""
    seen: dict[str, str] = {c: "the label DataFrame" for c in label_columns}
    for i, lookup in enumerate(lookups):
        for out in lookup.features.values():
            if out in seen:
                raise InvalidInputError(
                    f"feature_lookups[{i}]: output column {out!r} already comes from {seen[out]}; "
                    "name it apart with rename_outputs"
                )
            seen[out] = f"feature_lookups[{i}] ({lookup.table_name})"


def join_lookup(
    store: FeatureStore, labels: pd.DataFrame, lookup: ResolvedLookup
) -> tuple[pd.DataFrame, MissingKeyAlert | None]:
    """The lookup's output columns for ``labels`` (defaults filled) and its missing-key alert."""
    table = store.get_table(lookup.table_name)
    features = store.read_table(table.name, as_of=lookup.table_version)
    for label_key, key in zip(lookup.lookup_keys, table.primary_keys, strict=True):
        table_kind = "int" if features[key].dtype.kind in "iu" else "str"
        series = labels[label_key]
        if series.isna().all():
            continue
        label_kind = "int" if series.dtype.kind in "iuf" else "str"
        if label_kind != table_kind:
            raise InvalidInputError(
                f"lookup_key: label column {label_key!r} ({series.dtype}) cannot match key "
                f"{key!r} of {table.name!r} ({features[key].dtype}); cast it"
            )
    table_stamp = table.timestamp_keys[0] if table.timestamp_keys else None
    label_stamp = lookup.timestamp_lookup_key
    if table_stamp is not None and label_stamp is None:
        features = latest_per_key(features, table.primary_keys, table_stamp)
    left = labels
    if label_stamp is not None:
        left = labels.copy()
        left[label_stamp] = validation.timestamp_ns(labels[label_stamp], "timestamp_lookup_key")
    result = point_in_time_join(
        left,
        lookup.lookup_keys,
        label_stamp,
        features,
        table.primary_keys,
        table_stamp if label_stamp else None,
        lookup.features,
    )
    values = result.values
    missing = int((~result.matched).sum())
    if missing:
        for feature, value in lookup.default_values.items():
            out = lookup.features[feature]
            column = values[out]
            if column.dtype.kind == "M" or not isinstance(value, int | float):
                column = column.astype(object)
            values[out] = column.where(result.matched, value)
    alert = (
        MissingKeyAlert(table.name, lookup.lookup_keys, missing, len(labels)) if missing else None
    )
    return values, alert


@dataclass(eq=False, repr=False)
class TrainingSet:
    """Label rows plus the feature lookups to join onto them; ``load_df()`` does the join.

    ``alerts`` lists the lookups whose keys found no row, once ``load_df()`` has run.
    """

    store: FeatureStore
    df: pd.DataFrame
    lookups: list[ResolvedLookup]
    label: str | None
    exclude_columns: list[str]
    alerts: list[MissingKeyAlert] = field(default_factory=list, init=False)
    _loaded: pd.DataFrame | None = field(default=None, init=False)

    @property
    def feature_spec(self) -> FeatureSpec:
        """The record of this set: tables at fixed versions, keys, features, label."""
        return FeatureSpec(
            self.lookups, self.label, self.exclude_columns, self.store.tracking_uri, self.df
        )

    def load_df(self) -> pd.DataFrame:
        """Label rows with every lookup's features (computed once), excluded columns dropped."""
        if self._loaded is None:
            parts = [self.df]
            alerts = []
            for lookup in self.lookups:
                values, alert = join_lookup(self.store, self.df, lookup)
                parts.append(values)
                if alert is not None:
                    alerts.append(alert)
                    warnings.warn(str(alert), stacklevel=2)
            joined = pd.concat(parts, axis=1)
            self.alerts = alerts
            self._loaded = joined.drop(columns=self.exclude_columns)
        return self._loaded.copy()

    def __repr__(self) -> str:
        tables = [f"{lookup.table_name}@v{lookup.table_version}" for lookup in self.lookups]
        return f"TrainingSet(rows={len(self.df)}, label={self.label!r}, lookups={tables})"


def create_training_set(
    df: pd.DataFrame,
    feature_lookups: Sequence[FeatureLookup],
    label: str | None,
    exclude_columns: Sequence[str] | None = None,
    store: FeatureStore | None = None,
) -> TrainingSet:
    """Plan the point-in-time join of ``df`` with ``feature_lookups`` (checked now, run lazily).

    Each lookup's table version is fixed here, so ``load_df()`` rebuilds the same rows later.
    """
    df = validation.frame(df)
    store = store or FeatureStore()
    if isinstance(feature_lookups, FeatureLookup):
        feature_lookups = [feature_lookups]
    lookups = [
        resolve_lookup(store, lk, i, list(df.columns)) for i, lk in enumerate(feature_lookups)
    ]
    check_outputs(lookups, list(df.columns))
    if label is not None and label not in df.columns:
        raise InvalidInputError(f"label: column {label!r} not in the label DataFrame")
    excluded = validation.column_list(exclude_columns, "exclude_columns")
    outputs = set(df.columns) | {o for lk in lookups for o in lk.features.values()}
    stray = [c for c in excluded if c not in outputs]
    if stray:
        raise InvalidInputError(f"exclude_columns: {stray} are neither label nor feature columns")
    if label in excluded:
        raise InvalidInputError(f"exclude_columns: {label!r} is the label; it cannot be excluded")
    return TrainingSet(store, df.reset_index(drop=True), lookups, label, excluded)


def training_set_to_frame(training_set: TrainingSet) -> tuple[pd.DataFrame, FeatureSpec]:
    """The joined DataFrame and the spec to record with the run (what AutoML needs)."""
    if not isinstance(training_set, TrainingSet):
        raise InvalidInputError(
            f"training_set: expected a TrainingSet, got {type(training_set).__name__}"
        )
    return training_set.load_df(), training_set.feature_spec


def spec_for(training_set: Any) -> FeatureSpec | None:
    """The spec of a TrainingSet, None for anything else (a DataFrame, a path)."""
    return training_set.feature_spec if isinstance(training_set, TrainingSet) else None
