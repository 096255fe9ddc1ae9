"""What the AutoML search calls for a training set (a no-op for a DataFrame or a path).

``spec_for`` is None for anything but a ``TrainingSet``; ``record_on_run`` writes the spec on
the parent run (artifact, tag, lineage rows), where served and loaded models find it;
``model_metadata`` puts it in each logged model's metadata too, so the model files carry it.
"""

from __future__ import annotations

import sys
from typing import Any

from automl.features.entities import FeatureSpec


def spec_for(dataset: Any) -> FeatureSpec | None:
    """The feature spec of a TrainingSet, None for a DataFrame or a path."""
    module = sys.modules.get("automl.features.training_set")
    if module is None:  # never imported: ``dataset`` cannot be a TrainingSet
        return None
    return module.spec_for(dataset)


def record_on_run(tracking_uri: str, run_id: str, spec: FeatureSpec) -> None:
    """Log ``spec`` on run ``run_id`` of the store at ``tracking_uri``."""
    from automl.features.lineage import log_feature_spec
    from automl.features.store import FeatureStore

    log_feature_spec(FeatureStore(tracking_uri), run_id, spec)


def model_metadata(tracking_uri: str, run_id: str) -> dict[str, str]:
    """``{"feature_spec": JSON}`` for a model logged in run ``run_id`` of a search on a training
    set (the spec of the run or its parent), ``{}`` otherwise."""
    from automl.features.constants import SPEC_METADATA
    from automl.features.serving import run_spec

    spec = run_spec(tracking_uri, run_id)
    return {} if spec is None else {SPEC_METADATA: spec.to_json()}
