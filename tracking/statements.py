"""Hot-path statements built once per dialect (SQLite, PostgreSQL) with bound parameters.

Building SQLAlchemy constructs per call costs more than executing them; these are reused.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tracking import schema as t

SUPPORTED = ("sqlite", "postgresql")
METRIC_COLUMNS = ("run_uuid", "key", "value", "is_nan", "timestamp", "step")


@dataclass(frozen=True)
class Statements:
    run_stage: Any
    insert_metrics: Any
    insert_metrics_sql: str | None  # SQLite: compiled once, executemany on the raw cursor
    upsert_latest: Any
    insert_params: Any
    select_params: Any
    upsert_tags: Any
    insert_tags: Any
    insert_run: Any
    experiment_location: Any


def _positional_metrics_insert() -> str:
    stmt = t.metrics.insert().values({name: sa.bindparam(name) for name in METRIC_COLUMNS})
    compiled = stmt.compile(dialect=sqlite.dialect())
    if list(compiled.positiontup) != list(METRIC_COLUMNS):  # pragma: no cover - sanity check
        raise RuntimeError(f"unexpected parameter order {compiled.positiontup}")
    return str(compiled)


@functools.cache
def statements(dialect: str) -> Statements:
    """Statements for ``dialect`` ('sqlite' or 'postgresql')."""
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    lm = t.latest_metrics
    latest = insert(lm)
    newer = sa.or_(
        latest.excluded.step > lm.c.step,
        sa.and_(latest.excluded.step == lm.c.step, latest.excluded.timestamp >= lm.c.timestamp),
    )
    tags = insert(t.tags)
    return Statements(
        run_stage=sa.select(t.runs.c.lifecycle_stage).where(
            t.runs.c.run_uuid == sa.bindparam("run_id")
        ),
        insert_metrics=t.metrics.insert(),
        insert_metrics_sql=_positional_metrics_insert() if dialect == "sqlite" else None,
        upsert_latest=latest.on_conflict_do_update(
            index_elements=["run_uuid", "key"],
            set_={
                "value": latest.excluded.value,
                "is_nan": latest.excluded.is_nan,
                "timestamp": latest.excluded.timestamp,
                "step": latest.excluded.step,
            },
            where=newer,
        ),
        insert_params=insert(t.params).on_conflict_do_nothing(index_elements=["run_uuid", "key"]),
        select_params=sa.select(t.params.c.key, t.params.c.value).where(
            t.params.c.run_uuid == sa.bindparam("run_id"),
            t.params.c.key.in_(sa.bindparam("keys", expanding=True)),
        ),
        upsert_tags=tags.on_conflict_do_update(
            index_elements=["run_uuid", "key"], set_={"value": tags.excluded.value}
        ),
        insert_tags=t.tags.insert(),
        insert_run=t.runs.insert(),
        experiment_location=sa.select(
            t.experiments.c.artifact_location, t.experiments.c.lifecycle_stage
        ).where(t.experiments.c.experiment_id == sa.bindparam("id")),
    )
