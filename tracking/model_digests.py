"""The sha256 of every logged model file, kept in the store (not beside the file).

``MLmodel.json`` records a digest too, but whoever can write the run's artifact folder can
rewrite both the file and that digest. The digest recorded here at ``log_model`` time is the
reference every load of a ``runs:/`` URI (and so of ``models:/``) is checked against.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking.db import run_in_transaction
from tracking.schema import ensure_schema

COMPONENT = "tracking_models"
SCHEMA_VERSION = 1

metadata = sa.MetaData()
digests = sa.Table(
    "tracking_model_digests",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("artifact_path", sa.String(500), primary_key=True),
    sa.Column("model_file", sa.String(500), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("created", sa.BigInteger, nullable=False),
)


def record_digest(
    engine: Engine, run_id: str, artifact_path: str, model_file: str, sha256: str, created: int
) -> None:
    """Store the digest of a model just logged (a model folder is written once)."""
    ensure_schema(engine, COMPONENT, metadata, SCHEMA_VERSION)

    def write(conn: Connection) -> None:
        conn.execute(
            sa.delete(digests).where(
                digests.c.run_id == run_id, digests.c.artifact_path == artifact_path
            )
        )
        conn.execute(
            sa.insert(digests).values(
                run_id=run_id,
                artifact_path=artifact_path,
                model_file=model_file,
                sha256=sha256,
                created=created,
            )
        )

    run_in_transaction(engine, write)


def recorded_digest(engine: Engine, run_id: str, artifact_path: str) -> tuple[str, str] | None:
    """(model_file, sha256) recorded when the model was logged; None for models logged before
    the store kept digests."""
    ensure_schema(engine, COMPONENT, metadata, SCHEMA_VERSION)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(digests.c.model_file, digests.c.sha256).where(
                digests.c.run_id == run_id, digests.c.artifact_path == artifact_path
            )
        ).first()
    return None if row is None else (row.model_file, row.sha256)


def forget_digest(engine: Engine, run_id: str, artifact_path: str) -> None:
    """Drop the digest of a model whose files were deleted."""
    ensure_schema(engine, COMPONENT, metadata, SCHEMA_VERSION)
    run_in_transaction(
        engine,
        lambda conn: conn.execute(
            sa.delete(digests).where(
                digests.c.run_id == run_id, digests.c.artifact_path == artifact_path
            )
        ),
    )
