"""SQLAlchemy engines shared per process, and write transactions that survive contention.

SQLite: WAL journal, a busy timeout, ``BEGIN IMMEDIATE`` for writes (so a reader never has to
upgrade to a writer mid-transaction, the usual cause of 'database is locked') and a retry loop.
PostgreSQL: serialization failures and deadlocks are retried the same way.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from tracking.exceptions import InvalidInputError

T = TypeVar("T")

_WRITE_OPTION = "tracking_write"
_RETRY_SECONDS = 120.0
_MAX_ENGINES = 32
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        if engine.url.database not in (None, "", ":memory:"):
            for attempt in range(200):
                try:
                    cursor.execute("PRAGMA journal_mode = WAL")
                    break
                except Exception as exc:  # sqlite3.OperationalError: locked while switching
                    if "locked" not in str(exc) and "busy" not in str(exc) or attempt == 199:
                        raise
                    time.sleep(0.05 + random.random() * 0.05)
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


POSTGRES_EXTRA = "pip install 'automl-tracked[postgres]'"


def create_engine(url: str) -> Engine:
    """Build a new engine for ``url`` with the store's connection settings.

    A bare ``postgresql://`` URL uses psycopg 3 (the ``postgres`` extra), not SQLAlchemy's
    default psycopg2; a missing driver is an error naming the URI and the install command.
    """
    parsed = sa.engine.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        return _create_engine(parsed)
    except ModuleNotFoundError as exc:
        shown = parsed.render_as_string(hide_password=True)
        raise InvalidInputError(
            f"tracking_uri {shown!r}: the database driver {exc.name!r} is not installed; "
            f"for PostgreSQL run {POSTGRES_EXTRA}"
        ) from None


def _create_engine(parsed: sa.engine.URL) -> Engine:
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            kwargs["poolclass"] = sa.pool.StaticPool
        engine = sa.create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(parsed, pool_size=2, max_overflow=8)


def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url`` (created on first use, reset after ``fork``).

    At most ``_MAX_ENGINES`` stay cached; the least recently used one has its pooled
    connections closed (it keeps working for whoever still holds it, reconnecting on demand).
    """
    with _lock:
        engine = _engines.pop(url, None)
        if engine is None:
            engine = create_engine(url)
        _engines[url] = engine  # most recently used last
        while len(_engines) > _MAX_ENGINES:
            _engines.pop(next(iter(_engines))).dispose()
        return engine


def store_engine(db_url: str) -> Engine:
    """The process-wide engine of a store's database, a SQLite file's folder created first
    (what every client of the store, tracking's or the registry's, opens it with)."""
    if db_url.startswith("sqlite:///"):
        db_file = db_url[len("sqlite:///") :]
        if db_file and db_file != ":memory:":
            os.makedirs(os.path.dirname(db_file) or ".", exist_ok=True)
    return get_engine(db_url)


def _after_fork() -> None:
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork)


def is_sqlite(engine: Engine) -> bool:
    """True when ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True  # server restarted / connection dropped: the pool reconnects
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
        if "database is locked" in text or "database is busy" in text or "busy" in text:
            return True
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if code in ("40001", "40P01"):
            return True
    return False


@contextmanager
def transaction(engine: Engine, write: bool = True) -> Iterator[Connection]:
    """One transaction on a pooled connection; writes take SQLite's write lock up front."""
    with engine.connect() as conn:
        if write:
            conn = conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


def run_in_transaction(engine: Engine, fn: Callable[[Connection], T], write: bool = True) -> T:
    """Run ``fn(conn)`` in a transaction, retrying on lock contention / serialization failure.

    ``fn`` may run more than once, so it must only touch the database (no side effects outside).
    """
    deadline = time.monotonic() + _RETRY_SECONDS
    delay = 0.01
    while True:
        try:
            with transaction(engine, write=write) as conn:
                return fn(conn)
        except DBAPIError as exc:
            if not _retryable(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.5)


def dispose_engine(url: str) -> None:
    """Close and forget the cached engine for ``url`` (e.g. before dropping its database)."""
    with _lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()
