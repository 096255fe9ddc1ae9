"""Cheap low-fidelity trials first on large tables: a sample of rows, then the best on every row."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from notebook_fixtures import assert_reproduced, execute, labelled_metrics, with_probe

import automl
import tracking
from automl.notebooks.documents import render_trial_notebook
from automl.notebooks.source_run import NotebookRun
from automl.tabular import fit_and_score
from automl.tabular.fit import refit
from automl.tabular.plan import make_plan


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    logit = X[:, 0] - 0.8 * X[:, 1] + 0.5 * X[:, 2] * X[:, 3]
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    df["colour"] = rng.choice(["red", "green", "blue"], n)
    df["target"] = np.where(logit + rng.normal(scale=0.7, size=n) > 0, "yes", "no")
    return df


def _holdout_plan(n: int):
    df = _table(n)
    df["part"] = np.random.default_rng(1).choice(["train", "val", "test"], n, p=[0.6, 0.2, 0.2])
    plan, _alerts, prepared = make_plan(df, "classification", "target", split_col="part")
    assert plan.validation == "holdout"
    return plan, prepared


def test_a_low_fidelity_trial_learns_from_its_sample_and_is_scored_like_any_other():
    plan, prepared = _holdout_plan(6000)
    config = {"family": "decision_tree", "params": {"max_depth": 6, "train_rows": 1000}}
    low = fit_and_score(plan, config, prepared)
    full = fit_and_score(plan, {"family": "decision_tree", "params": {"max_depth": 6}}, prepared)
    assert low.pipeline.named_steps["model"].tree_.n_node_samples[0] == 1000
    assert full.pipeline.named_steps["model"].tree_.n_node_samples[0] > 3000
    assert low.config["params"]["train_rows"] == 1000  # logged, and what its notebook re-runs
    assert len(low.val_y) == len(full.val_y)  # the same validation rows score both
    again = fit_and_score(plan, config, prepared)
    assert again.metrics == low.metrics  # the same seeded sample every time
    winner = refit(plan, low.config, prepared, trained_on="train+val")
    assert "train_rows" not in winner.config["params"]
    assert winner.pipeline.named_steps["model"].tree_.n_node_samples[0] > 4000


@pytest.mark.slow
def test_a_low_fidelity_trials_notebook_reproduces_it(tmp_path):
    plan, prepared = _holdout_plan(3000)
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    tracking.set_tracking_uri(uri)
    experiment_id = tracking.set_experiment("notebooks").experiment_id
    config = {"family": "lightgbm", "params": {"n_estimators": 60, "train_rows": 700}}
    pipeline, metrics, config = fit_and_score(plan, config, prepared)
    with tracking.start_run(experiment_id=experiment_id) as run:
        tracking.log_metrics(metrics)
        tracking.log_model(pipeline, "model", task=plan.task)
    snapshot = tmp_path / "snapshot.parquet"
    prepared.to_parquet(snapshot, index=False)
    source = NotebookRun(run.info.run_id, "notebooks", 0, snapshot, uri, metrics)
    nb = render_trial_notebook(plan, config, source, experiment_id=experiment_id)
    out = execute(with_probe(nb, "low"), tmp_path, timeout=600)
    assert_reproduced(metrics, labelled_metrics(out)["low"], "low-fidelity lightgbm")


@pytest.mark.slow
def test_on_a_large_table_configurations_start_on_a_sample_and_the_best_go_on():
    df = _table(70_000)
    summary = automl.classify(
        df, target_col="target", max_trials=10, timeout_minutes=1,
        exclude_frameworks=["sklearn"], experiment_name="large", verbose=False,
    )  # fmt: skip
    assert summary.validation == "holdout"
    client = tracking.TrackingClient()
    fitted = [t for t in summary.all_trials if t.params["model_family"] != "ensemble"]
    low = [t for t in fitted if t.params.get("train_rows") == 10_000]
    promoted = [(t, client.get_run(t.run_id).data.tags.get("automl.promoted_from")) for t in fitted]
    promoted = [(t, source) for t, source in promoted if source]
    assert low and promoted
    by_run = {t.run_id: t for t in fitted}
    # early stopping (the rounds it keeps, and whether it stopped) and the decision threshold
    # are the fit's own choices on each level
    fit_chosen = {"train_rows", "n_estimators", "early_stopping_rounds", "decision_threshold"}
    for trial, source in promoted:
        assert "train_rows" not in trial.params  # every training row
        searched = lambda t: {k: v for k, v in t.params.items() if k not in fit_chosen}  # noqa: E731
        assert searched(by_run[source]) == searched(trial)  # the same configuration, one level up
        optuna_trial = lambda t: client.get_run(t.run_id).data.tags["automl.optuna_trial"]  # noqa: E731
        assert optuna_trial(by_run[source]) == optuna_trial(trial)  # one Optuna trial for both
    parent = client.get_run(summary.parent_run_id)
    study = optuna.load_study(
        study_name=parent.data.tags["automl.optuna_study"],
        storage=client.engine.url.render_as_string(hide_password=False),
    )
    states = {t.state for t in study.trials}
    assert optuna.trial.TrialState.RUNNING not in states
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        if trial.number > 0:  # each went through the sample first: its value there is step 0
            assert 0 in trial.intermediate_values
    version = summary.registered_model_version
    # never the sample: every row when the refit fits the budget, else the winner's own full-train
    # model (on a loaded machine the minute can run out before the refit)
    assert version.tags["trained_on"] in ("all rows", "train")
