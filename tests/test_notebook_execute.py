"""Executed trial notebooks reproduce ``fit_and_score`` (real Jupyter kernel, every family).

Kernel start-up plus the heavy imports cost most of a notebook's run time, so each family matrix
runs its notebooks one after another in one fresh kernel, with ``%reset -f`` between them
(nothing defined by one notebook is visible to the next).
"""

from __future__ import annotations

import ast

import numpy as np
import pytest
from notebook_fixtures import (
    HOSTILE,
    assert_reproduced,
    chain,
    execute,
    frame,
    labelled_metrics,
    set_parameter,
    stdout,
    with_probe,
)

import tracking
from automl.notebooks.documents import (
    render_exploration_notebook,
    render_trial_notebook,
    write_notebook,
)
from automl.notebooks.source_run import NotebookRun
from automl.tabular.families import FAMILIES, available_families
from automl.tabular.fit import fit_and_score
from automl.tabular.plan import make_plan

pytestmark = pytest.mark.slow


def _store(tmp_path) -> tuple[str, str]:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    tracking.set_tracking_uri(uri)
    experiment = tracking.set_experiment("notebooks")
    return uri, experiment.experiment_id


def _config(plan, family: str) -> dict:
    """The family's first default, with small forests to keep the test quick."""
    params = dict(FAMILIES[family].portfolio(plan)[0])
    if family in ("random_forest", "extra_trees"):
        params["n_estimators"] = 25
    return {"family": family, "params": params}


def _trial_notebook(plan, prepared, config, tmp_path, number):
    """Fit like the engine, log the model to a real run, render the trial's notebook."""
    uri = tracking.get_tracking_uri()
    experiment_id = tracking.set_experiment("notebooks").experiment_id
    pipeline, metrics, config = fit_and_score(plan, config, prepared)
    with tracking.start_run(experiment_id=experiment_id) as run:
        tracking.log_metrics(metrics)
        tracking.log_model(pipeline, "model", task=plan.task)
    snapshot = tmp_path / "snapshot.parquet"
    if not snapshot.exists():
        prepared.to_parquet(snapshot, index=False)
    source = NotebookRun(run.info.run_id, "notebooks", number, snapshot, uri, metrics)
    nb = render_trial_notebook(plan, config, source, experiment_id=experiment_id)
    write_notebook(nb, tmp_path / f"trial_{number}.ipynb")
    return nb, metrics


def _run_matrix(plan, prepared, tmp_path) -> None:
    _store(tmp_path)
    families = available_families(plan)
    notebooks, expected = [], {}
    for number, family in enumerate(families):
        nb, expected[family] = _trial_notebook(
            plan, prepared, _config(plan, family), tmp_path, number
        )
        notebooks.append(with_probe(nb, family))
    out = execute(chain(*notebooks), tmp_path, timeout=600)
    seen = labelled_metrics(out)
    assert set(seen) == set(families)
    for family in families:
        assert_reproduced(expected[family], seen[family], family)
    assert stdout(out).count("same as this notebook's model: True") == len(families)


def test_every_classification_family_reproduces_cv_metrics(tmp_path):
    df = frame(160, "classification")
    plan, _alerts, prepared = make_plan(df, "classification", "target", sample_weight_col="weight")
    assert plan.validation == "cv" and len(plan.classes) == 3
    _run_matrix(plan, prepared, tmp_path)


def test_every_regression_family_reproduces_holdout_metrics(tmp_path):
    df = frame(200, "regression")
    plan, _alerts, prepared = make_plan(df, "regression", "target", time_col="when")
    assert plan.validation == "holdout"
    _run_matrix(plan, prepared, tmp_path)


def test_hostile_column_names_run_as_plain_names(tmp_path):
    """Quotes, newlines, backslashes, unicode, keywords, Jinja and code in names; also the
    optional re-run logging and registration cells, switched on as a user would."""
    names = HOSTILE[:7] + ["target 'y'\n{{ t }}"]
    df = frame(200, "classification", seed=1, names=names)
    df[names[-1]] = np.where(df[names[-1]] == "high", "yes!", "no")
    df = df.rename(columns={names[6]: HOSTILE[7]})
    df[HOSTILE[8]] = np.random.default_rng(2).normal(size=len(df))
    df[HOSTILE[9]] = np.random.default_rng(3).choice(["a", "b"], len(df))
    df[HOSTILE[10]] = np.random.default_rng(4).normal(size=len(df))
    plan, alerts, prepared = make_plan(
        df, "classification", names[-1], sample_weight_col=HOSTILE[7], pos_label="yes!"
    )
    assert {HOSTILE[0], HOSTILE[2], HOSTILE[8], HOSTILE[9], HOSTILE[10]} <= set(plan.feature_names)
    uri, experiment_id = _store(tmp_path)
    nb, metrics = _trial_notebook(plan, prepared, _config(plan, "random_forest"), tmp_path, 7)

    tree = ast.parse("\n".join(c.source for c in nb.cells if c.cell_type == "code"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "os" not in imported
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert {*plan.feature_names, plan.target_col, HOSTILE[7]} <= strings

    set_parameter(nb, "LOG_RERUN", True)
    set_parameter(nb, "REGISTER_MODEL", True)
    exploration = render_exploration_notebook(
        plan, snapshot_path=tmp_path / "snapshot.parquet", alerts=alerts, experiment_name="x\ny"
    )
    out = execute(chain(with_probe(nb, "hostile"), exploration), tmp_path)
    assert_reproduced(metrics, labelled_metrics(out)["hostile"], "hostile")
    printed = stdout(out)
    assert "same as this notebook's model: True" in printed
    assert "is 'champion'" in printed
    assert f"{len(prepared)} rows x" in printed
    runs = tracking.TrackingClient(uri).search_runs([experiment_id])
    reruns = [r for r in runs if "automl.rerun_of" in r.data.tags]
    originals = [r for r in runs if "automl.rerun_of" not in r.data.tags]
    assert len(reruns) == 1 and len(originals) == 1
    assert reruns[0].data.tags["automl.rerun_of"] == originals[0].info.run_id
    assert_reproduced(metrics, reruns[0].data.metrics, "logged re-run")
