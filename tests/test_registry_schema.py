"""Registry tables live beside tracking's and Optuna's; their schema version is checked."""

from __future__ import annotations

import optuna
import pytest
import sqlalchemy as sa

import registry
import tracking
from registry import schema
from tracking.db import dispose_engine

pytest_plugins = ["registry_fixtures"]


def test_shares_database_with_optuna_and_versions_itself(local_fluent):
    from registry_fixtures import log_model_run

    db_url = registry.get_client().store.engine.url.render_as_string(hide_password=False)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=db_url, study_name="s")
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    registry.register_model(log_model_run(), "churn")
    engine = sa.create_engine(db_url)
    tables = set(sa.inspect(engine).get_table_names())
    ours = {t.name for t in schema.metadata.sorted_tables}
    assert ours <= tables and {"studies", "trials", "tracking_runs"} <= tables
    assert all(name.startswith("registry_") for name in ours)
    with engine.connect() as conn:
        versions = dict(
            conn.execute(sa.text("SELECT component, version FROM tracking_schema_version")).all()
        )
    assert versions["registry"] == schema.SCHEMA_VERSION
    assert len(optuna.load_study(storage=db_url, study_name="s").trials) == 2
    engine.dispose()


def test_newer_registry_schema_is_refused(local_fluent):
    engine = registry.get_client().store.engine
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE tracking_schema_version SET version = 99 WHERE component = 'registry'")
        )
    dispose_engine(engine.url.render_as_string(hide_password=False))
    with pytest.raises(tracking.SchemaVersionError, match="'registry'.*version 99"):
        registry.RegistryClient(local_fluent)
