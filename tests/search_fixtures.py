"""Helpers for tests that run a small AutoML search, in a store of their choosing."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import automl
import tracking

# a search small enough for a test: the trial budget binds, one worker, no progress output
SMALL_SEARCH: dict[str, Any] = {"timeout_minutes": 2, "n_jobs": 1, "verbose": False}


@contextlib.contextmanager
def tracking_uri(uri: str) -> Iterator[str]:
    """Point the tracking API at ``uri`` for the block, and back at the default store after it."""
    tracking.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        tracking.set_tracking_uri(None)


def small_search(
    fit: Callable[..., automl.AutoMLSummary],
    data: Any,
    target_col: str,
    experiment_name: str,
    max_trials: int,
    **options: Any,
) -> automl.AutoMLSummary:
    """``fit`` (``automl.classify`` or ``automl.regress``) on ``data`` with ``max_trials`` trials
    and ``SMALL_SEARCH``'s settings; ``options`` add to or override them."""
    return fit(
        data,
        target_col=target_col,
        experiment_name=experiment_name,
        max_trials=max_trials,
        **{**SMALL_SEARCH, **options},
    )
