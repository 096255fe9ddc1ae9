"""Pieces the tracking store's modules share: the clock, chunking, value conversions and the
transaction plumbing of ``SqlStore`` (see ``tracking.store``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking import schema as t
from tracking.db import run_in_transaction
from tracking.entities import (
    LifecycleStage,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from tracking.exceptions import (
    InvalidInputError,
    ResourceNotFoundError,
)
from tracking.liveness import hostname, is_alive
from tracking.statements import Statements
from tracking.validation import (
    check_key,
    check_metric_value,
    check_step,
    check_string_value,
    check_timestamp,
)

T = TypeVar("T")
_CHUNK = 500


def now_ms() -> int:
    """Current time in epoch milliseconds."""
    return int(time.time() * 1000)


def _chunks(items: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _float(value: float | None, is_nan: bool) -> float:
    return math.nan if is_nan or value is None else float(value)


def _pairs(items: Any, kind: str, limit: int) -> dict[str, str]:
    """Normalise params/tags given as dict, list of Param/RunTag or (key, value) pairs."""
    if items is None:
        return {}
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        pairs = []
        for item in items:
            if isinstance(item, Param | RunTag):
                pairs.append((item.key, item.value))
            elif isinstance(item, tuple | list) and len(item) == 2:
                pairs.append((item[0], item[1]))
            else:
                raise InvalidInputError(
                    f"{kind}s must be a dict or a list of (key, value) pairs; got item {item!r}"
                )
    result: dict[str, str] = {}
    for key, value in pairs:
        key = check_key(key, kind)
        text = check_string_value(value, kind, key, limit)
        if key in result and result[key] != text:
            raise InvalidInputError(
                f"{kind} {key!r} is given twice with different values ({result[key]!r}, {text!r})"
            )
        result[key] = text
    return result


def _metric_rows(run_id: str, metrics: Any) -> list[tuple]:
    """Validated rows ``(run_uuid, key, value, is_nan, timestamp, step)`` (NaN -> NULL)."""
    if metrics is None:
        return []
    stamp = now_ms()
    if isinstance(metrics, Mapping):
        items = [Metric(key, value, stamp, 0) for key, value in metrics.items()]
    else:
        items = list(metrics)
    rows = []
    for item in items:
        if type(item) is not Metric and not isinstance(item, Metric):
            raise InvalidInputError(f"metrics must be a dict or a list of Metric; got {item!r}")
        key = check_key(item.key, "metric")
        value = item.value
        if type(value) is not float:
            value = check_metric_value(value, key)
        nan = value != value
        timestamp = item.timestamp
        if type(timestamp) is not int or not -(2**63) <= timestamp < 2**63:
            timestamp = (
                stamp
                if timestamp is None
                else check_timestamp(timestamp, f"metric {key!r} timestamp")
            )
        step = item.step
        if type(step) is not int or not -(2**63) <= step < 2**63:
            step = check_step(step, key)
        rows.append((run_id, key, None if nan else value, nan, timestamp, step))
    return rows


def _shown_status(row: Any) -> str:
    """KILLED for a RUNNING run whose owning process on this host is gone, so every reader
    sees it so before ``mark_dead_runs`` records it (which also sets its end time)."""
    if (
        row.status == RunStatus.RUNNING.value
        and row.host == hostname()
        and not is_alive(row.pid, row.proc_start)
    ):
        return RunStatus.KILLED.value
    return row.status


def in_view(query: sa.Select, column: Any, view: ViewType) -> sa.Select:
    """``query`` narrowed to the lifecycle stages ``view`` shows (runs or experiments)."""
    if view == ViewType.ALL:
        return query
    stage = LifecycleStage.ACTIVE if view == ViewType.ACTIVE_ONLY else LifecycleStage.DELETED
    return query.where(column == stage)


class StoreBase:
    """Engine, prepared statements and the transaction helpers every part of the store uses."""

    engine: Engine
    _sql: Statements

    def _write(self, fn: Callable[[Connection], T]) -> T:
        return run_in_transaction(self.engine, fn, write=True)

    def _read(self, fn: Callable[[Connection], T]) -> T:
        return run_in_transaction(self.engine, fn, write=False)

    def _run_row(self, conn: Connection, run_id: str) -> Any:
        row = conn.execute(sa.select(t.runs).where(t.runs.c.run_uuid == run_id)).first()
        if row is None:
            raise ResourceNotFoundError(f"run_id {run_id!r} does not exist")
        return row

    def _active_run_row(self, conn: Connection, run_id: str) -> Any:
        row = self._sql.run_stage.execute(conn, (run_id,)).first()
        if row is None:
            raise ResourceNotFoundError(f"run_id {run_id!r} does not exist")
        if row.lifecycle_stage != LifecycleStage.ACTIVE:
            raise InvalidInputError(f"run {run_id} is deleted; restore_run() it before logging")
        return row
