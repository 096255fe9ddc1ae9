"""Feature tables: versioned, point-in-time correct training sets, online lookups and lineage.

Databricks' ``FeatureEngineeringClient`` vocabulary on the tracking store's database::

    from automl import features
    features.create_table("user_stats", primary_keys="user_id", df=stats, timestamp_keys="ts")
    ts = features.create_training_set(
        labels, [features.FeatureLookup("user_stats", "user_id", timestamp_lookup_key="ts")],
        label="churned",
    )
    df = ts.load_df()
    # a model trained on df, once loaded, takes keys + request-time columns:
    automl.load_model("models:/churn@champion").predict(pd.DataFrame({"user_id": [7, 9]}))

Module-level functions use ``FeatureStore()`` on the current tracking URI; pass ``store=`` or
use a ``FeatureStore(tracking_uri)`` for another database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import pandas as pd

from automl.features.entities import (
    FeatureLookup,
    FeatureSpec,
    FeatureTable,
    FeatureTableVersion,
    MissingKeyAlert,
    ResolvedLookup,
)
from automl.features.lineage import (
    RunLineage,
    TableUse,
    log_feature_spec,
    log_training_set,
    model_version_features,
    run_feature_spec,
    run_lineage,
    table_lineage,
)
from automl.features.online import MissingFeatureKeyError, add_online_features, lookup_online
from automl.features.serving import complete_input, model_feature_spec, score_batch
from automl.features.store import FeatureStore
from automl.features.training_set import TrainingSet, create_training_set, training_set_to_frame
from tracking.models import register_input_resolver

# A loaded model trained on a training set takes keys + request-time columns and looks the rest
# up itself: tracking's Predictor asks this resolver when a frame lacks the model's columns.
register_input_resolver(complete_input)


def create_table(
    name: str,
    primary_keys: str | Sequence[str],
    df: pd.DataFrame,
    timestamp_keys: str | Sequence[str] | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> FeatureTable:
    """Create a feature table from ``df`` in the current tracking store (version 1)."""
    return FeatureStore().create_table(name, primary_keys, df, timestamp_keys, description, tags)


def write_table(name: str, df: pd.DataFrame, mode: str = "merge") -> FeatureTableVersion:
    """Write a new version: ``merge`` upserts by key, ``overwrite`` replaces every row."""
    return FeatureStore().write_table(name, df, mode)


def read_table(name: str, as_of: int | datetime | None = None) -> pd.DataFrame:
    """Rows of a table at a version number or time (None: current)."""
    return FeatureStore().read_table(name, as_of)


def get_table(name: str) -> FeatureTable:
    """Keys, features, current version and tags of a table."""
    return FeatureStore().get_table(name)


def list_tables() -> list[FeatureTable]:
    """Every feature table."""
    return FeatureStore().list_tables()


def drop_table(name: str) -> None:
    """Delete a table with all its versions."""
    FeatureStore().drop_table(name)


def set_table_tag(name: str, key: str, value: str) -> None:
    """Tag a table."""
    FeatureStore().set_table_tag(name, key, value)


def delete_table_tag(name: str, key: str) -> None:
    """Remove a table tag."""
    FeatureStore().delete_table_tag(name, key)


__all__ = [
    "FeatureLookup",
    "FeatureSpec",
    "FeatureStore",
    "FeatureTable",
    "FeatureTableVersion",
    "MissingFeatureKeyError",
    "MissingKeyAlert",
    "ResolvedLookup",
    "RunLineage",
    "TableUse",
    "TrainingSet",
    "add_online_features",
    "create_table",
    "create_training_set",
    "delete_table_tag",
    "drop_table",
    "get_table",
    "list_tables",
    "log_feature_spec",
    "log_training_set",
    "lookup_online",
    "model_feature_spec",
    "model_version_features",
    "read_table",
    "run_feature_spec",
    "run_lineage",
    "score_batch",
    "set_table_tag",
    "table_lineage",
    "training_set_to_frame",
    "write_table",
]
