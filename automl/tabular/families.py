"""The built-in model families: search spaces, default portfolios and estimator construction.

A trial config is ``{"family": name, "params": {...}}`` with literal hyperparameters; Optuna
parameters are namespaced ``"<family>.<param>"`` so families never share a distribution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import lightgbm as lgb
import sklearn
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from automl.tabular.family import ModelFamily, Param

SKLEARN_VERSION = tuple(int(p) for p in sklearn.__version__.split(".")[:2] if p.isdigit())
# Early stopping decides the rounds; FLAML's winners use 1,300-4,700 trees at low rates.
LGBM_MAX_ROUNDS = 5000
LGBM_ROUND_BUDGET = 100.0  # rounds x learning rate
LGBM_EARLY_STOPPING = 50


def _is_classification(plan: Any) -> bool:
    return plan.task == "classification"


def _class_weight(plan: Any) -> str | None:
    return plan.class_weight if _is_classification(plan) else None


# -- logistic regression (classification) ------------------------------------------------------
def _logistic_space(plan: Any) -> list[Param]:
    return [
        Param("C", "float", 1e-3, 100.0, log=True),
        Param("penalty", "categorical", choices=("l2", "elasticnet")),
        Param("l1_ratio", "float", 0.05, 1.0, when=("penalty", ("elasticnet",))),
    ]


def _logistic_make(plan: Any, params: dict[str, Any], n_threads: int) -> Any:
    l1_ratio = float(params.get("l1_ratio", 0.0)) if params.get("penalty") == "elasticnet" else 0.0
    solver = "saga" if l1_ratio > 0 else "lbfgs"
    common = {
        "C": float(params.get("C", 1.0)),
        "solver": solver,
        "max_iter": int(params.get("max_iter", 300 if solver == "saga" else 1000)),
        "class_weight": _class_weight(plan),
        "random_state": int(plan.seed),
    }
    if SKLEARN_VERSION >= (1, 8):
        return LogisticRegression(l1_ratio=l1_ratio, **common)
    if l1_ratio > 0:
        return LogisticRegression(penalty="elasticnet", l1_ratio=l1_ratio, **common)
    return LogisticRegression(penalty="l2", **common)


# -- regularised linear regression --------------------------------------------------------------
def _linear_space(plan: Any) -> list[Param]:
    return [
        Param("penalty", "categorical", choices=("l2", "l1", "elasticnet")),
        Param("alpha", "float", 1e-4, 100.0, log=True),
        Param("l1_ratio", "float", 0.05, 0.95, when=("penalty", ("elasticnet",))),
    ]


def _linear_make(plan: Any, params: dict[str, Any], n_threads: int) -> Any:
    penalty = params.get("penalty", "l2")
    alpha = float(params.get("alpha", 1.0))
    if penalty == "l2":
        regressor: Any = Ridge(alpha=alpha, random_state=int(plan.seed))
    elif penalty == "l1":
        regressor = Lasso(alpha=alpha, max_iter=5000, random_state=int(plan.seed))
    else:
        regressor = ElasticNet(
            alpha=alpha,
            l1_ratio=float(params.get("l1_ratio", 0.5)),
            max_iter=5000,
            random_state=int(plan.seed),
        )
    # Standardising the target makes ``alpha`` mean the same thing whatever the target's scale.
    return TransformedTargetRegressor(regressor=regressor, transformer=StandardScaler())


# -- decision tree ------------------------------------------------------------------------------
def _criteria(plan: Any) -> tuple[str, ...]:
    # Regression trees use squared error only: scikit-learn 1.9 deprecates "friedman_mse".
    return ("gini", "entropy") if _is_classification(plan) else ("squared_error",)


def _tree_space(plan: Any) -> list[Param]:
    return [
        Param("max_depth", "int", 2, 24),
        Param("min_samples_leaf", "int", 1, 200, log=True),
        Param("max_features", "float", 0.3, 1.0),
        Param("criterion", "categorical", choices=_criteria(plan)),
    ]


def _tree_make(plan: Any, params: dict[str, Any], n_threads: int) -> Any:
    kwargs = dict(params, random_state=int(plan.seed))
    if _is_classification(plan):
        return DecisionTreeClassifier(class_weight=_class_weight(plan), **kwargs)
    return DecisionTreeRegressor(**kwargs)


# -- forests ------------------------------------------------------------------------------------
def _forest_space(plan: Any) -> list[Param]:
    return [
        Param("n_estimators", "int", 50, 300, log=True),
        Param("max_features", "float", 0.05, 1.0),
        Param("min_samples_leaf", "int", 1, 50, log=True),
        Param("max_depth", "categorical", choices=(None, 6, 10, 15, 20, 30)),
        Param("criterion", "categorical", choices=_criteria(plan)),
    ]


def _forest_maker(classifier: type, regressor: type) -> Callable[[Any, dict[str, Any], int], Any]:
    def make(plan: Any, params: dict[str, Any], n_threads: int) -> Any:
        kwargs = dict(params, random_state=int(plan.seed), n_jobs=n_threads)
        if _is_classification(plan):
            return classifier(class_weight=_class_weight(plan), **kwargs)
        return regressor(**kwargs)

    return make


# -- LightGBM -----------------------------------------------------------------------------------
def _lgbm_space(plan: Any) -> list[Param]:
    return [
        Param("learning_rate", "float", 0.01, 0.3, log=True),
        Param("num_leaves", "int", 4, 512, log=True),
        # depth-limited trees as well as leaf-wise ones (FLAML's depth-limited XGBoost wins often)
        Param("max_depth", "categorical", choices=(-1, 3, 5, 7, 10)),
        Param("min_child_samples", "int", 2, 100, log=True),
        Param("colsample_bytree", "float", 0.3, 1.0),
        Param("subsample", "float", 0.5, 1.0),
        Param("reg_alpha", "float", 1e-4, 30.0, log=True),
        Param("reg_lambda", "float", 1e-4, 50.0, log=True),
        Param("max_bin", "categorical", choices=(63, 127, 255, 511, 1023)),
    ]


def _lgbm_constants(plan: Any) -> dict[str, Any]:
    return {
        "n_estimators": LGBM_MAX_ROUNDS,
        "early_stopping_rounds": LGBM_EARLY_STOPPING,
        "subsample_freq": 1,
    }


def _lgbm_rounds(params: dict[str, Any]) -> dict[str, Any]:
    """The round cap scales with the step size: LGBM_ROUND_BUDGET / learning_rate rounds, at most
    LGBM_MAX_ROUNDS. A 0.1 rate stops by 1,000 rounds (a short budget on large data cannot wait
    for 5,000); a 0.02 rate may grow the 5,000 trees such rates need."""
    rate = float(params.get("learning_rate", 0.1))
    return {"n_estimators": int(min(LGBM_MAX_ROUNDS, max(100, LGBM_ROUND_BUDGET / rate)))}


def _lgbm_make(plan: Any, params: dict[str, Any], n_threads: int) -> Any:
    kwargs = dict(
        params,
        random_state=int(plan.seed),
        n_jobs=n_threads,
        deterministic=True,
        force_col_wise=True,
        verbose=-1,
    )
    if _is_classification(plan):
        return lgb.LGBMClassifier(class_weight=_class_weight(plan), **kwargs)
    return lgb.LGBMRegressor(**kwargs)


# -- portfolios (zero-shot defaults, adapted from FLAML's and LightGBM/sklearn defaults) -------
def _lgbm_config(
    lr: float,
    leaves: int,
    min_child: int,
    colsample: float,
    subsample: float,
    alpha: float,
    lam: float,
    max_bin: int,
    max_depth: int = -1,
) -> dict[str, Any]:
    return {
        "learning_rate": lr,
        "num_leaves": leaves,
        "max_depth": max_depth,
        "min_child_samples": min_child,
        "colsample_bytree": colsample,
        "subsample": subsample,
        "reg_alpha": alpha,
        "reg_lambda": lam,
        "max_bin": max_bin,
    }


def _lgbm_defaults(plan: Any) -> list[dict[str, Any]]:
    """LightGBM's defaults, then FLAML zero-shot configurations with learning rates raised to
    0.05 (early stopping finds the rounds; short budgets cannot afford 0.002-0.02 rates)."""
    default = _lgbm_config(0.1, 31, 20, 1.0, 1.0, 1e-4, 1e-4, 255)
    if _is_classification(plan):
        flaml = [
            _lgbm_config(0.05, 63, 8, 0.526, 1.0, 0.0029, 0.0245, 511),
            _lgbm_config(0.05, 4, 3, 0.539, 1.0, 15.8, 34.8, 1023),
        ]
    else:
        flaml = [
            _lgbm_config(0.05, 63, 4, 0.702, 1.0, 0.00425, 0.1129, 511),
            _lgbm_config(0.05, 42, 12, 0.7385, 1.0, 0.0036, 12.08, 127),
        ]
    bagged = _lgbm_config(0.05, 31, 20, 0.8, 0.8, 1e-4, 1.0, 255)
    shallow = _lgbm_config(0.03, 15, 10, 0.6, 0.8, 1e-3, 1.0, 255, max_depth=5)
    return [default, *flaml, bagged, shallow]


def _forest_defaults(plan: Any) -> list[dict[str, Any]]:
    criteria = _criteria(plan)
    gini, entropy = criteria[0], criteria[-1]
    max_features = 0.25 if _is_classification(plan) else 0.6
    return [
        {
            "n_estimators": 100,
            "max_features": max_features,
            "min_samples_leaf": 1,
            "max_depth": None,
            "criterion": gini,
        },
        {
            "n_estimators": 300,
            "max_features": 0.245,
            "min_samples_leaf": 1,
            "max_depth": 20,
            "criterion": entropy,
        },
        {
            "n_estimators": 200,
            "max_features": 0.1,
            "min_samples_leaf": 2,
            "max_depth": 10,
            "criterion": gini,
        },
    ]


def _tree_defaults(plan: Any) -> list[dict[str, Any]]:
    gini, entropy = _criteria(plan)[0], _criteria(plan)[-1]
    return [
        {"max_depth": 8, "min_samples_leaf": 5, "max_features": 1.0, "criterion": gini},
        {"max_depth": 14, "min_samples_leaf": 20, "max_features": 0.7, "criterion": entropy},
    ]


def _logistic_defaults(plan: Any) -> list[dict[str, Any]]:
    return [
        {"C": 1.0, "penalty": "l2"},
        {"C": 0.1, "penalty": "l2"},
        {"C": 1.0, "penalty": "elasticnet", "l1_ratio": 0.5},
    ]


def _linear_defaults(plan: Any) -> list[dict[str, Any]]:
    return [
        {"penalty": "l2", "alpha": 1.0},
        {"penalty": "elasticnet", "alpha": 0.01, "l1_ratio": 0.5},
        {"penalty": "l1", "alpha": 0.001},
    ]


def _none(plan: Any) -> dict[str, Any]:
    return {}


FAMILIES: dict[str, ModelFamily] = {
    family.name: family
    for family in (
        ModelFamily(
            "lightgbm",
            "lightgbm",
            ("classification", "regression"),
            "ordinal",
            "LightGBM gradient-boosted trees",
            _lgbm_space,
            _lgbm_constants,
            _lgbm_defaults,
            _lgbm_make,
            early_stopping=True,
            explainer="lightgbm",
            derive=_lgbm_rounds,
        ),
        ModelFamily(
            "logistic_regression",
            "sklearn",
            ("classification",),
            "onehot_scaled",
            "regularised logistic regression",
            _logistic_space,
            _none,
            _logistic_defaults,
            _logistic_make,
            explainer="linear",
        ),
        ModelFamily(
            "linear_regression",
            "sklearn",
            ("regression",),
            "onehot_scaled",
            "regularised linear regression (ridge / lasso / elastic net)",
            _linear_space,
            _none,
            _linear_defaults,
            _linear_make,
            explainer="linear",
        ),
        ModelFamily(
            "random_forest",
            "sklearn",
            ("classification", "regression"),
            "onehot",
            "random forest",
            _forest_space,
            _none,
            _forest_defaults,
            _forest_maker(RandomForestClassifier, RandomForestRegressor),
            explainer="forest",
        ),
        ModelFamily(
            "extra_trees",
            "sklearn",
            ("classification", "regression"),
            "onehot",
            "extremely randomised trees",
            _forest_space,
            _none,
            _forest_defaults,
            _forest_maker(ExtraTreesClassifier, ExtraTreesRegressor),
            explainer="forest",
        ),
        ModelFamily(
            "decision_tree",
            "sklearn",
            ("classification", "regression"),
            "onehot",
            "decision tree",
            _tree_space,
            _none,
            _tree_defaults,
            _tree_make,
        ),
    )
}


def get_family(name: str, plan: Any = None) -> ModelFamily:
    """The family called ``name``; a clear error for unknown names or the wrong task."""
    if name not in FAMILIES:
        raise ValueError(
            f"config['family']: unknown model family {name!r}; use one of {sorted(FAMILIES)}"
        )
    family = FAMILIES[name]
    if plan is not None and plan.task not in family.tasks:
        raise ValueError(f"config['family']: {name!r} does not do {plan.task}")
    return family


def available_families(
    plan: Any, exclude_frameworks: str | Iterable[str] | None = None
) -> list[str]:
    """Family names for the plan's task, minus excluded frameworks, in portfolio order."""
    excluded = (
        {exclude_frameworks}
        if isinstance(exclude_frameworks, str)
        else set(exclude_frameworks or ())
    )
    names = [
        f.name for f in FAMILIES.values() if plan.task in f.tasks and f.framework not in excluded
    ]
    if not names:
        raise ValueError(f"exclude_frameworks: {sorted(excluded)} leaves no model family")
    return names


# Boosted trees win almost every table of the suite at 60 s (benchmarks/RESULTS.md: LightGBM
# alone or as the heaviest member of the ensemble on 46 of 48 runs), and short searches on wide
# or cross-validated data finish only a few defaults: LightGBM's first ones run before the other
# families' (AutoGluon likewise fits its GBMs before its forests).
LEADING_DEFAULTS = {"lightgbm": 3}


def portfolio(plan: Any, families: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Default configs of every family: the leading families' first defaults, then the rest
    interleaved, each family's best default first."""
    names = list(families) if families is not None else available_families(plan)
    per_family = [[{"family": n, "params": p} for p in FAMILIES[n].portfolio(plan)] for n in names]
    out: list[dict[str, Any]] = []
    for configs in per_family:
        lead = LEADING_DEFAULTS.get(configs[0]["family"], 0) if configs else 0
        out.extend(configs[:lead])
        del configs[:lead]
    for rank in range(max((len(p) for p in per_family), default=0)):
        out.extend(p[rank] for p in per_family if rank < len(p))
    return out


def to_optuna_params(config: Mapping[str, Any], plan: Any = None) -> dict[str, Any]:
    """Values for ``study.enqueue_trial`` so :func:`suggest` reproduces ``config``."""
    family = get_family(config["family"])
    return {"family": family.name, **family.optuna_params(config["params"], plan)}


def suggest(trial: Any, plan: Any, families: Sequence[str] | None = None) -> dict[str, Any]:
    """Sample a family, then its conditional space: the trial config."""
    names = list(families) if families is not None else available_families(plan)
    name = trial.suggest_categorical("family", names)
    return {"family": name, "params": FAMILIES[name].suggest(trial, plan)}
