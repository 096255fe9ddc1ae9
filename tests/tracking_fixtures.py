"""Fixtures for the tracking tests: an empty store per test on SQLite and on PostgreSQL.

PostgreSQL runs when ``AUTOML_TEST_POSTGRES_URL`` points at a server (``.ci/postgres.sh`` starts
one). Each test process gets its own schema, so parallel workers never see each other's rows;
``store_uri`` empties the tracking tables before each test (cheaper than a new schema), and
``fresh_store_uri`` gives a brand-new schema for tests about schema creation itself.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

import tracking
from tracking.db import dispose_engine

POSTGRES_ENV = "AUTOML_TEST_POSTGRES_URL"
BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
]


@contextlib.contextmanager
def make_store(backend: str, folder) -> Iterator[str]:
    """Tracking URI of a new empty store: a SQLite folder, or a PostgreSQL schema."""
    if backend == "sqlite":
        yield str(folder / "store")
    else:
        yield from _postgres_uri()


def _postgres_uri() -> Iterator[str]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL server (source .ci/postgres.sh)")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    uri = url.render_as_string(hide_password=False)
    try:
        yield uri
    finally:
        dispose_engine(uri)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


_TRACKING_TABLES = (
    "tracking_metrics, tracking_latest_metrics, tracking_params, tracking_tags, "
    "tracking_experiment_tags, tracking_runs"
)


@pytest.fixture(scope="session")
def _postgres_worker_store() -> Iterator[str]:
    yield from _postgres_uri()


def _emptied(uri: str, artifact_root: str) -> str:
    """Delete every run and experiment but 'Default' (tables of other packages cascade)."""
    engine = tracking.TrackingClient(uri, artifact_root=artifact_root).engine
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {_TRACKING_TABLES} CASCADE"))
        conn.execute(sa.text("DELETE FROM tracking_experiments WHERE experiment_id <> 0"))
        conn.execute(
            sa.text(
                "UPDATE tracking_experiments SET lifecycle_stage = 'active', "
                "artifact_location = :location"
            ),
            {"location": os.path.join(artifact_root, "0")},
        )
    return uri


@pytest.fixture(scope="session")
def store_factory():
    """``make_store`` for fixtures of wider scope: ``with store_factory(backend, folder) as uri``."""
    return make_store


@pytest.fixture(params=BACKENDS)
def store_uri(request: pytest.FixtureRequest, tmp_path, monkeypatch) -> Iterator[str]:
    """Tracking URI of an empty store (SQLite directory or emptied PostgreSQL schema)."""
    artifact_root = str(tmp_path / "artifacts")
    monkeypatch.setenv("AUTOML_ARTIFACT_ROOT", artifact_root)
    if request.param == "sqlite":
        yield str(tmp_path / "store")
    else:
        yield _emptied(request.getfixturevalue("_postgres_worker_store"), artifact_root)


@pytest.fixture(params=BACKENDS)
def fresh_store_uri(request: pytest.FixtureRequest, tmp_path, monkeypatch) -> Iterator[str]:
    """Tracking URI of a store that was never opened (SQLite folder or new PostgreSQL schema)."""
    monkeypatch.setenv("AUTOML_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    with make_store(request.param, tmp_path) as uri:
        yield uri


@pytest.fixture
def client(store_uri: str) -> tracking.TrackingClient:
    """A ``TrackingClient`` on a fresh store."""
    return tracking.TrackingClient(store_uri)


def _use(uri: str) -> Iterator[str]:
    tracking.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        while tracking.active_run() is not None:
            tracking.end_run()
        tracking.set_tracking_uri(None)


@pytest.fixture
def fluent(store_uri: str) -> Iterator[str]:
    """Point the fluent API at a fresh store (each backend); reset afterwards."""
    yield from _use(store_uri)


@pytest.fixture
def local_fluent(tmp_path) -> Iterator[str]:
    """Point the fluent API at a fresh SQLite store (for tests independent of the backend)."""
    yield from _use(str(tmp_path / "store"))
