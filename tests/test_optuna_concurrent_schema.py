"""Searches opening Optuna's storage at once on a store Optuna has never used (issue 17, item 4):
every process succeeds and they share one study. Real processes, SQLite and PostgreSQL.

Without the schema lock in ``automl.core.optuna_adapter`` one of them failed now and then with
``UNIQUE constraint failed: alembic_version.version_num``; several rounds of four processes
each make that near certain.
"""

from __future__ import annotations

import contextlib
import multiprocessing

import pytest
import sqlalchemy as sa

pytest_plugins = ["tracking_fixtures"]

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PROCESSES = 4
ROUNDS = 3


def _open_storage(uris: list[str], barrier, queue) -> None:
    """What a search does first, once per fresh store: tracking's tables, then Optuna's."""
    import optuna

    import tracking
    from automl.core import optuna_adapter

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for uri in uris:
        try:
            url = tracking.TrackingClient(uri).engine.url.render_as_string(hide_password=False)
            barrier.wait(timeout=600)
            study = optuna.create_study(
                study_name="automl-shared",
                storage=optuna_adapter.storage(url),
                load_if_exists=True,
            )
            study.add_trial(optuna.trial.create_trial(value=1.0))
            queue.put(("ok", uri, study._study_id))
        except BaseException as exc:  # reported to the test, which shows it
            queue.put(("error", uri, f"{type(exc).__name__}: {exc}"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_processes_open_a_fresh_optuna_storage_at_once(
    backend, store_factory, tmp_path, monkeypatch
):
    monkeypatch.setenv("AUTOML_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    with contextlib.ExitStack() as stack:
        uris = [
            stack.enter_context(store_factory(backend, tmp_path / str(i))) for i in range(ROUNDS)
        ]
        ctx = multiprocessing.get_context("spawn")
        queue, barrier = ctx.Queue(), ctx.Barrier(PROCESSES)
        procs = [
            ctx.Process(target=_open_storage, args=(uris, barrier, queue)) for _ in range(PROCESSES)
        ]
        for proc in procs:
            proc.start()
        results = [queue.get(timeout=900) for _ in range(PROCESSES * ROUNDS)]
        for proc in procs:
            proc.join(timeout=60)
        assert [r for r in results if r[0] != "ok"] == []
        for uri in uris:
            assert {r[2] for r in results if r[1] == uri} == {1}  # one study, shared
            engine = sa.create_engine(_db_url(uri), poolclass=sa.pool.NullPool)
            with engine.connect() as conn:
                stamps = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
                trials = conn.execute(sa.text("SELECT count(*) FROM trials")).scalar_one()
            engine.dispose()
            assert len(stamps) == 1
            assert trials == PROCESSES


def _db_url(uri: str) -> str:
    import tracking

    return tracking.TrackingClient(uri).engine.url.render_as_string(hide_password=False)
