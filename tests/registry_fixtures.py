"""Fixtures for the registry tests, on top of the tracking fixtures (SQLite and PostgreSQL).

``fluent`` (from ``tracking_fixtures``) points the tracking API at a fresh store; ``logged_model``
logs a small real classifier into a new run of it and returns the run's ``runs:/`` URI.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.tree import DecisionTreeClassifier

import registry
import tracking
from registry import schema as registry_schema

pytest_plugins = ["tracking_fixtures"]


def training_frame(n: int = 40, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A tiny binary classification frame."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = pd.Series(np.where(X["a"] + 0.3 * X["b"] > 0, "yes", "no"))
    return X, y


def log_model_run(
    metrics: dict[str, float] | None = None, seed: int = 0, artifact_path: str = "model"
) -> str:
    """Train a small tree, log it (and ``metrics``) in a new run; return its model URI."""
    X, y = training_frame(seed=seed)
    model = DecisionTreeClassifier(max_depth=2, random_state=seed).fit(X, y)
    with tracking.start_run():
        if metrics:
            tracking.log_metrics(metrics)
        info = tracking.log_model(model, artifact_path=artifact_path, input_example=X.head(3))
    return info.model_uri


@pytest.fixture
def store(fluent: str) -> str:
    """Tracking URI of an empty store that both the tracking and the registry API point at.

    On PostgreSQL the tracking fixtures reuse one schema per test process and empty only their
    own tables, so the registry tables are emptied here.
    """
    client = registry.get_client()
    assert client.tracking_uri == tracking.get_tracking_uri()
    if client.store.dialect == "postgresql":
        tables = ", ".join(t.name for t in registry_schema.metadata.sorted_tables)
        with client.store.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables}"))
    return fluent


@pytest.fixture
def frame() -> pd.DataFrame:
    """The feature columns the logged models were trained on."""
    return training_frame()[0]


@pytest.fixture
def logged_model(store: str) -> Callable[..., str]:
    """``logged_model(metrics=None, seed=0)`` -> ``runs:/<run_id>/model`` of a fresh run."""
    return log_model_run
