"""Fixtures for the registry tests, on top of the tracking fixtures (SQLite and PostgreSQL).

``fluent`` (from ``tracking_fixtures``) points the tracking API at a fresh store; ``logged_model``
logs a small real classifier into a new run of it and returns the run's ``runs:/`` URI; ``race``
runs one move per process on that store at once, to see that exactly one of them wins.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Sequence

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


def _contend(uri: str, key: object, move: Callable, barrier: object, out: object) -> None:
    """One racer of ``race``: ``move(key, barrier)`` on the store at ``uri``; put what came of it."""
    tracking.set_tracking_uri(uri)
    try:
        move(key, barrier)
        out.put((key, "won"))  # type: ignore[attr-defined]
    except registry.StaleRequestError as err:
        out.put((key, str(err)))  # type: ignore[attr-defined]


def race(move: Callable[[object, object], object], keys: Sequence[object]) -> dict[object, str]:
    """Run ``move(key, barrier)`` for every key at once, each in its own spawned process on the
    current tracking store (``move`` waits on the shared barrier where the racers should meet).
    Returns ``{key: "won"}``, or the ``StaleRequestError`` message it lost with; asserts that
    every process exited cleanly. ``move`` must be a module-level function (it is pickled)."""
    uri = tracking.get_tracking_uri()
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(len(keys)), ctx.Queue()
    procs = [ctx.Process(target=_contend, args=(uri, key, move, barrier, out)) for key in keys]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0, f"a racer exited with {p.exitcode}: {results}"
    return results
