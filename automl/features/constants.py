"""Constants of the feature store: table prefix, schema version, sizes, tag and artifact names."""

from __future__ import annotations

from automl.core import tags

COMPONENT = "features"
SCHEMA_VERSION = 1
TABLE_PREFIX = "features_"
MAX_NAME_LENGTH = 256
# Rows per stored Parquet chunk: bounds the size of one blob (SQLite and PostgreSQL both
# handle blobs of tens of MB well) and the memory of one read step.
CHUNK_ROWS = 1_000_000
# Keys per IN (...) list of an online lookup or online upsert batch.
ONLINE_BATCH = 500
# How a training set is recorded on a run: the spec as a JSON artifact plus a tag.
SPEC_ARTIFACT = "feature_spec.json"
SPEC_TAG = tags.FEATURE_SPEC
# Key of the spec's JSON in a logged model's metadata (MLmodel.json "metadata").
SPEC_METADATA = "feature_spec"
# The training set's label rows, beside the spec (what a trial notebook rebuilds the set from).
LABELS_ARTIFACT = "feature_spec_labels.parquet"
MODE_MERGE = "merge"
MODE_OVERWRITE = "overwrite"
