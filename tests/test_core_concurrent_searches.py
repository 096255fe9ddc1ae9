"""Searches started at the same moment: on one new store, and without experiment names."""

from __future__ import annotations

import subprocess
import sys

from sklearn.datasets import load_iris

import automl
import tracking

SCRIPT = """
import pandas as pd, automl
df = pd.read_parquet("data.parquet")
s = automl.classify(df, target_col="target", max_trials=1, n_jobs=1,
                    experiment_name="shared-exp", verbose=False)
print("OK", s.experiment.experiment_id, len(s.trials))
"""


def test_four_searches_started_at_once_on_a_new_store_all_finish(tmp_path):
    load_iris(as_frame=True).frame.to_parquet(tmp_path / "data.parquet")
    assert not (tmp_path / "automl-runs").exists()  # the store does not exist yet
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err[-3000:]
    ids = {line.split()[1] for out, _ in outs for line in out.splitlines() if line.startswith("OK")}
    assert len(ids) == 1  # one experiment, found or created safely by each
    client = tracking.TrackingClient()
    experiment = client.get_experiment_by_name("shared-exp")
    parents = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`automl.role` = 'parent'"
    )
    assert len(parents) == 4 and all(p.info.status == "FINISHED" for p in parents)


def test_searches_without_an_experiment_name_never_share_one():
    df = load_iris(as_frame=True).frame
    first = automl.classify(df, target_col="target", max_trials=1, n_jobs=1, verbose=False)
    second = automl.classify(df, target_col="target", max_trials=1, n_jobs=1, verbose=False)
    assert first.experiment.name != second.experiment.name
    assert first.experiment.name.startswith("automl_classification_target_")
