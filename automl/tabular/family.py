"""What a model family is: its searched hyperparameters (:class:`Param`) and the hooks the
search, the fit and the explainer ask of it (:class:`ModelFamily`). The built-in families are
defined in :mod:`automl.tabular.families`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from automl.core.tags import DECISION_THRESHOLD, TRAIN_ROWS

# Parameters the fit reads but the estimator's constructor does not take (the decision threshold
# is chosen by the fit on validation predictions; the pipeline predicts at it; a low-fidelity
# trial learns from a sample of the training rows).
FIT_ONLY_PARAMS = ("early_stopping_rounds", DECISION_THRESHOLD, TRAIN_ROWS)
# Those of them that are the trial's, not the model's: logged as run parameters of their own.
TRIAL_PARAMS = (DECISION_THRESHOLD, TRAIN_ROWS)


@dataclass(frozen=True)
class Param:
    """One searched hyperparameter (``kind``: "int", "float" or "categorical")."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()
    when: tuple[str, tuple] | None = None  # (other param, values) for conditional params

    def suggest(self, trial: Any, prefix: str) -> Any:
        key = f"{prefix}.{self.name}"
        if self.kind == "int":
            return trial.suggest_int(key, int(self.low), int(self.high), log=self.log)
        if self.kind == "float":
            return trial.suggest_float(key, self.low, self.high, log=self.log)
        return trial.suggest_categorical(key, list(self.choices))


@dataclass(frozen=True)
class ModelFamily:
    """A model family: what it searches, its strong defaults and how it builds an estimator."""

    name: str
    framework: str
    tasks: tuple[str, ...]
    encoding: str
    description: str
    space: Callable[[Any], list[Param]]
    constants: Callable[[Any], dict[str, Any]]
    defaults: Callable[[Any], list[dict[str, Any]]]
    make: Callable[[Any, dict[str, Any], int], Any]
    # Boosting stops on the validation part itself: its tree count says nothing of its cost.
    early_stopping: bool = False
    # How SHAP explains it: "lightgbm" (native contributions), "linear" (closed form),
    # "forest" (tree SHAP within a time share) or "tree" (exact tree SHAP).
    explainer: str = "tree"
    # Parameters that follow from the others (e.g. LightGBM's round cap from its learning rate).
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def complete(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with the derived parameters filled in, as literal values."""
        return {**params, **self.derive(params)} if self.derive else params

    def uses_early_stopping(self, params: Mapping[str, Any]) -> bool:
        """Whether a fit with ``params`` stops early on validation data."""
        return self.early_stopping and bool(params.get("early_stopping_rounds"))

    def cost_ratio(self, params: Mapping[str, Any], seen: Mapping[str, Any]) -> float:
        """How much longer a fit with ``params`` should take than one with ``seen``: the ratio of
        their ensemble sizes, 1 when early stopping decides the size or there is none."""
        new, old = params.get("n_estimators"), seen.get("n_estimators")
        if self.uses_early_stopping(params) or not new or not old:
            return 1.0
        return float(new) / float(old)

    def suggest(self, trial: Any, plan: Any) -> dict[str, Any]:
        """Sample this family's conditional space on an Optuna trial; returns literal params."""
        params: dict[str, Any] = {}
        for p in self.space(plan):
            if p.when is not None and params.get(p.when[0]) not in p.when[1]:
                continue
            params[p.name] = p.suggest(trial, self.name)
        params.update(self.constants(plan))
        return self.complete(params)

    def portfolio(self, plan: Any) -> list[dict[str, Any]]:
        """Strong default parameter sets for ``plan``, best first (each a full ``params``)."""
        return [
            self.complete({**searched, **self.constants(plan)}) for searched in self.defaults(plan)
        ]

    def build(self, plan: Any, params: Mapping[str, Any], n_threads: int = 1) -> Any:
        """The unfitted estimator for ``params`` (fit-only keys such as early stopping dropped)."""
        model_params = {k: v for k, v in params.items() if k not in FIT_ONLY_PARAMS}
        return self.make(plan, model_params, max(1, int(n_threads)))

    def optuna_params(self, params: Mapping[str, Any], plan: Any = None) -> dict[str, Any]:
        """The namespaced Optuna values that make :meth:`suggest` return ``params``."""
        names = {p.name for p in self.space(plan)} if plan is not None else None
        constants = set(self.constants(plan)) | set(FIT_ONLY_PARAMS)
        return {
            f"{self.name}.{k}": v
            for k, v in params.items()
            if (names is None or k in names) and k not in constants
        }
