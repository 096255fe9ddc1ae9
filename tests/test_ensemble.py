"""Ensemble selection over the trials' stored predictions, and the ensemble as a tracked run."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pandas as pd
import pytest
from notebook_fixtures import execute
from sklearn.datasets import load_wine

import automl
import tracking
from automl.core.ensemble_selection import select_ensemble
from automl.tabular import metrics
from automl.tabular.ensemble import selection_loss


@pytest.fixture(scope="module")
def wine() -> pd.DataFrame:
    return load_wine(as_frame=True).frame


def _squared(y: np.ndarray):
    return lambda pred: float(np.mean((pred - y) ** 2))


def test_selection_is_deterministic_and_beats_its_best_member_only_when_it_blends():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    # two members with independent errors: their mean is better than either
    a, b = y + rng.normal(scale=0.5, size=200), y + rng.normal(scale=0.5, size=200)
    first = select_ensemble([a, b, a + 3.0], _squared(y), rounds=10)
    again = select_ensemble([a, b, a + 3.0], _squared(y), rounds=10)
    assert first == again  # same predictions, same ensemble
    assert set(first.members) == {0, 1} and first.beats_best_single
    assert abs(sum(first.weights) - 1.0) < 1e-12
    assert first.loss < first.best_single_loss
    # one good member and a useless one: the ensemble is that member alone, no win
    alone = select_ensemble([y + 0.01, y + 5.0], _squared(y), rounds=10)
    assert alone.members == (0,) and not alone.beats_best_single


def test_bad_selection_arguments_are_refused():
    with pytest.raises(ValueError, match="predictions"):
        select_ensemble([], _squared(np.zeros(3)))
    with pytest.raises(ValueError, match="rounds"):
        select_ensemble([np.zeros(3)], _squared(np.zeros(3)), rounds=0)


def test_a_selection_ends_by_its_stop_time_with_the_best_round_so_far():
    rng = np.random.default_rng(1)
    y = rng.normal(size=50)
    squared = _squared(y)

    def slow(pred: np.ndarray) -> float:  # a loss that costs 20 ms, as sklearn's can on a busy host
        time.sleep(0.02)
        return squared(pred)

    candidates = [y + rng.normal(scale=0.5, size=50) for _ in range(3)]
    started = time.monotonic()
    cut = select_ensemble(candidates, slow, rounds=25, stop_at=started + 0.2)
    elapsed = time.monotonic() - started
    # 3 single scores, then rounds of 3 scores each until the stop: far fewer than 25 rounds
    assert 1 <= len(cut.trajectory) < 25 and elapsed < 0.2 + 3 * 0.02 + 0.5, elapsed
    assert cut.loss == min(cut.trajectory) and abs(sum(cut.weights) - 1.0) < 1e-12
    # a stop time already passed still runs the first round (the best single candidate)
    late = select_ensemble(candidates, squared, rounds=25, stop_at=started)
    assert len(late.trajectory) == 1 and not late.beats_best_single


@pytest.mark.parametrize("metric", ["f1", "accuracy", "precision", "recall", "roc_auc", "log_loss"])
@pytest.mark.parametrize("classes", [["no", "yes"], [0, 1, 2, 3]])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_selection_loss_is_the_tracked_metric_negated(metric, classes, weighted):
    """The numpy losses the selection calls hundreds of times equal the tracked scores."""
    rng = np.random.default_rng(2)
    n = 160
    binary = len(classes) == 2
    plan = SimpleNamespace(
        task="classification", classes=classes, primary_metric=metric,
        pos_label="yes" if binary else None, multiclass_average=None if binary else "macro",
    )  # fmt: skip
    y = np.asarray(rng.choice(np.asarray(classes, dtype=object), size=n), dtype=object)
    w = rng.uniform(0.1, 3.0, size=n) if weighted else None
    loss = selection_loss(plan, y, w)
    spec = metrics.metric_spec(metric)
    for k in range(12):
        proba = rng.dirichlet(np.ones(len(classes)), size=n)
        if k % 3 == 0:  # one class predicted everywhere: precision of the others is 0
            proba[:, 0] += 5.0
            proba /= proba.sum(axis=1, keepdims=True)
        score = metrics.classification_scores(plan, y, proba, w)[spec.key]
        expected = -score if spec.greater_is_better else score
        assert loss(proba) == pytest.approx(expected, rel=1e-12, abs=1e-12), k


@pytest.mark.parametrize("weighted", [False, True])
def test_the_r2_selection_loss_is_r2_negated(weighted):
    rng = np.random.default_rng(3)
    y = rng.normal(size=120)
    w = rng.uniform(0.1, 3.0, size=120) if weighted else None
    loss = selection_loss(SimpleNamespace(task="regression", primary_metric="r2"), y, w)
    for _ in range(10):
        pred = y + rng.normal(size=120)
        r2 = metrics.regression_scores(y, pred, w)["r2_score"]
        assert loss(pred) == pytest.approx(-r2, rel=1e-12)
    constant = selection_loss(SimpleNamespace(task="regression", primary_metric="r2"), np.ones(5))
    assert constant(np.ones(5)) == -metrics.regression_scores(np.ones(5), np.ones(5))["r2_score"]
    assert constant(np.zeros(5)) == -metrics.regression_scores(np.ones(5), np.zeros(5))["r2_score"]


def test_the_ensemble_is_a_tracked_registered_run_whose_notebook_reproduces_it(wine, tmp_path):
    summary = automl.classify(
        wine,
        target_col="target",
        primary_metric="log_loss",
        max_trials=8,
        n_jobs=1,
        experiment_name="wine-ensemble",
        verbose=False,
    )
    best = summary.best_trial
    assert best.params["model_family"] == "ensemble", summary.leaderboard["model"].tolist()
    singles = [t for t in summary.trials if t.params["model_family"] != "ensemble"]
    # it is registered because it beats the best single trial on validation
    assert best.evaluation_metric_score < singles[0].evaluation_metric_score
    version = summary.registered_model_version
    assert version.tags["run_id"] == best.run_id and version.tags["trained_on"] == "all rows"
    # a run of its own beside the trials: members and weights, val/test metrics, model, SHAP
    client = tracking.TrackingClient()
    run = client.get_run(best.run_id)
    members = run.data.params["ensemble.members"].split(",")
    weights = [float(w) for w in run.data.params["ensemble.weights"].split(",")]
    assert len(members) == len(weights) >= 2 and abs(sum(weights) - 1) < 1e-5
    assert set(members) <= {t.run_id for t in singles}
    assert {"val_log_loss", "test_log_loss", "test_accuracy_score"} <= set(run.data.metrics)
    assert run.data.tags["automl.role"] == "trial" and run.info.status == "FINISHED"
    shap = pd.read_csv(client.download_artifacts(best.run_id, "shap/feature_importance.csv"))
    assert set(shap["feature"]) <= set(wine.columns) - {"target"} and len(shap) > 3
    assert shap["importance"].is_monotonic_decreasing
    # every trial is still its own tracked run with its model and notebook
    runs = tracking.search_runs(
        [summary.experiment.experiment_id], filter_string="tags.`automl.role` = 'trial'"
    )
    assert len(runs) == len(summary.all_trials)
    assert all(t.model_uri and t.notebook_path for t in singles)
    # loads like any model, by run id and as the registered version
    X = wine.drop(columns="target")
    by_run = automl.load_model(best.run_id)
    proba = np.asarray(by_run.predict_proba(X))
    assert proba.shape == (len(X), 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(by_run.predict(X)) <= {0, 1, 2}
    registered = automl.load_model(summary.registered_model_uri)
    assert (np.asarray(registered.predict(X)) == wine["target"].to_numpy()).mean() > 0.9
    # its notebook refits the members, blends them and reproduces the tracked metrics
    notebook = nbformat.read(best.notebook_path, as_version=4)
    out = execute(notebook, tmp_path, timeout=600)
    printed = "".join(
        o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "reproduced" in printed and f"{best.metrics['val_log_loss']:.4f}"[:5] in printed
    members_file = Path(client.download_artifacts(best.run_id, "ensemble/members.json"))
    members_json = json.loads(members_file.read_text())
    assert members_json["weights"] == pytest.approx(weights, rel=1e-5)
