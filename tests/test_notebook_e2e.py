"""End to end: the best trial's notebook of a real search reproduces its tracked metrics.

A small ``classify`` and a small ``regress`` run; the regression experiment's data exploration
notebook and both best-trial notebooks run in one fresh kernel (``%reset -f`` between them).
"""

from __future__ import annotations

import nbformat
import pytest
from notebook_fixtures import (
    assert_reproduced,
    chain,
    chained_parts,
    execute,
    frame,
    images,
    labelled_metrics,
    stdout,
    with_probe,
)

import automl
import tracking

pytestmark = pytest.mark.slow


def _best(summary, label: str):
    """The best single-model trial (an ensemble run's notebook blends trials: test_ensemble)."""
    best = next(t for t in summary.trials if not str(t.notebook_path).endswith("_ensemble.ipynb"))
    assert best.notebook_path is not None
    nb = nbformat.read(best.notebook_path, as_version=4)
    nbformat.validate(nb)
    tracked = tracking.TrackingClient().get_run(best.run_id).data.metrics
    tracked = {k: v for k, v in tracked.items() if k.startswith(("train_", "val_", "test_"))}
    assert any(k.startswith("val_") for k in tracked) and any(
        k.startswith("test_") for k in tracked
    )
    return with_probe(nb, label), tracked


def test_best_trial_notebooks_reproduce_tracked_metrics(tmp_path):
    classified = automl.classify(
        frame(200, "classification"), target_col="target", max_trials=2, n_jobs=2, verbose=False
    )
    regressed = automl.regress(
        frame(200, "regression", seed=3),
        target_col="target",
        time_col="when",
        max_trials=2,
        n_jobs=2,
        verbose=False,
    )
    assert classified.validation == "cv" and regressed.validation == "holdout"
    classify_nb, classify_metrics = _best(classified, "classify")
    regress_nb, regress_metrics = _best(regressed, "regress")
    exploration = nbformat.read(regressed.exploration_notebook_path, as_version=4)

    out = execute(chain(exploration, classify_nb, regress_nb), tmp_path, timeout=600)
    seen = labelled_metrics(out)
    assert_reproduced(classify_metrics, seen["classify"], "classify")
    assert_reproduced(regress_metrics, seen["regress"], "regress")
    printed = stdout(out)
    assert printed.count("same as this notebook's model: True") == 2
    assert "200 rows x" in printed
    explored, classify_run, regress_run = [images(part) for part in chained_parts(out)]
    assert explored >= 5
    assert classify_run >= 2 and regress_run >= 2, "evaluation and SHAP plots must show"
