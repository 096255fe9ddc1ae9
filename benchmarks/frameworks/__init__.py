"""Framework adapters: each fits on the training part under a wall budget and predicts the test part.

An adapter is an ``Adapter`` with ``fit(job)`` (a ``FitJob``: training part, target, task,
budget, cores, seed, work directory) and ``predict(X) -> (predictions, classes)`` (probabilities for classification, values for
regression), plus ``n_trials``, ``best_model`` and ``time_breakdown`` filled in by ``fit``.
They are looked up by name and imported lazily, so a missing optional package only affects
the framework that needs it.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

_ADAPTERS = {
    "automl": ("benchmarks.frameworks.automl_engine", "AutoMLEngine"),
    "flaml": ("benchmarks.frameworks.flaml_automl", "FLAMLAutoML"),
    "autogluon": ("benchmarks.frameworks.autogluon_tabular", "AutoGluonTabular"),
    "constant": ("benchmarks.frameworks.baselines", "ConstantPredictor"),
    "randomforest": ("benchmarks.frameworks.baselines", "RandomForest"),
}
FRAMEWORKS = tuple(_ADAPTERS)


def framework_python(name: str) -> str:
    """The interpreter that runs ``name``'s worker: ``AUTOML_BENCH_PYTHON_<NAME>`` or this one.

    A peer whose pins clash with ours (AutoGluon) is installed in a virtualenv of its own.
    """
    return os.environ.get(f"AUTOML_BENCH_PYTHON_{name.upper()}", sys.executable)


@dataclass(frozen=True)
class FitJob:
    """What an adapter fits: the training part, its target and task, the wall budget in
    seconds, the cores, the seed and a work directory removed afterwards."""

    train: pd.DataFrame
    target: str
    task: str
    budget_s: float
    n_jobs: int
    seed: int
    workdir: Path


class Adapter:
    """What the worker drives; see the module docstring. ``fit`` fills in ``n_trials``,
    ``best_model``, ``time_breakdown`` and ``details``."""

    def __init__(self) -> None:
        self.n_trials: int | None = None
        self.best_model = ""
        self.time_breakdown: dict[str, float] | None = None
        self.details: dict = {}

    def fit(self, job: FitJob) -> None:
        raise NotImplementedError

    def predict(self, X: pd.DataFrame) -> tuple[np.ndarray, list | None]:
        raise NotImplementedError


def get_adapter(name: str) -> Adapter:
    """Instantiate the adapter registered as ``name``."""
    if name not in _ADAPTERS:
        raise ValueError(f"framework={name!r} is unknown; choose from {', '.join(FRAMEWORKS)}")
    module, cls = _ADAPTERS[name]
    return getattr(importlib.import_module(module), cls)()
