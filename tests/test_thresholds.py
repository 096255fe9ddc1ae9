"""Decision thresholds tuned on validation predictions for binary label metrics (issue 13, item 6).

The rule (``automl.tabular.tune_threshold``) against scikit-learn's own metrics at every cut;
``fit_and_score`` measuring every metric at the cut its validation predictions chose; and a real
imbalanced search whose tree trials log a tuned cut that their loaded, refit and registered
models predict at, while ROC AUC searches keep argmax.
"""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.datasets import make_classification

import automl
import registry
import tracking
from automl.core.tags import DECISION_THRESHOLD
from automl.tabular import DataPlan, fit_and_score, tune_threshold
from automl.tabular.families import FAMILIES
from automl.tabular.metrics import primary_metric_key
from automl.tabular.plan import make_plan
from automl.tabular.thresholds import ThresholdPipeline, tunes_threshold

SKLEARN = {
    "f1": skm.f1_score,
    "accuracy": skm.accuracy_score,
    "precision": skm.precision_score,
    "recall": skm.recall_score,
}
TREES = ("lightgbm", "random_forest", "extra_trees", "decision_tree")


def _imbalanced(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """About 16 % positives with label noise: a cut at 0.5 is far from the best F1."""
    X, y = make_classification(
        n_samples=n,
        n_features=10,
        n_informative=4,
        weights=[0.85, 0.15],
        flip_y=0.05,
        random_state=seed,
    )
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    df["target"] = np.where(y == 1, "churn", "stay")
    return df


class _Plan:
    """The few plan attributes the threshold rule reads."""

    def __init__(self, metric: str, classes=("no", "yes"), pos_label="yes") -> None:
        self.task = "classification"
        self.classes = list(classes)
        self.pos_label = pos_label
        self.primary_metric = metric
        self.primary_metric_key = primary_metric_key(metric)


def _scores_and_labels(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.2, "yes", "no")
    score = np.clip(0.25 * (y == "yes") + rng.beta(2, 5, n), 0, 1)
    score = np.round(score, 2)  # ties between rows, as forests' vote fractions have
    proba = np.column_stack([1 - score, score])
    return y, proba, rng.uniform(0.5, 2.0, n)


def _at(metric: str, y, proba, w, cut: float) -> float:
    pred = np.where(proba[:, 1] >= cut, "yes", "no")
    kwargs = {} if metric == "accuracy" else {"pos_label": "yes", "zero_division": 0.0}
    return float(SKLEARN[metric](y, pred, sample_weight=w, **kwargs))


@pytest.mark.parametrize("metric", ["f1", "accuracy"])
@pytest.mark.parametrize("weighted", [False, True])
def test_f1_and_accuracy_cut_is_the_best_of_every_cut(metric, weighted):
    y, proba, w = _scores_and_labels(1)
    w = w if weighted else None
    cut = tune_threshold(_Plan(metric), y, proba, sample_weight=w)
    best = _at(metric, y, proba, w, cut)
    # every distinct cut scikit-learn could be asked about: each score, and beyond the extremes
    cuts = np.unique(np.concatenate([proba[:, 1], [0.0, 0.5, 1.0001]]))
    assert best >= max(_at(metric, y, proba, w, c) for c in cuts) - 1e-12
    assert best >= _at(metric, y, proba, w, 0.5)
    assert cut != 0.5  # on these scores the default is not the best cut
    assert tune_threshold(_Plan(metric), y, proba, sample_weight=w) == cut  # deterministic


def test_ties_go_to_the_cut_nearest_one_half():
    y = np.array(["no"] * 50 + ["yes"] * 50)
    score = np.r_[np.linspace(0.05, 0.2, 50), np.linspace(0.8, 0.95, 50)]  # separable
    proba = np.column_stack([1 - score, score])
    assert tune_threshold(_Plan("f1"), y, proba) == 0.5  # every cut in (0.2, 0.8] is as good
    shifted = np.column_stack([1 - score / 2, score / 2])  # positives now in [0.4, 0.475]
    cut = tune_threshold(_Plan("f1"), y, shifted)
    assert 0.1 < cut <= 0.4 and cut == pytest.approx((0.1 + 0.4) / 2)


@pytest.mark.parametrize(("metric", "guard"), [("precision", "recall"), ("recall", "precision")])
def test_precision_and_recall_keep_the_other_at_least_as_at_one_half(metric, guard):
    for seed in range(5):
        y, proba, w = _scores_and_labels(seed)
        cut = tune_threshold(_Plan(metric), y, proba, sample_weight=w)
        assert 0.0 < cut < 1.0
        assert _at(metric, y, proba, w, cut) >= _at(metric, y, proba, w, 0.5)
        assert _at(guard, y, proba, w, cut) >= _at(guard, y, proba, w, 0.5) - 1e-12
    # unguarded, recall would take the cut below every score (all rows positive): recall 1
    y, proba, w = _scores_and_labels(0)
    cut = tune_threshold(_Plan("recall"), y, proba, sample_weight=w)
    assert cut > proba[:, 1].min()


def test_no_threshold_for_roc_auc_log_loss_or_multiclass():
    y, proba, _ = _scores_and_labels(2)
    for metric in ("roc_auc", "log_loss"):
        assert not tunes_threshold(_Plan(metric))
        assert tune_threshold(_Plan(metric), y, proba) == 0.5
    assert not tunes_threshold(_Plan("f1", classes=("a", "b", "c"), pos_label=None))


@pytest.mark.parametrize("validation", ["cv", "holdout"])
def test_fit_and_score_measures_every_metric_at_the_validation_cut(validation):
    extra = {} if validation == "cv" else {"split_col": "part"}
    df = _imbalanced(1500)
    if validation == "holdout":
        df["part"] = np.random.default_rng(0).choice(
            ["train", "val", "test"], len(df), p=[0.6, 0.2, 0.2]
        )
    plan, _alerts, prepared = make_plan(
        df, "classification", "target", primary_metric="f1", pos_label="churn", **extra
    )
    assert plan.validation == validation
    config = {"family": "random_forest", "params": {"n_estimators": 40, "random_state": 0}}
    result = fit_and_score(plan, config, prepared)
    cut = result.config["params"][DECISION_THRESHOLD]
    assert cut != 0.5 and result.pipeline.decision_threshold_ == cut  # its predict() uses it
    pos = plan.classes.index("churn")
    y_val, p_val = result.val_y, result.val_predictions
    f1_at = {
        c: skm.f1_score(y_val, np.where(p_val[:, pos] >= c, "churn", "stay"), pos_label="churn")
        for c in (cut, 0.5)
    }
    assert f1_at[cut] > f1_at[0.5]  # tuned on exactly these predictions
    if validation == "holdout":
        assert result.metrics["val_f1_score"] == pytest.approx(f1_at[cut], abs=1e-12)
    test = prepared[prepared["_automl_split"] == "test"]
    labels = result.pipeline.predict(test[plan.feature_names])
    proba = result.pipeline.predict_proba(test[plan.feature_names])
    expected = np.where(
        proba[:, list(result.pipeline.classes_).index("churn")] >= cut, "churn", "stay"
    )
    assert list(labels) == list(expected)
    tested = skm.f1_score(test["target"], labels, pos_label="churn")
    assert result.metrics["test_f1_score"] == pytest.approx(tested, abs=1e-12)
    again = fit_and_score(plan, result.config, prepared)  # the recorded cut is tuned again
    assert again.config["params"][DECISION_THRESHOLD] == cut
    assert again.metrics == result.metrics


def _thresholded(predictor, X, cut: float):
    proba = predictor.predict_proba(X)
    pos = list(predictor.classes_).index("churn")
    return np.where(proba[:, pos] >= cut, "churn", "stay")


def _search(df, metric: str, max_trials: int):
    return automl.classify(
        df,
        target_col="target",
        pos_label="churn",
        primary_metric=metric,
        max_trials=max_trials,
        n_jobs=1,
        verbose=False,
    )


@pytest.mark.slow
def test_f1_search_tunes_tree_cuts_and_loaded_models_predict_at_them(tmp_path):
    """Trees, the ensemble and the registered refit all predict at their tuned cuts; the
    ensemble's notebook (real kernel) tunes the same cut on its blend and reproduces it."""
    from notebook_fixtures import execute, stdout

    df = _imbalanced(1500)
    summary = _search(df, "f1", max_trials=6)
    client = tracking.TrackingClient()
    runs = {t.run_id: client.get_run(t.run_id) for t in summary.trials}
    trees = [
        t
        for t in summary.trials
        if t.params["model_family"] in TREES
        and float(runs[t.run_id].data.params.get(DECISION_THRESHOLD, 0.5)) != 0.5
    ]
    assert trees, {t.params["model_family"]: runs[t.run_id].data.params for t in summary.trials}
    X = df.drop(columns=["target"]).head(400)
    for trial in summary.trials:  # ensembles included: a blend tunes its own cut
        params = runs[trial.run_id].data.params
        assert DECISION_THRESHOLD in params  # every binary f1 trial tunes its cut
        cut = float(params[DECISION_THRESHOLD])
        assert trial.params[DECISION_THRESHOLD] == cut  # the trial's config records it
        for loaded in (automl.load_model(trial.model_uri), trial.load_model()):
            assert list(loaded.predict(X)) == list(_thresholded(loaded, X, cut))
            assert loaded.metadata["metadata"][DECISION_THRESHOLD] == cut
    tree = trees[0]
    cut = float(runs[tree.run_id].data.params[DECISION_THRESHOLD])
    plan_path = client.download_artifacts(summary.parent_run_id, "automl/plan.json")
    with open(plan_path) as handle:
        plan = DataPlan.from_dict(json.load(handle))
    snapshot = pd.read_parquet(
        client.download_artifacts(summary.parent_run_id, "data/training_data.parquet")
    )
    params = {k: v for k, v in tree.params.items() if k != "model_family"}
    again = fit_and_score(plan, {"family": tree.params["model_family"], "params": params}, snapshot)
    assert again.metrics["val_f1_score"] == pytest.approx(tree.metrics["val_f1_score"], abs=1e-12)
    assert again.metrics["test_f1_score"] == pytest.approx(tree.metrics["test_f1_score"], abs=1e-12)
    pos = plan.classes.index("churn")
    y_val, p_val = again.val_y, again.val_predictions
    f1 = {
        c: skm.f1_score(y_val, np.where(p_val[:, pos] >= c, "churn", "stay"), pos_label="churn")
        for c in (cut, 0.5)
    }
    assert f1[cut] >= f1[0.5]

    # the registered model: the winner refit on every row, predicting at the winner's cut
    version = summary.registered_model_version
    registry.set_registered_model_alias(version.name, "champion", version.version)
    best_cut = summary.best_trial.params[DECISION_THRESHOLD]
    for uri in (f"models:/{version.name}/{version.version}", f"models:/{version.name}@champion"):
        champion = automl.load_model(uri)
        assert champion.metadata["metadata"][DECISION_THRESHOLD] == best_cut
        assert list(champion.predict(X)) == list(_thresholded(champion, X, best_cut))

    # the ensemble: selected at each blend's own tuned cut, predicting at the blend's cut
    ensemble = next(t for t in summary.trials if t.params["model_family"] == "ensemble")
    cut = ensemble.params[DECISION_THRESHOLD]
    with open(client.download_artifacts(ensemble.run_id, "ensemble/members.json")) as handle:
        members = json.load(handle)
    assert members[DECISION_THRESHOLD] == cut and cut != 0.5
    out = execute(nbformat.read(ensemble.notebook_path, as_version=4), tmp_path, timeout=600)
    printed = stdout(out)  # the notebook asserts its val/test metrics equal the tracked ones
    reproduced = float(printed.split("decision threshold:")[1].split()[0])
    assert reproduced == pytest.approx(cut, abs=1e-6)  # members' float32 predictions, tracked


def test_roc_auc_search_tunes_nothing_and_predicts_by_argmax():
    df = _imbalanced(1500)
    summary = _search(df, "roc_auc", max_trials=3)
    client = tracking.TrackingClient()
    X = df.drop(columns=["target"]).head(300)
    for trial in summary.trials:
        assert DECISION_THRESHOLD not in client.get_run(trial.run_id).data.params
        assert DECISION_THRESHOLD not in trial.params
        loaded = automl.load_model(trial.model_uri)
        assert not isinstance(loaded.unwrap(), ThresholdPipeline)
        proba = loaded.predict_proba(X)
        assert list(loaded.predict(X)) == list(np.asarray(loaded.classes_)[proba.argmax(axis=1)])


@pytest.mark.slow
def test_executed_notebooks_tune_the_same_cut_and_reproduce_the_metrics(tmp_path):
    """CV and holdout trial notebooks (real kernel) tune the cut the trial tuned, measure every
    metric at it, predict like the logged model and log a re-run that records the cut."""
    from notebook_fixtures import (
        assert_reproduced,
        chain,
        execute,
        labelled_metrics,
        set_parameter,
        stdout,
        with_probe,
    )

    from automl.notebooks.documents import render_trial_notebook, write_notebook
    from automl.notebooks.source_run import NotebookRun

    uri = f"sqlite:///{tmp_path / 'store.db'}"
    tracking.set_tracking_uri(uri)
    experiment_id = tracking.set_experiment("thresholds").experiment_id
    df = _imbalanced(800, seed=3)
    held = df.assign(part=np.random.default_rng(1).choice(["train", "val", "test"], len(df)))
    cases = {
        "cv_lightgbm": (df, {}, "lightgbm"),
        "cv_forest": (df, {}, "random_forest"),
        "holdout_forest": (held, {"split_col": "part"}, "random_forest"),
    }
    notebooks, expected, cuts = [], {}, {}
    for number, (label, (frame_, extra, family)) in enumerate(cases.items()):
        plan, _alerts, prepared = make_plan(
            frame_, "classification", "target", pos_label="churn", **extra
        )
        assert plan.validation == ("holdout" if extra else "cv") and tunes_threshold(plan)
        params = dict(FAMILIES[family].portfolio(plan)[0])
        if family == "random_forest":
            params["n_estimators"] = 30
        result = fit_and_score(plan, {"family": family, "params": params}, prepared)
        cuts[label] = result.config["params"][DECISION_THRESHOLD]
        assert cuts[label] != 0.5, label
        with tracking.start_run(experiment_id=experiment_id) as run:
            tracking.log_metrics(result.metrics)
            tracking.log_model(result.pipeline, "model", task=plan.task)
        snapshot = tmp_path / f"{label}.parquet"
        prepared.to_parquet(snapshot, index=False)
        source = NotebookRun(run.info.run_id, "thresholds", number, snapshot, uri, result.metrics)
        nb = render_trial_notebook(plan, result.config, source, experiment_id=experiment_id)
        write_notebook(nb, tmp_path / f"{label}.ipynb")
        if label == "holdout_forest":
            set_parameter(nb, "LOG_RERUN", True)
        notebooks.append(with_probe(nb, label))
        expected[label] = result.metrics
    out = execute(chain(*notebooks), tmp_path, timeout=600)
    seen = labelled_metrics(out)
    for label, metrics in expected.items():
        assert_reproduced(metrics, seen[label], label)
    printed = stdout(out)
    for label, cut in cuts.items():
        assert f"decision threshold: {cut!r}" in printed, label
    assert printed.count("same as this notebook's model: True") == len(cases)
    reruns = [
        r
        for r in tracking.TrackingClient(uri).search_runs([experiment_id])
        if "automl.rerun_of" in r.data.tags
    ]
    assert len(reruns) == 1
    assert float(reruns[0].data.params[DECISION_THRESHOLD]) == cuts["holdout_forest"]
