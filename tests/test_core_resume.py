"""A search killed mid-way (kill -9) and run again on the same experiment loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pandas as pd
from sklearn.datasets import load_breast_cancer

import automl
import tracking

SCRIPT = """
import pandas as pd, automl
df = pd.read_parquet("data.parquet")
automl.classify(df, target_col="target", timeout_minutes=5, n_jobs=1,
                experiment_name="resumed", verbose=False)
"""


def _trial_runs(client: tracking.TrackingClient) -> list:
    experiment = client.get_experiment_by_name("resumed")
    if experiment is None:
        return []
    return list(
        client.search_runs(
            [experiment.experiment_id],
            filter_string="tags.`automl.role` = 'trial'",
            run_view_type="ALL",
        )
    )


def test_a_killed_search_is_resumed_without_renumbering_or_orphans(tmp_path):
    df = load_breast_cancer(as_frame=True).frame
    df.to_parquet(tmp_path / "data.parquet")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=tmp_path, start_new_session=True)
    client = tracking.TrackingClient()
    deadline = time.monotonic() + 180
    try:
        while len(_trial_runs(client)) < 3 and time.monotonic() < deadline:
            assert proc.poll() is None, "the search ended before it could be killed"
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = {r.info.run_id: r for r in _trial_runs(client)}
    assert len(before) >= 3
    old_numbers = [int(r.data.tags["automl.trial_number"]) for r in before.values()]

    summary = automl.classify(
        df, target_col="target", max_trials=2, n_jobs=1, experiment_name="resumed", verbose=False
    )
    fitted = [t for t in summary.all_trials if t.params["model_family"] != "ensemble"]
    assert len(fitted) == 2  # max_trials counts this search's trials only
    # numbering continues after the killed search's trials instead of restarting at 000
    assert min(t.number for t in summary.all_trials) > max(old_numbers)
    numbers = [int(r.data.tags["automl.trial_number"]) for r in _trial_runs(client)]
    assert len(numbers) == len(set(numbers))
    # the killed search's unfinished runs are KILLED with the reason, its Optuna trials failed
    for run_id, run in before.items():
        if run.info.status == "RUNNING":
            now = client.get_run(run_id)
            assert now.info.status == "KILLED" and "died" in now.data.tags["automl.error"]
    parent = client.get_run(summary.parent_run_id)
    study = optuna.load_study(
        study_name=parent.data.tags["automl.optuna_study"],
        storage=client.engine.url.render_as_string(hide_password=False),
    )
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    assert isinstance(summary.leaderboard, pd.DataFrame) and len(summary.trials) >= 1
