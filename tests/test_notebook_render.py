"""Rendering trial and exploration notebooks (no kernel): structure, literal code, escaping."""

from __future__ import annotations

import ast
from importlib.resources import files

import jinja2
import nbformat
import numpy as np
import pytest
from notebook_fixtures import HOSTILE, frame

from automl.notebooks.documents import (
    render_exploration_notebook,
    render_trial_notebook,
    write_notebook,
)
from automl.notebooks.source_run import NotebookRun
from automl.tabular.families import FAMILIES, available_families
from automl.tabular.plan import make_plan
from automl.tabular.preprocessing import build_pipeline

SECTIONS = [
    "Load the data",
    "Columns and their semantic types",
    "Preprocessing",
    "The split",
    "The model",
    "Evaluation",
    "Log this re-run",
    "Feature importance (SHAP)",
    "Inference",
]


@pytest.fixture(scope="module")
def classification():
    plan, alerts, prepared = make_plan(frame(120, "classification"), "classification", "target")
    return plan, alerts, prepared


@pytest.fixture(scope="module")
def regression():
    df = frame(120, "regression")
    plan, alerts, prepared = make_plan(df, "regression", "target", sample_weight_col="weight")
    return plan, alerts, prepared


def render(plan, config, experiment_id="7", **overrides):
    run = dict(
        run_id="0123456789abcdef0123456789abcdef",
        experiment_name="churn",
        snapshot_path="/data/training_data.parquet",
        tracking_uri="sqlite:///tmp/store.db",
        metrics={"val_f1_score": 0.8125, "test_f1_score": 0.75, "train_f1_score": 1.0},
        trial_number=4,
    )
    run.update(overrides)
    return render_trial_notebook(plan, config, NotebookRun(**run), experiment_id=experiment_id)


def default_config(plan, family):
    params = dict(FAMILIES[family].portfolio(plan)[0])
    if params.get("early_stopping_rounds"):
        params.update(n_estimators=37, early_stopping_rounds=None)
    return {"family": family, "params": params}


def code_of(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code")


def names_in(nb) -> set[str]:
    """Every string constant of the notebook's code."""
    tree = ast.parse(code_of(nb))
    return {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def test_trial_notebook_is_valid_v4_with_the_sections_in_order(classification):
    plan, _alerts, _prepared = classification
    nb = render(plan, default_config(plan, "random_forest"))
    nbformat.validate(nb)
    assert nb.nbformat == 4
    header = nb.cells[0]
    assert header.cell_type == "markdown"
    assert "Trial 4" in header.source and "random" in header.source
    assert "0.8125" in header.source and "0.75" in header.source
    assert "0123456789abcdef0123456789abcdef" in header.source
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    positions = [next(i for i, s in enumerate(markdown) if section in s) for section in SECTIONS]
    assert positions == sorted(positions)
    ast.parse(code_of(nb))
    params = next(c.source for c in nb.cells if "DATA_PATH = " in c.source)
    assert "import pandas as pd" in params and "LOG_RERUN = False" in params
    assert "TRACKING_URI = 'sqlite:///tmp/store.db'" in params


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_notebook_code_rebuilds_the_engines_exact_pipeline(task, classification, regression):
    """Executing the rendered preprocessing and model cells gives build_pipeline's objects."""
    plan, _alerts, _prepared = classification if task == "classification" else regression
    for family in available_families(plan):
        config = default_config(plan, family)
        nb = render(plan, config)
        cells = [c.source for c in nb.cells if c.cell_type == "code"]
        wanted = ("import ", "TARGET = ", "numeric_pipeline = ", "model = ")
        namespace: dict = {}
        for source in [s for s in cells if s.startswith(wanted)]:
            exec(compile(source, "<notebook>", "exec"), namespace)
        engine = build_pipeline(plan, config)
        assert repr(namespace["pipeline"].get_params(deep=True)) == repr(
            engine.get_params(deep=True)
        ), family
        assert namespace["FEATURES"] == plan.feature_names
        assert namespace["PLAN"] == plan


def test_model_hyperparameters_are_written_literally(classification):
    plan, _alerts, _prepared = classification
    config = default_config(plan, "lightgbm")
    nb = render(plan, config)
    model_cell = next(c.source for c in nb.cells if c.source.startswith("model = "))
    assert model_cell.startswith("model = LGBMClassifier(")
    # the searched values sit in the parameters cell, literally; the model cell passes them on
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for name, value in config["params"].items():
        if name != "early_stopping_rounds":
            assert f"\n{name} = {value!r}\n" in parameters.source + "\n"
            assert f"{name}={name}," in model_cell
    assert "\nSEED = 0  #" in parameters.source
    assert "random_state=SEED," in model_cell and "deterministic=True," in model_cell


def test_custom_transformers_come_from_public_automl_modules(classification):
    plan, _alerts, _prepared = classification
    nb = render(plan, default_config(plan, "logistic_regression"))
    tree = ast.parse(code_of(nb))
    modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert any(m.startswith("automl") for m in modules)
    assert "fit_and_score" not in code_of(nb)
    for module in modules:
        assert not any(part.startswith("_") for part in module.split(".")), module
    from_automl = {
        a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module == "automl"
        for a in n.names
    }
    assert {"DatetimeFeatures", "TextFeatures", "NumericCoercer"} <= from_automl


def test_cross_validation_is_written_out_for_cv_plans(classification, tmp_path):
    plan, _alerts, _prepared = classification
    assert plan.validation == "cv"
    code = code_of(render(plan, default_config(plan, "decision_tree")))
    assert "N_FOLDS = 5" in code and 'pool["_automl_fold"]' in code and "clone(pipeline)" in code
    df = frame(120, "regression")
    holdout_plan, _a, _p = make_plan(df, "regression", "target", time_col="when")
    holdout = code_of(render(holdout_plan, default_config(holdout_plan, "decision_tree")))
    assert "_automl_fold" not in holdout and "pipeline.fit(X_train, y_train" in holdout


def test_hostile_names_become_plain_string_literals():
    names = HOSTILE[:7] + ["target 'y'\n{{ t }}"]
    df = frame(150, "regression", names=names)
    df = df.rename(columns={names[6]: HOSTILE[7]})
    df[HOSTILE[8]] = np.arange(len(df)) % 7 * 1.5
    df[HOSTILE[10]] = np.arange(len(df)) % 3 * 0.5
    plan, alerts, _prepared = make_plan(df, "regression", names[-1], sample_weight_col=HOSTILE[7])
    nb = render(
        plan, default_config(plan, "linear_regression"), experiment_name="x\n# %%\n`{{ y }}`"
    )
    nbformat.validate(nb)
    plain_plan, _a, _p = make_plan(frame(150, "regression"), "regression", "target")
    plain = render(plain_plan, default_config(plain_plan, "linear_regression"))
    assert len(nb.cells) == len(plain.cells)
    assert [c.cell_type for c in nb.cells] == [c.cell_type for c in plain.cells]
    tree = ast.parse(code_of(nb))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "os" not in imported
    assert {*plan.feature_names, plan.target_col, HOSTILE[7]} <= names_in(nb)
    assert "# %%" in plan.feature_names and plan.sample_weight_col == "{{ x }}"

    exploration = render_exploration_notebook(
        plan, snapshot_path="/d.parquet", alerts=alerts, experiment_name="e", n_rows=1, n_columns=1
    )
    nbformat.validate(exploration)
    assert {*plan.feature_names, plan.target_col} <= names_in(exploration)


def test_bad_configs_get_errors_naming_the_argument(classification):
    plan, _alerts, _prepared = classification
    with pytest.raises(ValueError, match=r"config\['family'\].*'xgboost'"):
        render(plan, {"family": "xgboost", "params": {}})
    with pytest.raises(ValueError, match="does not do classification"):
        render(plan, {"family": "linear_regression", "params": {}})
    with pytest.raises(ValueError, match="config: expected"):
        render(plan, {"params": {}})
    with pytest.raises(ValueError, match="early_stopping_rounds"):
        render(plan, {"family": "lightgbm", "params": FAMILIES["lightgbm"].portfolio(plan)[0]})


def test_every_model_family_has_its_template():
    templates = files("notebook_templates") / "families"
    for name in FAMILIES:
        assert (templates / f"{name}.py.j2").is_file(), (
            f"add notebook_templates/families/{name}.py.j2"
        )


def test_exploration_notebook_lists_types_and_alerts(classification, tmp_path):
    plan, alerts, prepared = classification
    snapshot = tmp_path / "snapshot.parquet"
    prepared.to_parquet(snapshot, index=False)
    nb = render_exploration_notebook(
        plan, snapshot_path=snapshot, alerts=alerts, experiment_name="churn study"
    )
    nbformat.validate(nb)
    assert "120 rows x" in nb.cells[0].source
    code = code_of(nb)
    for alert in alerts:
        assert repr(alert["message"]) in code
    assert "SEMANTIC_TYPES = {" in code and repr(plan.target_col) in code
    ast.parse(code)


def test_write_notebook_validates_before_writing(classification, tmp_path):
    plan, _alerts, _prepared = classification
    nb = render(plan, default_config(plan, "decision_tree"))
    path = write_notebook(nb, tmp_path / "nested" / "trial.ipynb")
    again = nbformat.read(path, as_version=4)
    assert [c.source for c in again.cells] == [c.source for c in nb.cells]
    del nb.cells[1]["source"]
    with pytest.raises(nbformat.ValidationError):
        write_notebook(nb, tmp_path / "broken.ipynb")
    assert not (tmp_path / "broken.ipynb").exists()


def test_templates_cannot_paste_unescaped_values():
    from automl.notebooks.environment import environment

    env = environment()
    for value in ["'); import os; ('", ["a"], None, True]:
        with pytest.raises(jinja2.TemplateError, match="raw"):
            env.from_string("x = {{ value }}").render(value=value)
    assert env.from_string("x = {{ value|py }}").render(value="a'\n") == 'x = "a\'\\n"'
    assert env.from_string("{{ value|mdcode }}").render(value="a`b") == "``a`b``"


def test_literals_round_trip_exactly():
    from automl.notebooks.code import NotRenderableError, import_line, literal

    values = [
        0.1 + 0.2,
        -0.0,
        1e-300,
        float("inf"),
        np.float64(2.5),
        np.int64(7),
        np.True_,
        None,
        "'); import os; ('\n\\ {{ x }} \u2028 列",
        ("one",),
        {"k": [1, 2.0, None], 3: (True,)},
    ]
    for value in values:
        source = literal(value)
        assert eval(source) == value, source
    assert np.isnan(eval(literal(float("nan"))))

    class Hidden:
        pass

    with pytest.raises(NotRenderableError, match="not exported by a public module"):
        import_line(Hidden)
    with pytest.raises(NotRenderableError, match="cannot write"):
        literal(object())
