"""Build the template context of a trial notebook from the trial's plan and config.

The code in the notebook is derived from the very objects ``fit_and_score`` trains
(``build_pipeline``), written out as constructor calls with literal arguments, so the notebook and
the engine cannot drift apart while the notebook stays plain, editable scikit-learn code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from automl.notebooks.code import (
    Code,
    constructor_params,
    estimator_call,
    import_block,
    import_line,
    literal,
)

BASE_IMPORTS = (
    "import matplotlib.pyplot as plt",
    "import numpy as np",
    "import pandas as pd",
    "import shap",
    "import registry",
    "import tracking",
)

#: Variable name in the notebook for each ``plan.feature_columns`` group.
GROUP_VARIABLES = {
    "numeric": "NUMERIC_COLUMNS",
    "categorical": "CATEGORICAL_COLUMNS",
    "high_cardinality": "HIGH_CARDINALITY_COLUMNS",
    "boolean": "BOOLEAN_COLUMNS",
    "datetime": "DATETIME_COLUMNS",
    "text": "TEXT_COLUMNS",
}


def trial_context(
    plan: Any, config: Mapping[str, Any], *, n_threads: int, **header: Any
) -> dict[str, Any]:
    """Everything the trial templates need: header values, literal code fragments, imports."""
    from automl.tabular.families import get_family
    from automl.tabular.metrics import evaluate
    from automl.tabular.plan import DataPlan
    from automl.tabular.preprocessing import build_pipeline

    if not isinstance(config, Mapping) or "family" not in config:
        raise ValueError(f"config: expected {{'family': ..., 'params': {{...}}}}, got {config!r}")
    family = get_family(config["family"], plan)
    params = dict(config.get("params") or {})
    if params.get("early_stopping_rounds"):
        raise ValueError(
            "config['params']['early_stopping_rounds'] is set: render the config returned by "
            "fit_and_score (it fixes n_estimators to the rounds found and turns early stopping off)"
        )
    pipeline = build_pipeline(plan, {"family": family.name, "params": params}, n_threads=n_threads)
    (pre_name, preprocessor), (model_name, model) = pipeline.steps
    imports = {*BASE_IMPORTS, import_line(Pipeline), import_line(DataPlan), import_line(evaluate)}
    if plan.validation == "cv":
        imports.add("from sklearn.base import clone")
    groups = _column_groups(plan)
    return {
        **header,
        "task": plan.task,
        "family": family.name,
        "family_description": family.description,
        "family_template": _family_template(family.name),
        "plan_dict": plan.to_dict(),
        "target_col": plan.target_col,
        "sample_weight_col": plan.sample_weight_col,
        "validation": plan.validation,
        "n_folds": int(plan.n_folds),
        "seed": int(plan.seed),
        "primary_metric": plan.primary_metric,
        "column_groups": groups,
        "column_pipelines": _column_pipelines(preprocessor, groups, imports),
        "preprocessor_options": _options(preprocessor, imports),
        "preprocess_step": pre_name,
        "model_step": model_name,
        "model_class": type(model).__name__,
        "model_code": estimator_call(model, imports, all_params=True),
        "imports": import_block(imports),
        "metric_rows": _metric_rows(header.get("metrics", {})),
    }


def _family_template(name: str) -> str:
    from automl.notebooks.environment import environment

    path = f"families/{name}.py.j2"
    try:
        environment().get_template(path)
    except jinja2.TemplateNotFound:
        return "families/_generic.py.j2"
    return path


def _column_groups(plan: Any) -> list[dict[str, Any]]:
    from automl.tabular.semantic import KINDS

    kinds = [*KINDS, *(k for k in plan.feature_columns if k not in KINDS)]
    groups = []
    for kind in kinds:
        if not plan.feature_columns.get(kind):
            continue
        variable = GROUP_VARIABLES.get(kind, f"{kind.upper()}_COLUMNS")
        if not variable.isidentifier():
            raise ValueError(f"plan.feature_columns: group {kind!r} must be an identifier")
        groups.append({"variable": Code(variable), "columns": list(plan.feature_columns[kind])})
    return groups


def _columns_code(columns: Any, groups: list[dict[str, Any]]) -> Code:
    """The group variable when ``columns`` is exactly one group, else a literal list."""
    for group in groups:
        if isinstance(columns, list | tuple) and group["columns"] == list(columns):
            return group["variable"]
    return literal(columns)


def _column_pipelines(
    ct: ColumnTransformer, groups: list[dict[str, Any]], imports: set[str]
) -> list[dict[str, Any]]:
    """One entry per ColumnTransformer part: its variable, steps (or single code) and columns."""
    imports.add(import_line(ColumnTransformer))
    parts = []
    for i, (name, transformer, columns) in enumerate(ct.transformers):
        variable = f"{name}_pipeline" if str(name).isidentifier() else f"transformer_{i}"
        part: dict[str, Any] = {
            "name": literal(name),
            "variable": Code(variable),
            "columns": _columns_code(columns, groups),
            "steps": None,
            "code": None,
        }
        if isinstance(transformer, Pipeline):
            part["steps"] = [
                (literal(step_name), _indented(estimator_call(step, imports), 8))
                for step_name, step in transformer.steps
            ]
        else:
            part["code"] = literal(transformer, imports)
        parts.append(part)
    return parts


def _indented(code: Code, spaces: int) -> Code:
    """Continuation lines of a multi-line call shifted right to sit inside a block."""
    return Code(code.replace("\n", "\n" + " " * spaces))


def _options(ct: ColumnTransformer, imports: set[str]) -> list[Code]:
    """Non-default ColumnTransformer keyword arguments as ``name=literal``."""
    return [
        Code(f"{k}={literal(v, imports)}")
        for k, v in constructor_params(ct).items()
        if k != "transformers"
    ]


def _metric_rows(metrics: Mapping[str, float]) -> list[dict[str, Any]]:
    names: list[str] = []
    for key in metrics:
        for prefix in ("train_", "val_", "test_"):
            if key.startswith(prefix) and key[len(prefix) :] not in names:
                names.append(key[len(prefix) :])
    return [
        {
            "name": name,
            "train": metrics.get(f"train_{name}"),
            "val": metrics.get(f"val_{name}"),
            "test": metrics.get(f"test_{name}"),
        }
        for name in names
    ]
