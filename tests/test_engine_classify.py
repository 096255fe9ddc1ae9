"""End-to-end AutoML runs through the public API on small real data with small budgets."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from search_fixtures import small_search
from sklearn.datasets import load_breast_cancer, load_diabetes

import automl
import registry
import tracking
from automl.core.tags import RAN_IN as RAN_IN_TAG

pytestmark = pytest.mark.xdist_group("engine")


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame
    frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
    return frame


@pytest.fixture(scope="module")
def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True, scaled=False).frame


def _with_split_column(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``part`` column (60/20/20 train/val/test): holdout validation."""
    return frame.assign(part=np.resize(["train", "train", "train", "val", "test"], len(frame)))


def _child_runs(summary: automl.AutoMLSummary) -> pd.DataFrame:
    return tracking.search_runs(
        [summary.experiment.experiment_id], filter_string="tags.`automl.role` = 'trial'"
    )


def test_classify_tracks_every_trial_and_registers_the_best(cancer):
    summary = automl.classify(
        cancer,
        target_col="diagnosis",
        pos_label="malignant",
        primary_metric="roc_auc",
        max_trials=5,
        timeout_minutes=10,  # the trial budget is the one that binds
        experiment_name="cancer",
        verbose=False,
    )
    runs = _child_runs(summary)
    # every trial is one run, and every finished trial has metrics, a model and SHAP importance
    assert len(runs) == len(summary.all_trials) >= 5
    assert summary.validation == "cv"
    client = tracking.TrackingClient()
    for trial in summary.trials:
        run = client.get_run(trial.run_id)
        assert run.info.status == "FINISHED"
        for key in ("train_roc_auc", "val_roc_auc", "test_roc_auc", "val_f1_score"):
            assert np.isfinite(run.data.metrics[key]), key
        assert run.data.params["model_family"] == trial.params["model_family"]
        artifacts = {a.path for a in client.list_artifacts(trial.run_id)}
        assert {"model", "shap", "plots", "notebooks"} <= artifacts
        plot_files = {a.path for a in client.list_artifacts(trial.run_id, "plots")}
        assert "plots/val_roc_curve.png" in plot_files, plot_files
        shap_csv = client.download_artifacts(trial.run_id, "shap/feature_importance.csv")
        table = pd.read_csv(shap_csv)
        assert set(table["feature"]) <= set(cancer.columns) - {"diagnosis"}
        assert (table["importance"] >= 0).all() and table["importance"].sum() > 0
    # the best trial is the argmax of the validation metric, and the leaderboard is ordered
    scores = [t.metrics["val_roc_auc"] for t in summary.trials]
    assert summary.best_trial.metrics["val_roc_auc"] == max(scores)
    board = summary.leaderboard
    assert list(board["rank"]) == list(range(1, len(summary.trials) + 1))
    assert board["val_roc_auc"].is_monotonic_decreasing
    assert summary.best_trial.mlflow_run_id == board["run_id"].iloc[0]
    # the winner is registered, tagged with its run, refit on every row the user gave
    version = summary.registered_model_version
    assert version.name == "cancer" and version.tags["run_id"] == summary.best_trial.run_id
    assert version.tags["trained_on"] == "all rows"
    X = cancer.drop(columns=["diagnosis"]).iloc[:20]
    registered = registry.load_model(f"models:/cancer/{version.version}")
    by_run = automl.load_model(summary.best_trial.run_id)
    proba = registered.predict_proba(X)
    np.testing.assert_allclose(np.asarray(proba).sum(axis=1), 1.0)
    assert np.asarray(proba).shape == np.asarray(by_run.predict_proba(X)).shape
    assert set(by_run.predict(X)) <= {"malignant", "benign"}
    assert set(registered.predict(X)) <= {"malignant", "benign"}
    assert "cancer" in str(summary) and "rank" in str(summary)
    assert summary.registered_model_uri == f"models:/cancer/{version.version}"


def test_regress_returns_within_its_time_budget(diabetes):
    budget_s = 12.0
    started = time.monotonic()
    summary = automl.regress(
        diabetes,
        target_col="target",
        primary_metric="rmse",
        timeout_minutes=budget_s / 60,
        experiment_name="diabetes",
        verbose=False,
    )
    elapsed = time.monotonic() - started
    assert elapsed <= budget_s + max(0.02 * budget_s, 5.0)
    assert summary.trials, "at least the baseline must finish"
    states = {t.state for t in summary.all_trials}
    assert states <= {"COMPLETE", "PRUNED", "FAIL", "KILLED"}
    runs = _child_runs(summary)
    assert len(runs) == len(summary.all_trials)
    killed = [t for t in summary.all_trials if t.state == "KILLED"]
    for trial in killed:
        assert tracking.TrackingClient().get_run(trial.run_id).info.status == "KILLED"
    rmse = [t.metrics["val_root_mean_squared_error"] for t in summary.trials]
    assert summary.best_trial.metrics["val_root_mean_squared_error"] == min(rmse)
    assert "val_r2_score" in summary.best_trial.metrics


def test_a_tiny_budget_still_yields_a_finished_baseline(diabetes):
    started = time.monotonic()
    summary = automl.regress(
        diabetes, target_col="target", timeout_minutes=0.1, experiment_name="tiny", verbose=False
    )
    assert time.monotonic() - started <= 6.0 + 5.0
    assert len(summary.trials) >= 1
    assert summary.best_trial.load_model().predict(diabetes.head(3)).shape == (3,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_col": "nope"}, "nope"),
        ({"target_col": "diagnosis", "primary_metric": "r2"}, "primary_metric"),
        ({"target_col": "diagnosis", "timeout_minutes": 0}, "timeout_minutes"),
        ({"target_col": "diagnosis", "max_trials": -1}, "max_trials"),
        ({"target_col": "diagnosis", "pos_label": "healthy"}, "pos_label"),
        ({"target_col": "diagnosis", "exclude_frameworks": ["sklearn", "lightgbm"]}, "exclude"),
    ],
)
def test_bad_input_is_rejected_before_anything_is_stored(cancer, kwargs, message):
    with pytest.raises(ValueError, match=message):
        automl.classify(cancer, experiment_name="bad", verbose=False, **kwargs)
    assert tracking.TrackingClient().get_experiment_by_name("bad") is None


def test_rerunning_an_experiment_resumes_its_optuna_study(diabetes):
    import optuna

    first = automl.regress(
        diabetes, target_col="target", max_trials=3, experiment_name="resume", verbose=False
    )
    second = automl.regress(
        diabetes, target_col="target", max_trials=3, experiment_name="resume", verbose=False
    )
    assert first.experiment.experiment_id == second.experiment.experiment_id
    client = tracking.TrackingClient()
    parent = client.get_run(second.parent_run_id)
    study = optuna.load_study(
        study_name=parent.data.tags["automl.optuna_study"],
        storage=client.engine.url.render_as_string(hide_password=False),
    )
    assert len(study.trials) == 6
    # the portfolio's defaults that already ran are not run again (the baseline aside)
    later = lambda s: {t.model_description for t in s.all_trials if t.number > 0}  # noqa: E731
    assert not later(first) & later(second)
    assert second.registered_model_version.version == 2


def test_trials_log_into_the_store_chosen_with_set_tracking_uri(diabetes, tmp_path):
    # The worker processes must use the search's store, not their own default one.
    store = tmp_path / "elsewhere" / "team.db"
    store.parent.mkdir()
    tracking.set_tracking_uri(f"sqlite:///{store}")
    summary = automl.regress(
        diabetes,
        target_col="target",
        max_trials=3,
        timeout_minutes=10,
        experiment_name="elsewhere",
        verbose=False,
    )
    # max_trials bounds the fitted trials; an ensemble of them may be listed beside them
    fitted = [t for t in summary.all_trials if t.params["model_family"] != "ensemble"]
    assert [t.state for t in fitted] == ["COMPLETE"] * 3
    assert not (tmp_path / "automl-runs").exists()
    model = automl.load_model(summary.best_trial.run_id)
    assert len(model.predict(diabetes.drop(columns="target").head(4))) == 4


def test_charts_are_drawn_after_the_search_for_the_top_five(diabetes):
    # A split column means holdout validation: no pruning, so every trial completes.
    summary = automl.regress(
        _with_split_column(diabetes),
        target_col="target",
        split_col="part",
        max_trials=14,
        timeout_minutes=10,
        experiment_name="charts",
        verbose=False,
    )
    fitted = [t for t in summary.trials if t.params["model_family"] != "ensemble"]
    assert len(fitted) > 5
    # every trial has its SHAP table; the five best fitted trials (and an ensemble) have charts,
    # the others a tag that says why they have none
    client = tracking.TrackingClient()
    charted = []
    for trial in summary.trials:
        files = {a.path for a in client.list_artifacts(trial.run_id, "shap")}
        assert "shap/feature_importance.csv" in files
        has_chart = "shap/feature_importance.png" in files
        tags = client.get_run(trial.run_id).data.tags
        assert has_chart != ("automl.charts" in tags), (trial.number, tags.get("automl.charts"))
        if has_chart:
            charted.append(trial.number)
            plot_files = {a.path for a in client.list_artifacts(trial.run_id, "plots")}
            assert "plots/val_predicted_vs_actual.png" in plot_files, plot_files
        else:
            assert "top 5" in tags["automl.charts"]
    ensembles = [t.number for t in summary.trials if t.params["model_family"] == "ensemble"]
    assert sorted(charted) == sorted([t.number for t in fitted[:5]] + ensembles)
    assert summary.best_trial.number in charted


def test_cheap_defaults_run_in_the_search_process_while_the_workers_start(diabetes):
    # A worker needs seconds to import its libraries; the search process has them already and
    # runs the linear baseline (and the decision tree) itself meanwhile.
    summary = small_search(automl.regress, diabetes, "target", "while-workers-start", max_trials=5)
    fitted = [t for t in summary.all_trials if t.params["model_family"] != "ensemble"]
    assert [t.state for t in fitted] == ["COMPLETE"] * 5
    client = tracking.TrackingClient()
    ran_in = {
        t.number: client.get_run(t.run_id).data.tags.get(RAN_IN_TAG) for t in summary.all_trials
    }
    first = summary.all_trials[0]
    assert ran_in[0] == "search process" and first.params["model_family"] == "linear_regression"
    assert None in ran_in.values()  # the others ran in the worker
    here = [t for t in summary.all_trials if ran_in[t.number]]
    assert {t.params["model_family"] for t in here} <= {"linear_regression", "decision_tree"}
    # a trial run here is tracked like any other: model, notebook, Optuna verdict
    model = automl.load_model(first.run_id)
    assert len(model.predict(diabetes.drop(columns="target").head(3))) == 3
    assert first.notebook_path and client.get_run(first.run_id).data.tags["automl.optuna_trial"]


def test_a_holdout_winner_is_refit_on_train_and_validation_before_it_is_registered(diabetes):
    summary = automl.regress(
        _with_split_column(diabetes),
        target_col="target",
        split_col="part",
        max_trials=6,  # no deadline: under a time budget a refit that cannot fit is skipped
        experiment_name="refit",
        register_model_name="refit-winner",
        retrain_full=False,  # the test part stays out of the refit and scores it
        verbose=False,
    )
    best = summary.best_trial
    version = summary.registered_model_version
    # the registered model is the parent run's refit, not the trial's own model
    assert version.source == f"runs:/{summary.parent_run_id}/model"
    assert version.tags["run_id"] == best.run_id and version.tags["trained_on"] == "train+val"
    parent = tracking.TrackingClient().get_run(summary.parent_run_id).data
    rmse = "test_root_mean_squared_error"
    assert {f"refit_{rmse}", "refit_train_root_mean_squared_error"} <= set(parent.metrics)
    # it saw the validation rows too, so it predicts differently from the trial's model
    X = diabetes.drop(columns="target")
    refit = automl.load_model(summary.registered_model_uri)
    assert not np.allclose(refit.predict(X), best.load_model().predict(X))
    assert parent.metrics[f"refit_{rmse}"] != best.metrics[rmse]
    # the trial itself is untouched: its model and notebook still reproduce its own metrics
    assert best.model_uri == f"runs:/{best.run_id}/model" and best.notebook_path


def test_the_winner_is_refit_on_every_row_and_keeps_its_honest_test_score(diabetes):
    summary = automl.regress(
        diabetes, target_col="target", max_trials=2, experiment_name="cv-refit", verbose=False
    )
    best, version = summary.best_trial, summary.registered_model_version
    assert version.source == f"runs:/{summary.parent_run_id}/model"
    assert version.tags["trained_on"] == "all rows" and version.tags["run_id"] == best.run_id
    assert "before that refit" in version.description  # the test scores are the trial's
    parent = tracking.TrackingClient().get_run(summary.parent_run_id).data
    assert "refit_train_root_mean_squared_error" in parent.metrics
    assert not any(k.startswith("refit_test_") for k in parent.metrics)  # no row is left out
    assert parent.metrics["test_r2_score"] == best.metrics["test_r2_score"]
    X = diabetes.drop(columns="target")
    refit = automl.load_model(summary.registered_model_uri)
    assert not np.allclose(refit.predict(X), best.load_model().predict(X))


def test_a_cross_validated_winner_is_registered_as_its_trial_trained_it(diabetes):
    summary = automl.regress(
        diabetes,
        target_col="target",
        max_trials=2,
        experiment_name="cv-no-refit",
        retrain_full=False,
        verbose=False,
    )
    assert summary.validation == "cv"
    version = summary.registered_model_version
    assert version.source == summary.best_trial.model_uri
    assert version.tags["trained_on"] == "train+val"  # each CV trial is refit on train+val
