"""Framework adapters: each fits on the training part under a wall budget and predicts the test part.

An adapter is a class with ``fit(train, target, task, budget_s, n_jobs, seed, workdir)`` and
``predict(X) -> (predictions, classes)`` (probabilities for classification, values for
regression), plus ``n_trials``, ``best_model`` and ``time_breakdown`` filled in by ``fit``.
They are looked up by name and imported lazily, so a missing optional package only affects
the framework that needs it.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Protocol

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


class Adapter(Protocol):
    """What the worker drives; see the module docstring."""

    n_trials: int | None
    best_model: str
    time_breakdown: dict[str, float] | None

    def fit(
        self,
        train: pd.DataFrame,
        target: str,
        task: str,
        budget_s: float,
        n_jobs: int,
        seed: int,
        workdir: Path,
    ) -> None: ...

    def predict(self, X: pd.DataFrame) -> tuple[np.ndarray, list | None]: ...


def get_adapter(name: str) -> Adapter:
    """Instantiate the adapter registered as ``name``."""
    if name not in _ADAPTERS:
        raise ValueError(f"framework={name!r} is unknown; choose from {', '.join(FRAMEWORKS)}")
    module, cls = _ADAPTERS[name]
    return getattr(importlib.import_module(module), cls)()
