"""What a trial notebook shows of a training set: the lookups to rebuild it at their versions.

``notebook_templates/feature_lookups.py.j2`` renders it as a cell that reads the label rows
logged with the spec and calls ``create_training_set`` with every ``FeatureLookup`` pinned to
the table version the search joined, so the notebook runs the point-in-time join itself.
"""

from __future__ import annotations

import functools
from typing import Any

from automl.features.constants import LABELS_ARTIFACT
from automl.features.lineage import run_feature_spec, spec_run_id
from automl.features.serving import client_for, store_for


@functools.lru_cache(maxsize=16)
def _context(tracking_uri: str, carrier: str) -> dict[str, Any] | None:
    store = store_for(tracking_uri)
    spec = run_feature_spec(store, carrier)
    if spec is None:
        return None
    names = {a.path for a in store.client.list_artifacts(carrier)}
    if LABELS_ARTIFACT not in names:  # label rows not storable: the notebook uses the snapshot
        return None
    lookups = [
        {
            "table_name": lookup.table_name,
            "lookup_key": list(lookup.lookup_keys),
            "timestamp_lookup_key": lookup.timestamp_lookup_key,
            "feature_names": list(lookup.features),
            "rename_outputs": {f: o for f, o in lookup.features.items() if f != o},
            "default_values": dict(lookup.default_values),
            "version": lookup.table_version,
        }
        for lookup in spec.lookups
    ]
    return {
        "tables": ", ".join(f"{lk.table_name} v{lk.table_version}" for lk in spec.lookups),
        "lookups": lookups,
        "label": spec.label,
        "exclude_columns": list(spec.exclude_columns),
        "outputs": spec.output_columns,
        "labels_path": store.client.download_artifacts(carrier, LABELS_ARTIFACT),
    }


def trial_notebook_context(tracking_uri: str, run_id: str) -> dict[str, Any] | None:
    """The template context of the feature-lookup cells for trial run ``run_id``, or None when
    its search did not train on a training set."""
    carrier = spec_run_id(client_for(tracking_uri), run_id)
    return None if carrier is None else _context(tracking_uri, carrier)
