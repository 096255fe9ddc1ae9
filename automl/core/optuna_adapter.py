"""Optuna as the search uses it: its RDB storage on the tracking database, kept quiet.

Opening the storage on a fresh database creates Optuna's tables and stamps its ``alembic_version``
row. Optuna does that check-then-insert without a lock, so two searches opening a new store at
once could both insert the stamp and one failed (``UNIQUE constraint failed:
alembic_version.version_num``). :func:`storage` therefore opens it under a lock that every
process using the same database takes: a PostgreSQL advisory lock, or an exclusive file lock on a
file beside the SQLite database.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import IO, Any

import optuna
import sqlalchemy as sa

# Arbitrary constant ("optu"): serialises Optuna's schema creation on a PostgreSQL server. It
# differs from tracking's own schema lock, so the two never wait on each other.
_PG_SCHEMA_LOCK_ID = 0x6F70_7475
# Beside the SQLite database: a file of its own, since closing any descriptor of the database
# file itself would drop the POSIX locks SQLite holds on it in this process.
_SQLITE_LOCK_SUFFIX = ".optuna-schema.lock"


def storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's storage in the tracking database at ``url`` (SQLite waits on locks).

    Safe to call from many processes at once on a database Optuna has not used yet.
    """
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": 60}
    with schema_lock(url):
        return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)


@contextlib.contextmanager
def schema_lock(url: str) -> Iterator[None]:
    """Hold a lock shared by every process opening Optuna's tables in the database at ``url``.

    PostgreSQL: a session advisory lock on its own connection. SQLite: an exclusive lock on
    ``<database>.optuna-schema.lock``. An in-memory SQLite database is private to its process
    and other backends take no lock.
    """
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        with _advisory_lock(url):
            yield
    elif backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        with _file_lock(str(parsed.database) + _SQLITE_LOCK_SUFFIX):
            yield
    else:
        yield


@contextlib.contextmanager
def _advisory_lock(url: str) -> Iterator[None]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_SCHEMA_LOCK_ID})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_SCHEMA_LOCK_ID})
    finally:
        engine.dispose()


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
    with open(path, "a+b") as handle:
        _lock_file(handle)
        try:
            yield
        finally:
            _unlock_file(handle)


if os.name == "nt":  # pragma: no cover - the project's CI runs on Linux
    import msvcrt

    def _lock_file(handle: IO[bytes]) -> None:
        handle.seek(0)
        while True:  # LK_LOCK gives up after ~10 s; keep waiting like flock does
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:
                continue

    def _unlock_file(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_file(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)

    def _unlock_file(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's INFO lines ("A new study created in RDB", one per trial) would drown the
    progress bar; the runs record it all."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(level, optuna.logging.WARNING))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)
