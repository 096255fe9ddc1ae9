"""Hot-path statements built once per dialect (SQLite, PostgreSQL) with bound parameters.

Building SQLAlchemy constructs per call costs more than executing them, so these are reused.
On SQLite each is also compiled once to positional SQL and run on the driver directly (values
are still bound parameters; no user text ever becomes SQL).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult

from tracking import schema as t

SUPPORTED = ("sqlite", "postgresql")
METRIC_COLUMNS = ("run_uuid", "key", "value", "is_nan", "timestamp", "step")
RUN_COLUMNS = (
    "run_uuid",
    "name",
    "experiment_id",
    "status",
    "start_time",
    "end_time",
    "artifact_uri",
    "lifecycle_stage",
    "parent_run_id",
    "deleted_time",
    "host",
    "pid",
    "proc_start",
)
KV_COLUMNS = ("run_uuid", "key", "value")


@dataclass(frozen=True)
class Prepared:
    """A statement whose parameters are given as tuples in ``columns`` order."""

    stmt: Any
    columns: tuple[str, ...]
    sql: str | None  # positional SQL for the raw driver (SQLite), else None

    def execute(self, conn: Connection, params: tuple | list[tuple]) -> CursorResult:
        """Execute once (a tuple) or for many rows (a list of tuples)."""
        if self.sql is not None:
            return conn.exec_driver_sql(self.sql, params)
        if isinstance(params, list):
            return conn.execute(
                self.stmt, [dict(zip(self.columns, p, strict=True)) for p in params]
            )
        return conn.execute(self.stmt, dict(zip(self.columns, params, strict=True)))


def _prepare(dialect: str, stmt: Any, columns: tuple[str, ...]) -> Prepared:
    if dialect != "sqlite":
        return Prepared(stmt, columns, None)
    compiled = stmt.compile(dialect=sqlite.dialect())
    if tuple(compiled.positiontup) != columns:  # pragma: no cover - guards the column order
        raise RuntimeError(f"unexpected parameter order {compiled.positiontup} != {columns}")
    return Prepared(stmt, columns, str(compiled))


def _values(columns: tuple[str, ...]) -> dict[str, Any]:
    return {name: sa.bindparam(name) for name in columns}


@dataclass(frozen=True)
class Statements:
    run_stage: Prepared
    insert_run: Prepared
    experiment_location: Prepared
    insert_metrics: Prepared
    upsert_latest: Prepared
    insert_params: Prepared
    upsert_tags: Prepared
    insert_tags: Prepared
    select_params: Any  # SQLAlchemy statement (expanding IN list)
    exact_rowcount: bool  # executemany reports the total rows changed


@functools.cache
def statements(dialect: str) -> Statements:
    """Statements for ``dialect`` ('sqlite' or 'postgresql')."""
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    lm = t.latest_metrics
    latest = insert(lm).values(_values(METRIC_COLUMNS))
    newer = sa.or_(
        latest.excluded.step > lm.c.step,
        sa.and_(latest.excluded.step == lm.c.step, latest.excluded.timestamp >= lm.c.timestamp),
    )
    tags = insert(t.tags).values(_values(KV_COLUMNS))
    return Statements(
        run_stage=_prepare(
            dialect,
            sa.select(t.runs.c.lifecycle_stage).where(
                t.runs.c.run_uuid == sa.bindparam("run_uuid")
            ),
            ("run_uuid",),
        ),
        insert_run=_prepare(dialect, t.runs.insert().values(_values(RUN_COLUMNS)), RUN_COLUMNS),
        experiment_location=_prepare(
            dialect,
            sa.select(t.experiments.c.artifact_location, t.experiments.c.lifecycle_stage).where(
                t.experiments.c.experiment_id == sa.bindparam("experiment_id")
            ),
            ("experiment_id",),
        ),
        insert_metrics=_prepare(
            dialect, t.metrics.insert().values(_values(METRIC_COLUMNS)), METRIC_COLUMNS
        ),
        upsert_latest=_prepare(
            dialect,
            latest.on_conflict_do_update(
                index_elements=["run_uuid", "key"],
                set_={
                    "value": latest.excluded.value,
                    "is_nan": latest.excluded.is_nan,
                    "timestamp": latest.excluded.timestamp,
                    "step": latest.excluded.step,
                },
                where=newer,
            ),
            METRIC_COLUMNS,
        ),
        insert_params=_prepare(
            dialect,
            insert(t.params)
            .values(_values(KV_COLUMNS))
            .on_conflict_do_nothing(index_elements=["run_uuid", "key"]),
            KV_COLUMNS,
        ),
        upsert_tags=_prepare(
            dialect,
            tags.on_conflict_do_update(
                index_elements=["run_uuid", "key"], set_={"value": tags.excluded.value}
            ),
            KV_COLUMNS,
        ),
        insert_tags=_prepare(dialect, t.tags.insert().values(_values(KV_COLUMNS)), KV_COLUMNS),
        select_params=sa.select(t.params.c.key, t.params.c.value).where(
            t.params.c.run_uuid == sa.bindparam("run_id"),
            t.params.c.key.in_(sa.bindparam("keys", expanding=True)),
        ),
        exact_rowcount=dialect == "sqlite",
    )
