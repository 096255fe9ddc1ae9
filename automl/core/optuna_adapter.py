"""Optuna as the search uses it: its RDB storage on the tracking database, kept quiet."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import optuna


def storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's storage in the tracking database at ``url`` (SQLite waits on locks)."""
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": 60}
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)


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
