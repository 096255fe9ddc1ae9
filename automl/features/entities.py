"""Typed records of the feature store: tables, versions, lookups, alerts and the feature spec."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from tracking import InvalidInputError


@dataclass(frozen=True)
class FeatureTable:
    """A feature table: keys, timestamp key, columns with their dtypes, current version."""

    name: str
    primary_keys: tuple[str, ...]
    timestamp_keys: tuple[str, ...]
    features: dict[str, str]  # feature column -> pandas dtype name
    description: str | None
    version: int
    creation_time: int
    last_updated_time: int
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def identity(self) -> tuple[str, ...]:
        """Columns that identify a row: primary keys plus the timestamp key."""
        return self.primary_keys + self.timestamp_keys


@dataclass(frozen=True)
class FeatureTableVersion:
    """One write of a table: its number, mode, time and row count."""

    name: str
    version: int
    mode: str
    creation_time: int
    num_rows: int


@dataclass(frozen=True)
class FeatureLookup:
    """How to join one feature table onto label rows (Databricks' ``FeatureLookup``).

    ``lookup_key`` names the label columns matching the table's primary keys, in order.
    ``timestamp_lookup_key`` (label column) makes the join point-in-time. ``feature_names``
    defaults to every feature; ``rename_outputs`` maps feature -> output column;
    ``default_values`` maps feature -> value used when no row matches (else NaN).
    ``version`` pins the table version (None: the current one).
    """

    table_name: str
    lookup_key: str | list[str]
    timestamp_lookup_key: str | None = None
    feature_names: list[str] | None = None
    rename_outputs: dict[str, str] | None = None
    default_values: dict[str, Any] | None = None
    version: int | None = None

    @property
    def lookup_keys(self) -> list[str]:
        """``lookup_key`` as a list."""
        return [self.lookup_key] if isinstance(self.lookup_key, str) else list(self.lookup_key)


@dataclass(frozen=True)
class ResolvedLookup:
    """A lookup fixed to a table version and explicit feature -> output names (the spec's rows)."""

    table_name: str
    table_version: int
    lookup_keys: list[str]
    timestamp_lookup_key: str | None
    features: dict[str, str]  # feature column -> output column
    default_values: dict[str, Any]


@dataclass(frozen=True)
class MissingKeyAlert:
    """Label rows of one lookup that found no feature row (they got the default or NaN)."""

    table_name: str
    lookup_keys: list[str]
    missing_rows: int
    total_rows: int

    def __str__(self) -> str:
        return (
            f"{self.missing_rows} of {self.total_rows} rows found no row of feature table "
            f"{self.table_name!r} for key {self.lookup_keys}; they got the defaults or NaN"
        )


@dataclass(frozen=True)
class FeatureSpec:
    """What a model was trained on: the lookups at fixed versions, the label and dropped columns.

    Stored as JSON with the run and its model, so a loaded or served model can rebuild the
    features from keys and request-time columns, and lineage can find the tables.
    """

    lookups: list[ResolvedLookup]
    label: str | None
    exclude_columns: list[str]
    tracking_uri: str
    # The label rows (keys, timestamps, label, request-time columns) the set joined: logged
    # beside the spec so a trial notebook can rebuild the set. Not part of the JSON or of ==.
    labels: Any = field(default=None, compare=False, repr=False)

    def to_json(self) -> str:
        """JSON text of the spec (without the label rows)."""
        data = {
            "lookups": [asdict(lookup) for lookup in self.lookups],
            "label": self.label,
            "exclude_columns": self.exclude_columns,
            "tracking_uri": self.tracking_uri,
        }
        return json.dumps(data, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        """Parse a spec written by ``to_json``."""
        try:
            data = json.loads(text)
            lookups = [ResolvedLookup(**row) for row in data["lookups"]]
            return cls(lookups, data["label"], list(data["exclude_columns"]), data["tracking_uri"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInputError(f"feature spec: not a valid spec JSON ({exc})") from exc

    @property
    def output_columns(self) -> list[str]:
        """Columns the lookups add."""
        return [out for lookup in self.lookups for out in lookup.features.values()]
