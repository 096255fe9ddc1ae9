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
from tracking.method_functions import method_functions
from tracking.models import register_input_resolver

# A loaded model trained on a training set takes keys + request-time columns and looks the rest
# up itself: tracking's Predictor asks this resolver when a frame lacks the model's columns.
register_input_resolver(complete_input)


# Each is the ``FeatureStore`` method of the same name, on the current tracking URI's store.
_on_current_store = method_functions(FeatureStore, __name__)

create_table = _on_current_store(FeatureStore.create_table)
write_table = _on_current_store(FeatureStore.write_table)
read_table = _on_current_store(FeatureStore.read_table)
get_table = _on_current_store(FeatureStore.get_table)
list_tables = _on_current_store(FeatureStore.list_tables)
drop_table = _on_current_store(FeatureStore.drop_table)
set_table_tag = _on_current_store(FeatureStore.set_table_tag)
delete_table_tag = _on_current_store(FeatureStore.delete_table_tag)


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
