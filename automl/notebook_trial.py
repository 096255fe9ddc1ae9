"""Build the template context of a trial notebook from the trial's plan and config.

The code in the notebook is derived from the very objects ``fit_and_score`` trains
(``build_pipeline``), written out as constructor calls with literal arguments, so the notebook and
the engine cannot drift apart while the notebook stays plain, editable scikit-learn code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from automl.notebook_code import Code, estimator_call, import_line, literal, sorted_imports

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
    from automl.families import FAMILIES
    from automl.preprocessing import build_pipeline

    family_name = _family_name(config, FAMILIES)
    params = dict(config.get("params") or {})
    pipeline = build_pipeline(plan, {"family": family_name, "params": params}, n_threads=n_threads)
    imports: set[str] = {import_line(Pipeline)}
    groups = _column_groups(plan)
    steps = _pipeline_steps(pipeline, groups, imports)
    model = pipeline.steps[-1][1]
    return {
        **header,
        "task": plan.task,
        "family": family_name,
        "framework": getattr(FAMILIES[family_name], "framework", "sklearn"),
        "family_template": _family_template(family_name),
        "params": params,
        "plan_dict": plan.to_dict(),
        "target_col": plan.target_col,
        "sample_weight_col": plan.sample_weight_col,
        "validation": plan.validation,
        "n_folds": int(plan.n_folds),
        "seed": int(plan.seed),
        "primary_metric": plan.primary_metric,
        "column_groups": groups,
        "preprocessors": steps["preprocessors"],
        "pipeline_steps": steps["steps"],
        "model_class": type(model).__name__,
        "model_code": estimator_call(model, imports, all_params=True),
        "model_step": pipeline.steps[-1][0],
        "imports": sorted_imports(imports),
        "metric_rows": _metric_rows(header.get("metrics", {})),
    }


def _family_name(config: Mapping[str, Any], families: Mapping[str, Any]) -> str:
    if not isinstance(config, Mapping) or "family" not in config:
        raise ValueError(
            f"config must be a dict {{'family': ..., 'params': {{...}}}}, got {config!r}"
        )
    name = config["family"]
    if name not in families:
        raise ValueError(
            f"config['family'] is {name!r}, which is not a model family; "
            f"choose one of {sorted(families)}"
        )
    return str(name)


def _family_template(name: str) -> str:
    from automl.notebook_render import environment

    path = f"families/{name}.py.j2"
    try:
        environment().get_template(path)
    except Exception:  # noqa: BLE001 - any missing/broken family part falls back to the generic one
        return "families/_generic.py.j2"
    return path


def _column_groups(plan: Any) -> list[dict[str, Any]]:
    groups = []
    for kind, columns in plan.feature_columns.items():
        variable = GROUP_VARIABLES.get(kind, f"{kind.upper()}_COLUMNS")
        if not variable.isidentifier():
            raise ValueError(f"plan.feature_columns has a group named {kind!r}; use identifiers")
        groups.append({"kind": kind, "variable": Code(variable), "columns": list(columns)})
    return groups


def _columns_code(columns: Any, groups: list[dict[str, Any]]) -> Code:
    """The group variable when ``columns`` is exactly one group, or a sum of groups, or a literal."""
    if isinstance(columns, list | tuple):
        columns = list(columns)
        for group in groups:
            if group["columns"] == columns:
                return group["variable"]
        start, parts = 0, []
        for group in groups:
            size = len(group["columns"])
            if size and columns[start : start + size] == group["columns"]:
                parts.append(group["variable"])
                start += size
        if parts and start == len(columns):
            return Code(" + ".join(parts))
    return literal(columns)


def _pipeline_steps(
    pipeline: Pipeline, groups: list[dict[str, Any]], imports: set[str]
) -> dict[str, Any]:
    """Split the engine's pipeline into preprocessing code blocks and the step list."""
    preprocessors: list[dict[str, Any]] = []
    steps: list[tuple[str, Code]] = []
    for name, step in pipeline.steps[:-1]:
        variable = Code("preprocessor" if not preprocessors else f"preprocessor_{name}")
        if isinstance(step, ColumnTransformer):
            preprocessors.append(_column_transformer(variable, step, groups, imports))
            steps.append((name, variable))
        else:
            steps.append((name, _multiline(step, imports, "    ")))
    steps.append((pipeline.steps[-1][0], Code("model")))
    return {"preprocessors": preprocessors, "steps": steps}


def _column_transformer(
    variable: Code, ct: ColumnTransformer, groups: list[dict[str, Any]], imports: set[str]
) -> dict[str, Any]:
    imports.add(import_line(ColumnTransformer))
    transformers = []
    for name, transformer, columns in ct.transformers:
        if isinstance(transformer, str):
            code = literal(transformer)
        else:
            code = _multiline(transformer, imports, "        ")
        transformers.append(
            {"name": literal(name), "code": code, "columns": _columns_code(columns, groups)}
        )
    others = {k: v for k, v in ct.get_params(deep=False).items() if k != "transformers"}
    options = estimator_call(ColumnTransformer(transformers=[], **others), imports)
    extra = options[len("ColumnTransformer(") : -1].strip()
    extra = Code(", ".join(a.strip() for a in extra.rstrip(",").split("\n")) if extra else "")
    return {"variable": variable, "transformers": transformers, "options": extra}


def _multiline(estimator: Any, imports: set[str], indent: str) -> Code:
    """A Pipeline as one step per line; other estimators as a single constructor call."""
    if isinstance(estimator, Pipeline):
        imports.add(import_line(Pipeline))
        inner = indent + "    "
        lines = [
            f"{inner}({literal(name)}, {_multiline(step, imports, inner)}),"
            for name, step in estimator.steps
        ]
        return Code(
            "Pipeline(\n"
            + indent
            + "    [\n"
            + "\n".join("    " + line for line in lines)
            + f"\n{indent}    ]\n{indent})"
        )
    return estimator_call(estimator, imports)


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
