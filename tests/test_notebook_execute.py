"""Executed trial notebooks reproduce ``fit_and_score`` (real Jupyter kernel, every family).

Kernel start-up plus the heavy imports cost most of a notebook's run time, so each model family
matrix runs its notebooks one after another in one fresh kernel, with ``%reset -f`` between them
(nothing defined by one notebook is visible to the next). The hostile-names notebook runs alone.
"""

from __future__ import annotations

import ast
import json

import numpy as np
import pytest
from notebook_fixtures import HOSTILE, execute, frame, probed_metrics, set_parameter, stdout

import tracking
from automl.families import FAMILIES, available_families
from automl.fit import fit_and_score
from automl.notebooks import render_trial_notebook, write_notebook
from automl.plan import make_plan

pytestmark = pytest.mark.slow


def _store(tmp_path) -> tuple[str, str]:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    tracking.set_tracking_uri(uri)
    experiment = tracking.set_experiment("notebooks")
    return uri, experiment.experiment_id


def _trial_notebook(plan, prepared, config, tmp_path, uri, experiment_id, number):
    """Fit like the engine, log the model to a real run, render the trial's notebook."""
    pipeline, metrics, config = fit_and_score(plan, config, prepared)
    with tracking.start_run(experiment_id=experiment_id) as run:
        tracking.log_metrics(metrics)
        tracking.log_model(pipeline, "model", task=plan.task)
    snapshot = tmp_path / "snapshot.parquet"
    if not snapshot.exists():
        prepared.to_parquet(snapshot, index=False)
    nb = render_trial_notebook(
        plan,
        config,
        run_id=run.info.run_id,
        experiment_name="notebooks",
        experiment_id=experiment_id,
        snapshot_path=snapshot,
        tracking_uri=uri,
        metrics=metrics,
        trial_number=number,
    )
    write_notebook(nb, tmp_path / f"trial_{number}.ipynb")
    return nb, metrics


def _assert_reproduced(expected: dict[str, float], got: dict[str, float], label: str) -> None:
    assert set(got) == set(expected), label
    for key, value in expected.items():
        if np.isnan(value):
            assert np.isnan(got[key]), f"{label}: {key}"
        else:
            assert abs(got[key] - value) <= 1e-9, f"{label}: {key} {got[key]!r} != {value!r}"


def _run_matrix(plan, prepared, tmp_path) -> None:
    uri, experiment_id = _store(tmp_path)
    families = available_families(plan)
    combined = None
    expected = {}
    for number, family in enumerate(families):
        config = {"family": family, "params": FAMILIES[family].portfolio(plan)[0]}
        nb, metrics = _trial_notebook(plan, prepared, config, tmp_path, uri, experiment_id, number)
        expected[family] = metrics
        probe = f"import json as _j\nprint('METRICS ' + _j.dumps([{family!r}, metrics]))"
        nb.cells.append(nbformat_cell(probe))
        nb.cells.append(nbformat_cell("%reset -f"))
        if combined is None:
            combined = nb
        else:
            combined.cells.extend(nb.cells)
    out = execute(combined, tmp_path, timeout=600)
    seen = {}
    for line in stdout(out).splitlines():
        if line.startswith("METRICS "):
            family, metrics = json.loads(line[len("METRICS ") :])
            seen[family] = metrics
    assert set(seen) == set(families)
    for family in families:
        _assert_reproduced(expected[family], seen[family], family)
    assert stdout(out).count("same as this notebook's model: True") == len(families)


def nbformat_cell(source: str):
    from nbformat.v4 import new_code_cell

    return new_code_cell(source)


def test_every_classification_family_reproduces_cv_metrics(tmp_path):
    df = frame(240, "classification")
    plan, _alerts, prepared = make_plan(df, "classification", "target", sample_weight_col="weight")
    assert plan.validation == "cv" and len(plan.classes) == 3
    _run_matrix(plan, prepared, tmp_path)


def test_every_regression_family_reproduces_holdout_metrics(tmp_path):
    df = frame(300, "regression")
    plan, _alerts, prepared = make_plan(df, "regression", "target", time_col="when")
    assert plan.validation == "holdout"
    _run_matrix(plan, prepared, tmp_path)


def test_hostile_column_names_run_as_plain_names(tmp_path):
    names = HOSTILE[:7] + ["target 'y'\n{{ t }}"]
    df = frame(260, "classification", seed=1, names=names)
    df[names[-1]] = np.where(df[names[-1]] == "high", "yes!", "no")
    df = df.rename(columns={names[6]: HOSTILE[7]})
    df[HOSTILE[8]] = np.random.default_rng(2).normal(size=len(df))
    df[HOSTILE[9]] = np.random.default_rng(3).choice(["a", "b"], len(df))
    df[HOSTILE[10]] = np.random.default_rng(4).normal(size=len(df))
    plan, _alerts, prepared = make_plan(
        df, "classification", names[-1], sample_weight_col=HOSTILE[7], pos_label="yes!"
    )
    used = set(plan.feature_names)
    assert {HOSTILE[0], HOSTILE[8], HOSTILE[9], HOSTILE[10]} <= used
    uri, experiment_id = _store(tmp_path)
    config = {"family": "random_forest", "params": FAMILIES["random_forest"].portfolio(plan)[2]}
    nb, metrics = _trial_notebook(plan, prepared, config, tmp_path, uri, experiment_id, 7)

    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    tree = ast.parse(code)
    imported = {
        a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
    }
    assert "os" not in imported
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert set(plan.feature_names) | {plan.target_col, HOSTILE[7]} <= strings

    set_parameter(nb, "LOG_RERUN", True)
    set_parameter(nb, "REGISTER_MODEL", True)
    out = execute(nb, tmp_path, probe="import json as _j\nprint('METRICS=' + _j.dumps(metrics))")
    _assert_reproduced(metrics, probed_metrics(out), "hostile")
    printed = stdout(out)
    assert "same as this notebook's model: True" in printed
    assert "is 'champion'" in printed
    runs = tracking.TrackingClient(uri).search_runs([experiment_id])
    reruns = [r for r in runs if r.data.tags.get("automl.rerun_of") == runs[-1].info.run_id]
    assert len(reruns) == 1
    logged = reruns[0].data.metrics
    assert logged["test_f1_score"] == pytest.approx(metrics["test_f1_score"], abs=1e-12)
