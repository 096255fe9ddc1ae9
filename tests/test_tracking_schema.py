"""Schema versioning, sharing the database with other packages and with Optuna."""

from __future__ import annotations

import optuna
import pytest
import sqlalchemy as sa

import tracking
from tracking.db import dispose_engine
from tracking.schema import ensure_schema

pytest_plugins = ["tracking_fixtures"]


def _versions(engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT component, version FROM tracking_schema_version"))
        return dict(rows.all())


def test_other_package_tables_versioned_and_migrated(fresh_store_uri):
    store_uri = fresh_store_uri
    client = tracking.TrackingClient(store_uri)
    assert _versions(client.engine) == {"tracking": 1}

    v1 = sa.MetaData()
    sa.Table("demo_items", v1, sa.Column("id", sa.Integer, primary_key=True))
    seeded = []
    client.ensure_schema("demo", v1, 1, initialize=lambda conn: seeded.append(True))
    client.ensure_schema("demo", v1, 1)  # idempotent
    assert seeded == [True]
    assert _versions(client.engine) == {"tracking": 1, "demo": 1}

    v2 = sa.MetaData()
    sa.Table("demo_items", v2, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("demo_more", v2, sa.Column("id", sa.Integer, primary_key=True))

    def add_column(conn):
        conn.execute(sa.text("ALTER TABLE demo_items ADD COLUMN label VARCHAR(20)"))

    ensure_schema(client.engine, "demo", v2, 2, migrations={1: add_column})
    assert _versions(client.engine)["demo"] == 2
    inspector = sa.inspect(client.engine)
    assert "label" in [c["name"] for c in inspector.get_columns("demo_items")]
    assert inspector.has_table("demo_more")

    dispose_engine(client.engine.url.render_as_string(hide_password=False))
    fresh = tracking.TrackingClient(store_uri)
    with pytest.raises(tracking.SchemaVersionError, match="'demo'.*version 2, newer"):
        fresh.ensure_schema("demo", v1, 1)


def test_newer_store_refused(tmp_path):
    uri = str(tmp_path / "store")
    client = tracking.TrackingClient(uri)
    with client.engine.begin() as conn:
        conn.execute(sa.text("UPDATE tracking_schema_version SET version = 99"))
    dispose_engine(client.engine.url.render_as_string(hide_password=False))
    with pytest.raises(tracking.SchemaVersionError, match="version 99"):
        tracking.TrackingClient(uri)


def test_shares_database_with_optuna(tmp_path):
    uri = str(tmp_path / "store")
    client = tracking.TrackingClient(uri)
    db_url = client.engine.url.render_as_string(hide_password=False)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=db_url, study_name="s")
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    run_id = client.create_run("0").info.run_id
    client.log_metric(run_id, "m", 1.0)
    reopened = optuna.load_study(storage=db_url, study_name="s")
    assert len(reopened.trials) == 2
    tables = set(sa.inspect(client.engine).get_table_names())
    assert {"studies", "trials", "tracking_runs", "tracking_schema_version"} <= tables
    assert tracking.TrackingClient(uri).get_run(run_id).data.metrics == {"m": 1.0}
