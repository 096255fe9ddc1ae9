"""Copy one of our experiments into an MLflow tracking server.

Runs keep their nesting (``mlflow.parentRunId``), params, tags, every metric value with its
step and timestamp, status and times, and their artifacts (notebooks, plots, tables). Each
logged model folder becomes an MLflow Model (``MLmodel`` with a ``python_function`` flavor and
a signature) whose predictions are ours. Registered versions of the exported runs are
registered again there, with their aliases.

Idempotent: every exported run carries the tag ``automl.source_run_id`` and every version
``automl.source_model_version``; what is already there is skipped, never duplicated or changed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import registry
import tracking
from automl.core import tags

SOURCE_RUN_TAG = tags.SOURCE_RUN_ID
SOURCE_EXPERIMENT_TAG = tags.SOURCE_EXPERIMENT_ID
SOURCE_VERSION_TAG = tags.SOURCE_MODEL_VERSION
PARENT_TAG = "mlflow.parentRunId"
MODEL_METADATA_FILE = "MLmodel.json"
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100


class MlflowExportError(ValueError):
    """The export cannot proceed (unknown experiment, name taken by a foreign experiment)."""


@dataclass
class ExportResult:
    """What an export did: the MLflow experiment, source -> MLflow run ids, versions."""

    experiment_id: str
    run_ids: dict[str, str] = field(default_factory=dict)
    created_runs: list[str] = field(default_factory=list)
    skipped_runs: list[str] = field(default_factory=list)
    model_versions: dict[str, str] = field(default_factory=dict)
    created_versions: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"MLflow experiment {self.experiment_id}: {len(self.created_runs)} runs exported, "
            f"{len(self.skipped_runs)} already there; {len(self.created_versions)} model "
            f"versions registered, {len(self.model_versions) - len(self.created_versions)} "
            "already there"
        )


def _target_experiment(client: Any, name: str, source_id: str) -> str:
    existing = client.get_experiment_by_name(name)
    if existing is None:
        return client.create_experiment(name, tags={SOURCE_EXPERIMENT_TAG: source_id})
    if existing.tags.get(SOURCE_EXPERIMENT_TAG) != source_id:
        raise MlflowExportError(
            f"the MLflow server already has an experiment named {name!r} that was not exported "
            f"from ours (tag {SOURCE_EXPERIMENT_TAG} missing or different); rename or delete it "
            "there first"
        )
    return existing.experiment_id


def _source_runs(client: tracking.TrackingClient, experiment_id: str) -> list[Any]:
    """All runs of the experiment, parents before their children."""
    runs: list[Any] = []
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    by_id = {r.info.run_id: r for r in runs}

    def depth(run: Any) -> int:
        d, parent = 0, run.info.parent_run_id
        while parent in by_id:
            d, parent = d + 1, by_id[parent].info.parent_run_id
        return d

    return sorted(runs, key=lambda r: (depth(r), r.info.start_time))


def _exported_runs(client: Any, experiment_id: str) -> dict[str, str]:
    done: dict[str, str] = {}
    for run in client.search_runs([experiment_id], max_results=50000):
        source = run.data.tags.get(SOURCE_RUN_TAG)
        if source:
            done[source] = run.info.run_id
    return done


def _write_mlflow_model(model_dir: str, dst: str) -> None:
    """Save ``model_dir`` (our model folder) as an MLflow pyfunc model in ``dst``."""
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    from automl.interop.pyfunc_model import MODEL_ARTIFACT, AutoMLPyfuncModel

    predictor = tracking.load_model(model_dir)
    example = None
    example_path = os.path.join(model_dir, "input_example.json")
    if os.path.exists(example_path):
        with open(example_path) as fh:
            spec = json.load(fh)
        example = pd.DataFrame(spec["data"], columns=spec["columns"]).astype(spec.get("dtypes", {}))
    signature = None if example is None else infer_signature(example, predictor.predict(example))
    requirements_file = os.path.join(model_dir, "requirements.txt")
    # given requirements spare MLflow its inference, which re-loads the model in a subprocess
    requirements = requirements_file if os.path.exists(requirements_file) else ["scikit-learn"]
    mlflow.pyfunc.save_model(
        dst,
        python_model=AutoMLPyfuncModel(),
        artifacts={MODEL_ARTIFACT: model_dir},
        signature=signature,
        input_example=example,
        pip_requirements=requirements,
    )


def _copy_artifacts(
    source: tracking.TrackingClient, mlflow_client: Any, run_id: str, new_id: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for entry in source.list_artifacts(run_id):
            local = source.download_artifacts(run_id, entry.path, tmp)
            is_model = entry.is_dir and os.path.exists(os.path.join(local, MODEL_METADATA_FILE))
            if is_model:
                model_dst = os.path.join(tmp, "_mlflow", entry.path)
                _write_mlflow_model(local, model_dst)
                mlflow_client.log_artifacts(new_id, model_dst, entry.path)
            elif entry.is_dir:
                mlflow_client.log_artifacts(new_id, local, entry.path)
            else:
                mlflow_client.log_artifact(new_id, local)
            shutil.rmtree(os.path.join(tmp, "_mlflow"), ignore_errors=True)


def _copy_run(
    source: tracking.TrackingClient,
    mlflow_client: Any,
    run: Any,
    experiment_id: str,
    parent_id: str | None,
) -> str:
    from mlflow.entities import Metric, Param

    tags = {k: v for k, v in run.data.tags.items() if k != PARENT_TAG}
    tags[SOURCE_RUN_TAG] = run.info.run_id
    if parent_id is not None:
        tags[PARENT_TAG] = parent_id
    created = mlflow_client.create_run(
        experiment_id, start_time=run.info.start_time, tags=tags, run_name=run.info.run_name
    )
    new_id = created.info.run_id
    params = [Param(k, str(v)) for k, v in run.data.params.items()]
    for i in range(0, len(params), MAX_PARAMS_PER_BATCH):
        mlflow_client.log_batch(new_id, params=params[i : i + MAX_PARAMS_PER_BATCH])
    metrics = [
        Metric(m.key, m.value, m.timestamp, m.step)
        for key in run.data.metrics
        for m in source.get_metric_history(run.info.run_id, key)
    ]
    for i in range(0, len(metrics), MAX_METRICS_PER_BATCH):
        mlflow_client.log_batch(new_id, metrics=metrics[i : i + MAX_METRICS_PER_BATCH])
    _copy_artifacts(source, mlflow_client, run.info.run_id, new_id)
    if run.info.status != "RUNNING":
        mlflow_client.set_terminated(new_id, status=run.info.status, end_time=run.info.end_time)
    return new_id


def _copy_versions(
    source_registry: registry.RegistryClient, mlflow_client: Any, result: ExportResult
) -> None:
    from mlflow.exceptions import MlflowException

    versions = [
        v
        for v in source_registry.search_model_versions(max_results=10000)
        if v.run_id in result.run_ids
    ]
    for v in sorted(versions, key=lambda v: (v.name, v.version)):
        key = f"{v.name}/{v.version}"
        try:
            mlflow_client.get_registered_model(v.name)
        except MlflowException:
            model = source_registry.get_registered_model(v.name)
            mlflow_client.create_registered_model(
                v.name, tags=model.tags, description=model.description
            )
        existing = mlflow_client.search_model_versions(f"name = '{v.name}'")
        match = [e for e in existing if e.tags.get(SOURCE_VERSION_TAG) == key]
        if match:
            result.model_versions[key] = match[0].version
            continue
        artifact_path = v.source.rsplit("/", 1)[-1] if v.source else "model"
        new_run = result.run_ids[v.run_id]
        base = mlflow_client.get_run(new_run).info.artifact_uri
        created = mlflow_client.create_model_version(
            v.name,
            source=f"{base}/{artifact_path}",
            run_id=new_run,
            tags={**v.tags, SOURCE_VERSION_TAG: key},
            description=v.description,
        )
        result.model_versions[key] = created.version
        result.created_versions.append(key)
        for alias in v.aliases:
            mlflow_client.set_registered_model_alias(v.name, alias, created.version)


def export_to_mlflow(
    experiment: str,
    mlflow_tracking_uri: str,
    *,
    tracking_uri: str | None = None,
) -> ExportResult:
    """Export our experiment named ``experiment`` (from ``tracking_uri``, default the current
    store) to the MLflow server at ``mlflow_tracking_uri``. Runs and versions exported before
    are skipped, so running it again changes nothing."""
    from mlflow import MlflowClient

    source = tracking.TrackingClient(tracking_uri)
    exp = source.get_experiment_by_name(experiment)
    if exp is None:
        raise MlflowExportError(
            f"experiment: no experiment named {experiment!r} in {source.tracking_uri}; "
            "see `automl experiments list`"
        )
    target = MlflowClient(tracking_uri=mlflow_tracking_uri)
    result = ExportResult(_target_experiment(target, exp.name, exp.experiment_id))
    done = _exported_runs(target, result.experiment_id)
    for run in _source_runs(source, exp.experiment_id):
        run_id = run.info.run_id
        if run_id in done:
            result.run_ids[run_id] = done[run_id]
            result.skipped_runs.append(run_id)
            continue
        parent = result.run_ids.get(run.info.parent_run_id) if run.info.parent_run_id else None
        result.run_ids[run_id] = _copy_run(source, target, run, result.experiment_id, parent)
        result.created_runs.append(run_id)
    _copy_versions(registry.RegistryClient(tracking_uri), target, result)
    return result
