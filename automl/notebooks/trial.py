"""Build the template context of a trial notebook from the trial's plan and config.

The code in the notebook is derived from the very objects ``fit_and_score`` trains
(``build_pipeline``), written out as constructor calls with literal arguments, so the notebook and
the engine cannot drift apart while the notebook stays plain, editable scikit-learn code.
"""

from __future__ import annotations

import keyword
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

#: The parameters cell's settings (besides the hyperparameters); ``automl rerun`` sets these.
SEED_VARIABLE = "SEED"
SETTINGS = (
    "DATA_PATH",
    SEED_VARIABLE,
    "TRACKING_URI",
    "LOG_RERUN",
    "REGISTER_MODEL",
    "RUN_ID",
    "EXPERIMENT_ID",
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
    from automl.core.tags import DECISION_THRESHOLD, TRAIN_ROWS
    from automl.tabular import (
        DataPlan,
        FoldAverage,
        aligned_proba,
        assign_split,
        evaluate,
        load_dataset,
        training_rows,
        tune_threshold,
        with_threshold,
    )
    from automl.tabular.families import get_family
    from automl.tabular.preprocessing import build_pipeline
    from automl.tabular.thresholds import tunes_threshold

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
    imports = {*BASE_IMPORTS, *map(import_line, (Pipeline, DataPlan, evaluate))}
    imports |= {import_line(assign_split), import_line(load_dataset)}
    threshold = tunes_threshold(plan)
    if params.get(TRAIN_ROWS) is not None:
        imports.add(import_line(training_rows))
    if plan.validation == "cv":
        imports |= {"from sklearn.base import clone", import_line(FoldAverage)}
    if threshold:
        imports |= {import_line(f) for f in (aligned_proba, tune_threshold)}
        if plan.validation != "cv":
            imports.add(import_line(with_threshold))
    groups = _column_groups(plan)
    hyper = hyperparameters(model, params)
    variables = {path: name for name, (path, _value) in hyper.items()}
    variables.update({path: SEED_VARIABLE for path in _seed_paths(model, int(plan.seed))})
    return {
        **header,
        "task": plan.task,
        "family": family.name,
        "family_description": family.description,
        "family_template": _family_template(family.name),
        "plan_dict": {k: v for k, v in plan.to_dict().items() if k != "seed"},
        "target_col": plan.target_col,
        "sample_weight_col": plan.sample_weight_col,
        "validation": plan.validation,
        "n_folds": int(plan.n_folds),
        "seed": int(plan.seed),
        "primary_metric": plan.primary_metric,
        "tunes_threshold": threshold,
        "decision_threshold": params.get(DECISION_THRESHOLD),
        "train_rows": params.get(TRAIN_ROWS),
        "threshold_param": DECISION_THRESHOLD,
        "column_groups": groups,
        "column_pipelines": _column_pipelines(preprocessor, groups, imports),
        "preprocessor_options": _options(preprocessor, imports),
        "preprocess_step": pre_name,
        "model_step": model_name,
        "model_class": type(model).__name__,
        "hyperparameters": [
            {"name": Code(name), "path": path, "value": value}
            for name, (path, value) in hyper.items()
        ],
        "hyperparameter_paths": {name: path for name, (path, _value) in hyper.items()},
        "model_code": estimator_call(model, imports, all_params=True, variables=variables),
        "imports": import_block(imports),
        "metric_rows": _metric_rows(header.get("metrics", {})),
    }


def hyperparameters(model: Any, params: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """The trial's searched hyperparameters the notebook exposes as parameters-cell variables.

    ``{name: (deep parameter path, value)}`` for each name of the trial's config that sets
    exactly one constructor parameter of ``model`` (``alpha`` -> ``regressor__alpha`` in a
    wrapped regressor) to the same value. Config keys the family turns into something else (a
    penalty picking the estimator class, say) stay literal in the model cell.
    """
    deep = model.get_params(deep=True)
    found: dict[str, tuple[str, Any]] = {}
    for name, value in params.items():
        if not name.isidentifier() or keyword.iskeyword(name) or name in SETTINGS:
            continue
        paths = [
            path
            for path, current in deep.items()
            if (path == name or path.endswith("__" + name))
            and not hasattr(current, "get_params")
            and _same_value(current, value)
        ]
        if len(paths) == 1:
            found[name] = (paths[0], deep[paths[0]])
    return found


def _same_value(current: Any, value: Any) -> bool:
    numbers = (int, float)
    if isinstance(current, bool) or isinstance(value, bool):
        return current is value
    if isinstance(current, numbers) and isinstance(value, numbers):
        return float(current) == float(value)
    return type(current) is type(value) and current == value


def _seed_paths(model: Any, seed: int) -> list[str]:
    """Deep ``random_state`` parameters set from the experiment's seed (written as ``SEED``)."""
    return [
        path
        for path, value in model.get_params(deep=True).items()
        if path.split("__")[-1] == "random_state" and type(value) is int and value == seed
    ]


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
