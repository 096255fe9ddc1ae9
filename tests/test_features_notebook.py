"""A trial notebook of a search on a training set rebuilds the set from the feature store.

The notebook runs in a real Jupyter kernel: it reads the logged label rows, joins them
point-in-time with every table pinned to the version the search used (the table has a newer
version by then), checks the rebuilt features equal the snapshot's and reproduces the trial's
metrics from them.
"""

from __future__ import annotations

import copy

import nbformat
import numpy as np
import pandas as pd
import pytest
from notebook_fixtures import (
    chain,
    chained_parts,
    execute,
    labelled_metrics,
    set_parameter,
    with_probe,
)
from search_fixtures import small_search, tracking_uri

import automl
import tracking
from automl import features
from automl.features import FeatureLookup, FeatureStore

pytestmark = pytest.mark.slow

SNAPSHOT = "/data/training_data.parquet"  # under the parent run's artifacts


def stdout_of(cells) -> str:
    """What these executed cells printed."""
    return "".join(
        o.get("text", "") for c in cells for o in c.get("outputs", []) if o.get("name") == "stdout"
    )


def test_trial_notebook_rebuilds_the_training_set_at_the_recorded_versions(tmp_path):
    uri = str(tmp_path / "store")
    store = FeatureStore(uri)
    rng = np.random.default_rng(3)
    users = np.arange(30)
    stats = pd.DataFrame(
        {
            "user": np.repeat(users, 4),
            "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.tile([0, 7, 14, 21], 30), "D"),
            "spend": rng.normal(size=120),
        }
    )
    store.create_table("user_stats", "user", stats, timestamp_keys="ts")
    store.create_table("user_info", "user", pd.DataFrame({"user": users, "age": 20 + users}))
    labels = pd.DataFrame(
        {
            "user": rng.choice(users, 150),
            "t": pd.Timestamp("2024-01-03") + pd.to_timedelta(rng.integers(0, 25, 150), "D"),
            "basket": rng.normal(size=150),
        }
    )
    labels["y"] = (labels["basket"] > 0).astype(int)
    training = features.create_training_set(
        labels,
        [
            FeatureLookup("user_stats", "user", "t", rename_outputs={"spend": "recent_spend"}),
            FeatureLookup("user_info", "user", default_values={"age": -1}),
        ],
        label="y",
        exclude_columns=["user", "t"],
        store=store,
    )
    with tracking_uri(uri):
        summary = small_search(automl.classify, training, "y", "features_notebook", max_trials=2)
    # a later write: the notebook must still join version 1 (else the equality check fails)
    store.write_table("user_stats", stats.assign(spend=stats["spend"] + 100.0), mode="overwrite")

    trial = next(t for t in summary.trials if t.notebook_path)
    nb = nbformat.read(trial.notebook_path, as_version=4)
    source = "\n".join(cell.source for cell in nb.cells)
    assert "create_training_set(" in source and "version=1" in source
    assert "rename_outputs={'spend': 'recent_spend'}" in source
    # other data (the snapshot with half the targets flipped) is used as given
    other = pd.read_parquet(trial.notebook_path.rsplit("/notebooks/", 1)[0] + SNAPSHOT)
    other.loc[::2, "y"] = 1 - other.loc[::2, "y"]
    other.to_parquet(tmp_path / "other.parquet", index=False)
    edited = copy.deepcopy(nb)
    set_parameter(edited, "DATA_PATH", str(tmp_path / "other.parquet"))
    out = execute(
        chain(with_probe(nb, "trial"), with_probe(edited, "other")), tmp_path, timeout=600
    )
    first, second = (stdout_of(cells) for cells in chained_parts(out))
    assert "rebuilt 150 rows from the feature store" in first, first
    assert "not rebuilt: DATA_PATH is not the snapshot" in second, second
    seen = labelled_metrics(out)["trial"]
    assert labelled_metrics(out)["other"] != seen  # trained on those targets
    recorded = tracking.TrackingClient(uri).get_run(trial.run_id).data.metrics
    compared = [k for k in seen if k.startswith(("train_", "val_", "test_")) and k in recorded]
    assert compared, (seen, recorded)
    for key in compared:
        assert abs(seen[key] - recorded[key]) <= 1e-9, key
