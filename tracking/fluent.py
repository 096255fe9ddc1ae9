"""MLflow-style fluent API: module state is the tracking URI, the active experiment and the
stack of active runs; everything else goes through a ``TrackingClient``."""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any

from tracking import uri as uri_mod
from tracking.client import TrackingClient
from tracking.entities import Experiment, Metric, ModelInfo, Run, RunStatus, ViewType
from tracking.exceptions import InvalidInputError
from tracking.store import DEFAULT_EXPERIMENT_ID, now_ms

ENV_EXPERIMENT_NAME = "AUTOML_EXPERIMENT_NAME"
ENV_EXPERIMENT_ID = "AUTOML_EXPERIMENT_ID"

_clients: dict[str, TrackingClient] = {}
_clients_lock = threading.Lock()
_active_runs: list[ActiveRun] = []
_active_experiment_id: str | None = None


def _client() -> TrackingClient:
    uri = uri_mod.get_tracking_uri()
    with _clients_lock:
        client = _clients.get(uri)
        if client is None:
            client = _clients[uri] = TrackingClient(uri)
        return client


def set_tracking_uri(uri: str | os.PathLike | None) -> None:
    """Point the fluent API (and new ``TrackingClient()``s) at another store."""
    global _active_experiment_id
    uri_mod.set_tracking_uri(uri)
    _active_experiment_id = None


def get_tracking_uri() -> str:
    """The tracking URI in use."""
    return uri_mod.get_tracking_uri()


class ActiveRun:
    """Context manager around a started run: ends FINISHED, or FAILED if the block raises."""

    def __init__(self, run: Run) -> None:
        self._run = run

    @property
    def info(self) -> Any:
        """``RunInfo`` at start time."""
        return self._run.info

    @property
    def data(self) -> Any:
        """``RunData`` at start time (use ``get_run`` for fresh values)."""
        return self._run.data

    def __repr__(self) -> str:
        return f"ActiveRun(run_id={self.info.run_id!r}, run_name={self.info.run_name!r})"

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        if self in _active_runs:
            while _active_runs and _active_runs[-1] is not self:
                end_run(status.value)
            end_run(status.value)
        return False


def set_experiment(name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment active (created when ``name`` does not exist yet)."""
    global _active_experiment_id
    if (name is None) == (experiment_id is None):
        raise InvalidInputError("set_experiment needs exactly one of name= or experiment_id=")
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(experiment_id)
    else:
        experiment = client.get_or_create_experiment(name)
    if experiment.lifecycle_stage != "active":
        raise InvalidInputError(
            f"experiment {experiment.name!r} is deleted; restore_experiment() it first"
        )
    _active_experiment_id = experiment.experiment_id
    return experiment


def _experiment_id() -> str:
    if _active_experiment_id is not None:
        return _active_experiment_id
    if os.environ.get(ENV_EXPERIMENT_ID):
        return os.environ[ENV_EXPERIMENT_ID]
    if os.environ.get(ENV_EXPERIMENT_NAME):
        return set_experiment(os.environ[ENV_EXPERIMENT_NAME]).experiment_id
    return DEFAULT_EXPERIMENT_ID


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
) -> ActiveRun:
    """Start (or with ``run_id=`` resume) a run and make it active."""
    client = _client()
    if _active_runs and not nested:
        raise InvalidInputError(
            f"run {_active_runs[-1].info.run_id} is already active; end_run() it first or pass "
            "nested=True to start a child run"
        )
    if run_id is not None:
        run = client.resume_run(run_id)
        if tags:
            client.log_batch(run_id, tags=tags)
        if run_name is not None:
            client.update_run(run_id, name=run_name)
        run = client.get_run(run_id)
    else:
        if parent_run_id is None and nested and _active_runs:
            parent_run_id = _active_runs[-1].info.run_id
        run = client.create_run(
            experiment_id if experiment_id is not None else _experiment_id(),
            run_name=run_name,
            tags=tags,
            parent_run_id=parent_run_id,
        )
    active = ActiveRun(run)
    _active_runs.append(active)
    return active


def end_run(status: str = "FINISHED") -> None:
    """End the innermost active run with ``status``."""
    if not _active_runs:
        return
    run = _active_runs.pop()
    _client().set_terminated(run.info.run_id, status)


def active_run() -> ActiveRun | None:
    """The innermost active run, or None."""
    return _active_runs[-1] if _active_runs else None


def last_active_run_id() -> str | None:
    """Id of the innermost active run (None when no run is active)."""
    return _active_runs[-1].info.run_id if _active_runs else None


def _run_id() -> str:
    if not _active_runs:
        start_run()
    return _active_runs[-1].info.run_id


def _end_all_at_exit() -> None:
    while _active_runs:
        try:
            end_run()
        except Exception:
            _active_runs.pop()


atexit.register(_end_all_at_exit)


def get_run(run_id: str) -> Run:
    """Run by id."""
    return _client().get_run(run_id)


def log_param(key: str, value: Any) -> Any:
    """Log a param to the active run (one is started if needed)."""
    return _client().log_param(_run_id(), key, value)


def log_params(params: dict[str, Any]) -> None:
    """Log several params at once."""
    _client().log_batch(_run_id(), params=params)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    """Log a metric value to the active run."""
    _client().log_metric(_run_id(), key, value, step=step or 0)


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    """Log several metrics (same step and timestamp)."""
    if not isinstance(metrics, dict):
        raise InvalidInputError(f"metrics must be a dict, got {type(metrics).__name__}")
    stamp = now_ms()
    items = [Metric(key, value, stamp, step or 0) for key, value in metrics.items()]
    _client().log_batch(_run_id(), metrics=items)


def log_batch(metrics: Any = (), params: Any = (), tags: Any = ()) -> None:
    """Log metrics/params/tags atomically to the active run."""
    _client().log_batch(_run_id(), metrics, params, tags)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    _client().set_tag(_run_id(), key, value)


def set_tags(tags: dict[str, Any]) -> None:
    """Set several tags on the active run."""
    _client().log_batch(_run_id(), tags=tags)


def delete_tag(key: str) -> None:
    """Remove a tag from the active run."""
    _client().delete_tag(_run_id(), key)


def log_artifact(local_path: str, artifact_path: str | None = None) -> None:
    """Copy a file into the active run's artifacts."""
    _client().log_artifact(_run_id(), local_path, artifact_path)


def log_artifacts(local_dir: str, artifact_path: str | None = None) -> None:
    """Copy a directory's contents into the active run's artifacts."""
    _client().log_artifacts(_run_id(), local_dir, artifact_path)


def log_dict(dictionary: Any, artifact_file: str) -> None:
    """Write a dict as JSON/YAML artifact."""
    _client().log_dict(_run_id(), dictionary, artifact_file)


def log_text(text: str, artifact_file: str) -> None:
    """Write text as an artifact."""
    _client().log_text(_run_id(), text, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
) -> None:
    """Save a figure as an artifact (``save_kwargs`` go to matplotlib's ``savefig``)."""
    _client().log_figure(_run_id(), figure, artifact_file, save_kwargs=save_kwargs)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """Location of the active run's artifacts (or of ``artifact_path`` in them)."""
    return _client().get_artifact_uri(_run_id(), artifact_path)


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
) -> str:
    """Local path of an artifact given as ``runs:/...`` URI or as ``run_id`` + ``artifact_path``."""
    client = _client()
    if artifact_uri is not None:
        path = client.local_path(artifact_uri)
        if dst_path is None:
            return path
        from tracking.artifacts import LocalArtifactRepository

        return LocalArtifactRepository(os.path.dirname(path)).download_artifacts(
            os.path.basename(path), dst_path
        )
    if run_id is None:
        raise InvalidInputError("download_artifacts needs artifact_uri= or run_id=")
    return client.download_artifacts(run_id, artifact_path or "", dst_path)


def log_model(
    model: Any,
    artifact_path: str = "model",
    input_example: Any = None,
    *,
    task: str | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """Save ``model`` into the active run (or ``run_id``) under ``artifact_path``."""
    return _client().log_model(
        run_id or _run_id(), model, artifact_path, input_example, task=task, metadata=metadata
    )


def load_model(model_uri: str) -> Any:
    """``Predictor`` for ``runs:/<run_id>/<path>``, ``models:/...`` or a local model folder."""
    return _client().load_model(model_uri)


def search_experiments(
    view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
    max_results: int = 1000,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    """Experiments (all pages)."""
    client = _client()
    result: list[Experiment] = []
    token = None
    while True:
        page = client.search_experiments(
            view_type, min(max_results - len(result), 1000), filter_string, order_by, token
        )
        result.extend(page)
        token = page.token
        if token is None or len(result) >= max_results:
            return result


def search_runs(
    experiment_ids: list[str] | str | None = None,
    filter_string: str = "",
    run_view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: list[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
) -> Any:
    """Runs of the given experiments (default: the active one) as a DataFrame or list of Run.

    ``output_format="pandas"`` gives columns ``run_id, experiment_id, run_name, status,
    artifact_uri, start_time, end_time, parent_run_id, metrics.*, params.*, tags.*``.
    """
    if output_format not in ("pandas", "list"):
        raise InvalidInputError(f"output_format must be 'pandas' or 'list', got {output_format!r}")
    client = _client()
    if experiment_names:
        ids = []
        for name in experiment_names:
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise InvalidInputError(f"experiment_names: no experiment named {name!r}")
            ids.append(experiment.experiment_id)
        experiment_ids = ids
    elif experiment_ids is None:
        if search_all_experiments:
            experiment_ids = [e.experiment_id for e in search_experiments(ViewType.ALL, 100_000)]
        else:
            experiment_ids = [_experiment_id()]
    runs: list[Run] = []
    token = None
    while len(runs) < max_results:
        page = client.search_runs(
            experiment_ids,
            filter_string,
            run_view_type,
            min(max_results - len(runs), 50_000),
            order_by,
            token,
        )
        runs.extend(page)
        token = page.token
        if token is None:
            break
    if output_format == "list":
        return runs
    from tracking.frames import runs_to_frame

    return runs_to_frame(runs)
