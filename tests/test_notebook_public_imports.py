"""Rendered notebooks import only the package's stable public names, and trial notebooks have a
papermill parameters cell that feeds the model (no kernel: the code cells are parsed)."""

from __future__ import annotations

import ast
import importlib

import pytest
from notebook_fixtures import frame

import automl.tabular
from automl.notebooks.code import NotRenderableError, import_line
from automl.notebooks.documents import render_exploration_notebook, render_trial_notebook
from automl.notebooks.ensemble import render_ensemble_notebook
from automl.notebooks.source_run import NotebookRun
from automl.tabular.families import FAMILIES, available_families
from automl.tabular.plan import make_plan

#: The modules notebooks may import automl names from, and only the names in their __all__.
PUBLIC_MODULES = ("automl", "automl.tabular")


def public_names() -> set[tuple[str, str]]:
    names = set()
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        names |= {(module_name, name) for name in module.__all__}
    return names


def automl_imports(nb) -> list[tuple[str, str]]:
    """``(module, name)`` of every import of an automl module in the notebook's code cells."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "automl":
                found += [(node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(a.name, "") for a in node.names if a.name.split(".")[0] == "automl"]
    return found


def _config(plan, family):
    params = dict(FAMILIES[family].portfolio(plan)[0])
    if params.get("early_stopping_rounds"):
        params.update(n_estimators=40, early_stopping_rounds=None)
    return {"family": family, "params": params}


def _render(plan, family):
    return render_trial_notebook(plan, _config(plan, family), _run(0), experiment_id="1")


def _run(number):
    return NotebookRun("0" * 32, "e", number, "/d.parquet", "sqlite:///s.db", {"val_r2": 0.5})


def _plans():
    """Classification and regression, CV and holdout, every column kind incl. high cardinality."""
    plans = []
    for task, n, time_col in [("classification", 160, None), ("regression", 300, "when")]:
        df = frame(n, task, seed=n)
        df["code"] = [f"c{i % 97}" for i in range(n)]  # many levels: a high-cardinality column
        plan, alerts, _prepared = make_plan(
            df, task, "target", sample_weight_col="weight", time_col=time_col
        )
        plans.append((plan, alerts))
    assert {p.validation for p, _a in plans} == {"cv", "holdout"}
    assert any(p.feature_columns.get("high_cardinality") for p, _a in plans)
    return plans


@pytest.fixture(scope="module")
def notebooks():
    rendered = []
    for plan, alerts in _plans():
        for family in available_families(plan):
            rendered.append(
                (f"{plan.task}/{plan.validation}/{family}", plan, _render(plan, family))
            )
        members = [_config(plan, f) for f in available_families(plan)[:2]]
        ensemble = render_ensemble_notebook(plan, members, [0.5, 0.5], _run(9))
        rendered.append((f"{plan.task}/ensemble", plan, ensemble))
        exploration = render_exploration_notebook(
            plan,
            snapshot_path="/d.parquet",
            alerts=alerts,
            experiment_name="e",
            n_rows=1,
            n_columns=1,
        )
        rendered.append((f"{plan.task}/exploration", plan, exploration))
    families = {label.rsplit("/", 1)[1] for label, _p, _nb in rendered}
    assert set(FAMILIES) <= families, "every model family is rendered"
    return rendered


def test_notebooks_import_only_names_the_package_exports_on_purpose(notebooks):
    allowed = public_names()
    seen = set()
    for label, _plan, nb in notebooks:
        for module, name in automl_imports(nb):
            assert (module, name) in allowed, f"{label}: from {module} import {name}"
            seen.add(name)
            assert getattr(importlib.import_module(module), name) is not None
    # not vacuous: the trial notebooks do use the package (plan, metrics, split, transformers)
    assert {
        "DataPlan",
        "evaluate",
        "assign_split",
        "load_dataset",
        "HighCardinalityEncoder",
    } <= seen
    assert "stable" in automl.tabular.__doc__


def test_an_internal_name_cannot_be_rendered_into_a_notebook():
    from automl.tabular.preprocessing import build_pipeline
    from automl.tabular.split import sample_for_budget

    assert import_line(automl.tabular.DataPlan) == "from automl.tabular import DataPlan"
    for internal in (build_pipeline, sample_for_budget):
        with pytest.raises(NotRenderableError, match=r"not a public name.*__all__"):
            import_line(internal)


def test_trial_notebooks_have_one_papermill_parameters_cell_feeding_the_model(notebooks):
    for label, plan, nb in notebooks:
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, label
        if label.rsplit("/", 1)[1] not in FAMILIES:  # exploration and ensemble notebooks
            assert "\nDATA_PATH = '/d.parquet'" in "\n" + tagged[0].source, label
            continue
        assigned = {
            n.targets[0].id: ast.literal_eval(n.value)
            for n in ast.parse(tagged[0].source).body
            if isinstance(n, ast.Assign)
        }
        assert assigned["SEED"] == plan.seed and assigned["DATA_PATH"] == "/d.parquet", label
        hyper = nb.metadata["automl"]["hyperparameters"]
        searched = {p.name for p in FAMILIES[label.rsplit("/", 1)[1]].space(plan)}
        assert hyper and set(hyper) <= set(assigned), label
        model_cell = next(c.source for c in nb.cells if c.source.startswith("model = "))
        for name in hyper:
            assert f"{name}={name}" in model_cell, (label, name)
        assert "random_state=SEED" in model_cell, label
        assert searched & set(hyper), f"{label}: no searched hyperparameter is a parameter"
        # nothing else binds a parameter's name (an import, a function, another cell's variable),
        # so an injected value reaches the model and the plan
        imported = {
            (a.asname or a.name).split(".")[0]
            for n in ast.walk(ast.parse(tagged[0].source))
            if isinstance(n, ast.Import | ast.ImportFrom)
            for a in n.names
        }
        assert not imported & set(assigned), (label, imported & set(assigned))
        for cell in nb.cells:
            if cell.cell_type != "code" or cell is tagged[0]:
                continue
            rebound = {
                n.id
                for n in ast.walk(ast.parse(cell.source))
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            } | {
                n.name
                for n in ast.walk(ast.parse(cell.source))
                if isinstance(n, ast.FunctionDef | ast.ClassDef)
            }
            assert not rebound & set(assigned), (label, rebound & set(assigned))


def test_parameters_cell_values_rebuild_the_trials_model(notebooks):
    """Running the parameters and model cells gives the estimator the trial's config builds."""
    from automl.tabular.preprocessing import build_pipeline

    for label, plan, nb in notebooks:
        family = label.rsplit("/", 1)[1]
        if family not in FAMILIES:
            continue
        namespace: dict = {}
        exec(
            next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", [])),
            namespace,
        )
        exec(
            next(c.source for c in nb.cells if c.source.startswith("model = ")).split("\npipeline")[
                0
            ],
            namespace,
        )
        expected = build_pipeline(plan, _config(plan, family))[-1]
        assert repr(namespace["model"].get_params(deep=True)) == repr(
            expected.get_params(deep=True)
        )
