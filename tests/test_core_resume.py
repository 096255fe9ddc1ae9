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
    finished_before = {
        run_id: run.data.metrics["val_f1_score"]
        for run_id, run in before.items()
        if run.data.tags.get("automl.trial_state") == "COMPLETE"
    }
    assert finished_before, "the killed search finished no trial to take over"
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
    # the resumed search ranks and registers over the killed search's finished trials too
    ranked = {t.run_id: t for t in summary.trials}
    assert set(finished_before) <= set(ranked)
    scores = [t.evaluation_metric_score for t in summary.trials]
    assert scores == sorted(scores, reverse=True)
    assert summary.registered_model_version.tags["run_id"] == summary.best_trial.run_id
    earlier_best = max(finished_before.values())
    assert summary.best_trial.evaluation_metric_score >= earlier_best
    taken_over = ranked[max(finished_before, key=finished_before.get)]
    assert (
        taken_over.params["model_family"] == before[taken_over.run_id].data.params["model_family"]
    )
    assert len(taken_over.load_model().predict(df.drop(columns="target").head(2))) == 2


def test_a_search_of_other_data_in_the_same_experiment_ranks_only_its_own(tmp_path):
    df = load_breast_cancer(as_frame=True).frame
    first = automl.classify(
        df, target_col="target", max_trials=1, experiment_name="shared", verbose=False
    )
    again = automl.classify(
        df, target_col="target", max_trials=1, experiment_name="shared", verbose=False
    )
    assert first.best_trial.run_id in {t.run_id for t in again.trials}  # the same data
    other = automl.classify(
        df.iloc[:400], target_col="target", max_trials=1, experiment_name="shared", verbose=False
    )
    assert {t.run_id for t in other.trials} <= {t.run_id for t in other.all_trials}
