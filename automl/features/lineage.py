"""Lineage: which feature tables and versions a run / model version used, and the reverse.

A run that trained on a training set carries its ``FeatureSpec`` (artifact + tag) and one
``features_usage`` row per table version, so both directions are single queries.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass

import pyarrow.parquet as pq
import sqlalchemy as sa
from pyarrow import ArrowException

import registry
import tracking
from automl.features import schema, validation
from automl.features.constants import LABELS_ARTIFACT, SPEC_ARTIFACT, SPEC_TAG
from automl.features.entities import FeatureSpec
from automl.features.store import FeatureStore, _now_ms
from automl.features.training_set import TrainingSet


@dataclass(frozen=True)
class TableUse:
    """A run that trained on a version of a table, and the model versions registered from it."""

    table_name: str
    table_version: int
    run_id: str
    model_versions: list[tuple[str, int]]


def log_feature_spec(store: FeatureStore, run_id: str, spec: FeatureSpec) -> None:
    """Record ``spec`` on run ``run_id``: JSON artifact, tag, and usage rows for lineage."""
    text = spec.to_json()
    store.client.log_text(run_id, text, SPEC_ARTIFACT)
    if spec.labels is not None:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, LABELS_ARTIFACT)
            try:
                spec.labels.to_parquet(path, index=False)
            except (ValueError, TypeError, ArrowException) as exc:  # e.g. mixed-type columns
                warnings.warn(
                    f"the training set's label rows could not be stored as Parquet ({exc}); "
                    "trial notebooks will train on the snapshot without rebuilding the set",
                    stacklevel=2,
                )
            else:
                store.client.log_artifact(run_id, path)
    store.client.set_tag(
        run_id, SPEC_TAG, ",".join(f"{lk.table_name}@v{lk.table_version}" for lk in spec.lookups)
    )
    now = _now_ms()
    pairs = sorted({(lk.table_name, lk.table_version) for lk in spec.lookups})

    def work(conn: sa.Connection) -> None:
        for name, version in pairs:
            conn.execute(
                schema.usage.delete().where(
                    (schema.usage.c.name == name)
                    & (schema.usage.c.version == version)
                    & (schema.usage.c.run_id == run_id)
                )
            )
            conn.execute(
                schema.usage.insert().values(
                    name=name, version=version, run_id=run_id, creation_time=now
                )
            )

    store.client.run_in_transaction(work)


def log_training_set(training_set: TrainingSet, run_id: str) -> None:
    """Record a training set's spec on a run (see ``log_feature_spec``)."""
    log_feature_spec(training_set.store, run_id, training_set.feature_spec)


@dataclass(frozen=True)
class RunLineage:
    """What a run's training set was built from, as the run records it.

    ``spec_run_id`` is the run carrying the spec: the run itself, or the AutoML search's parent
    run of a trial. ``label_rows`` counts the label rows stored beside the spec (the
    ``LABELS_ARTIFACT`` of that run), None when they were not stored.
    """

    run_id: str
    spec_run_id: str
    spec: FeatureSpec
    labels_artifact: str | None
    label_rows: int | None


def run_lineage(client: tracking.TrackingClient, run_id: str) -> RunLineage | None:
    """The feature lineage of run ``run_id``, or None when it trained on a plain DataFrame.

    Reads the run's tag and artifacts only (no feature store is opened, none is created).
    """
    carrier = spec_run_id(client, run_id)
    if carrier is None:
        return None
    path = client.download_artifacts(carrier, SPEC_ARTIFACT)
    with open(path, encoding="utf-8") as handle:
        spec = FeatureSpec.from_json(handle.read())
    try:
        labels = client.download_artifacts(carrier, LABELS_ARTIFACT)
    except tracking.ResourceNotFoundError:
        return RunLineage(run_id, carrier, spec, None, None)
    rows = pq.ParquetFile(labels).metadata.num_rows
    return RunLineage(run_id, carrier, spec, LABELS_ARTIFACT, rows)


def spec_run_id(client: tracking.TrackingClient, run_id: str) -> str | None:
    """The run carrying the spec for ``run_id``: itself, or (a trial) the search's parent run.

    Reads only runs (a tag), so checking a plain search's runs creates no feature tables.
    """
    run = client.get_run(run_id)
    if SPEC_TAG in run.data.tags:
        return run_id
    parent = run.info.parent_run_id
    return None if parent is None else spec_run_id(client, parent)


def run_feature_spec(store: FeatureStore, run_id: str) -> FeatureSpec | None:
    """The spec recorded on a run, or None when it trained on a plain DataFrame."""
    found = run_lineage(store.client, run_id)
    return None if found is None else found.spec


def model_version_features(
    store: FeatureStore, name: str, version: int | str
) -> FeatureSpec | None:
    """The feature tables and versions a registered model version was trained on."""
    client = registry.RegistryClient(store.tracking_uri)
    model_version = client.get_model_version(name, version)
    return run_feature_spec(store, model_version.run_id)


def table_lineage(store: FeatureStore, name: str) -> list[TableUse]:
    """Runs that trained on table ``name`` and the model versions registered from them."""
    name = validation.table_name(name)
    store.get_table(name)
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.usage.c.version, schema.usage.c.run_id)
            .where(schema.usage.c.name == name)
            .order_by(schema.usage.c.creation_time, schema.usage.c.run_id)
        ).all()
    client = registry.RegistryClient(store.tracking_uri)
    uses = []
    for version, run_id in rows:
        found = []
        for candidate in [run_id, *_child_runs(store, run_id)]:  # AutoML registers a trial's
            found += client.search_model_versions(f"run_id = '{candidate}'")
        models = sorted({(mv.name, int(mv.version)) for mv in found})
        uses.append(TableUse(name, version, run_id, models))
    return uses


def _child_runs(store: FeatureStore, run_id: str) -> list[str]:
    run = store.client.get_run(run_id)
    children = store.client.search_runs(
        [run.info.experiment_id], f"attributes.parent_run_id = '{run_id}'"
    )
    return [child.info.run_id for child in children]
