"""``TrackingClient``: the explicit-id API (what worker processes use)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracking import uri as uri_mod
from tracking.artifacts import LocalArtifactRepository, uri_to_path
from tracking.db import run_in_transaction, store_engine, transaction
from tracking.entities import (
    Experiment,
    FileInfo,
    Metric,
    ModelInfo,
    PagedList,
    Run,
    RunStatus,
    ViewType,
)
from tracking.exceptions import InvalidInputError, ResourceNotFoundError
from tracking.resolvers import parse_runs_uri, to_runs_uri, uri_scheme
from tracking.schema import ensure_schema
from tracking.store import SqlStore, now_ms
from tracking.validation import check_artifact_path, check_run_id

T = TypeVar("T")


class TrackingClient:
    """Experiments, runs, params, metrics, tags and artifacts addressed by explicit ids.

    ``tracking_uri``: SQLAlchemy URL or directory (default: ``tracking.get_tracking_uri()``).
    ``engine`` and ``tracking_uri`` are public so other packages can share the database.
    """

    def __init__(self, tracking_uri: str | None = None, artifact_root: str | None = None) -> None:
        self.tracking_uri = (
            uri_mod.get_tracking_uri() if tracking_uri is None else uri_mod.normalize(tracking_uri)
        )
        location = uri_mod.resolve(self.tracking_uri, artifact_root)
        self.artifact_root = location.artifact_root
        self.engine: Engine = store_engine(location.db_url)
        self._store = SqlStore(self.engine, self.artifact_root)
        self._artifact_uris: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"TrackingClient(tracking_uri={self.tracking_uri!r})"

    # sharing the database with other packages -------------------------------------------------
    def ensure_schema(
        self,
        component: str,
        metadata: sa.MetaData,
        version: int,
        migrations: Mapping[int, Callable[[Connection], None]] | None = None,
        initialize: Callable[[Connection], None] | None = None,
    ) -> None:
        """Create another package's tables here and keep its row in ``tracking_schema_version``."""
        ensure_schema(self.engine, component, metadata, version, migrations, initialize)

    def run_in_transaction(self, fn: Callable[[Connection], T], write: bool = True) -> T:
        """Run ``fn(conn)`` in one transaction, retried on lock contention (fn may rerun)."""
        return run_in_transaction(self.engine, fn, write=write)

    def transaction(self, write: bool = True) -> Any:
        """Context manager yielding a Connection in a transaction (no retry)."""
        return transaction(self.engine, write=write)

    # experiments --------------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Any = None
    ) -> str:
        """Create an experiment and return its id."""
        return self._store.create_experiment(name, artifact_location, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Experiment by id (ResourceNotFoundError if unknown)."""
        return self._store.get_experiment(experiment_id)

    def get_or_create_experiment(self, name: str) -> Experiment:
        """The experiment named ``name``, created if missing; safe under concurrent callers."""
        return self._store.get_or_create_experiment(name)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Experiment by name, or None."""
        return self._store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Experiments, filtered by ``name``/``tags.<k>``/times, as a ``PagedList``."""
        return self._store.search_experiments(
            view_type, max_results, filter_string, order_by, page_token
        )

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its runs."""
        self._store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a deleted experiment and the runs deleted with it."""
        self._store.restore_experiment(experiment_id)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set an experiment tag."""
        self._store.set_experiment_tag(experiment_id, key, value)

    # runs ---------------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        run_name: str | None = None,
        tags: Any = None,
        parent_run_id: str | None = None,
        start_time: int | None = None,
    ) -> Run:
        """Create a RUNNING run in ``experiment_id``."""
        return self._store.create_run(experiment_id, run_name, tags, parent_run_id, start_time)

    def get_run(self, run_id: str) -> Run:
        """Run by id with params, latest metrics and tags."""
        return self._store.get_run(run_id)

    def set_terminated(
        self, run_id: str, status: str = "FINISHED", end_time: int | None = None
    ) -> None:
        """End a run with ``status`` (FINISHED, FAILED or KILLED)."""
        self._store.update_run(run_id, status=status, end_time=end_time)

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        """Change a run's status and/or name."""
        self._store.update_run(run_id, status=status, run_name=name)

    def resume_run(self, run_id: str) -> Run:
        """Set a run RUNNING again, owned by this process."""
        self._store.update_run(run_id, status=RunStatus.RUNNING.value, take_ownership=True)
        return self.get_run(run_id)

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""
        self._store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Restore a deleted run."""
        self._store.restore_run(run_id)

    def mark_dead_runs(self) -> list[str]:
        """Mark KILLED the RUNNING runs of dead processes on this host; returns their ids."""
        return self._store.mark_dead_runs()

    def search_runs(
        self,
        experiment_ids: list[str] | str,
        filter_string: str = "",
        run_view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """One page of ``Run`` objects; ``.token`` fetches the next page."""
        return self._store.search_runs(
            experiment_ids, filter_string, run_view_type, max_results, order_by, page_token
        )

    # params, metrics, tags -----------------------------------------------------------------------
    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        """Log an immutable param; returns ``value``."""
        self._store.log_batch(run_id, params={key: value})
        return value

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        step: int = 0,
        timestamp: int | None = None,
    ) -> None:
        """Log one metric value."""
        self._store.log_batch(
            run_id, metrics=[Metric(key, value, now_ms() if timestamp is None else timestamp, step)]
        )

    def log_batch(self, run_id: str, metrics: Any = (), params: Any = (), tags: Any = ()) -> None:
        """Log many metrics/params/tags at once, atomically (metrics: list[Metric] or dict)."""
        self._store.log_batch(run_id, metrics, params, tags)

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        """Set (or overwrite) a run tag."""
        self._store.log_batch(run_id, tags={key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a run tag."""
        self._store.delete_tag(run_id, key)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """All values of ``key`` in step order."""
        return self._store.get_metric_history(run_id, key)

    # artifacts ------------------------------------------------------------------------------------
    def _repo(self, run_id: str, for_write: bool = False) -> LocalArtifactRepository:
        run_id = check_run_id(run_id)
        artifact_uri = self._artifact_uris.get(run_id)
        if artifact_uri is None or for_write:
            run = self.get_run(run_id)
            if for_write and run.info.lifecycle_stage != "active":
                raise InvalidInputError(f"run {run_id} is deleted; restore_run() it first")
            artifact_uri = self._artifact_uris[run_id] = run.info.artifact_uri
        return LocalArtifactRepository(artifact_uri)

    def local_path(self, uri: str) -> str:
        """Local path for a ``runs:/``, registered-scheme (e.g. ``models:/``), file URI or path."""
        scheme = uri_scheme(uri)
        if scheme is None or scheme == "file":
            return uri_to_path(uri)
        run_id, path = parse_runs_uri(to_runs_uri(uri))
        return self._repo(run_id).download_artifacts(path)

    def get_artifact_uri(self, run_id: str, artifact_path: str | None = None) -> str:
        """Local location of the run's artifact root or of ``artifact_path`` in it."""
        return self._repo(run_id).path(artifact_path)

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        """Copy a file (or a ``runs:/`` artifact) into the run's artifacts."""
        repo = self._repo(run_id, for_write=True)
        source = self.local_path(os.fspath(local_path))
        if os.path.isdir(source):
            raise InvalidInputError(f"local_path {local_path!r} is a directory; use log_artifacts")
        repo.log_artifact(source, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy a directory's contents into the run's artifacts."""
        repo = self._repo(run_id, for_write=True)
        repo.log_artifacts(self.local_path(os.fspath(local_dir)), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Write ``text`` (UTF-8) to ``artifact_file``."""
        if not isinstance(text, str):
            raise InvalidInputError(f"text must be a str, got {type(text).__name__}")
        self._repo(run_id, for_write=True).write_bytes(artifact_file, text.encode("utf-8"))

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Write ``dictionary`` as JSON (or YAML for .yaml/.yml) to ``artifact_file``."""
        if str(artifact_file).endswith((".yaml", ".yml")):
            try:
                import yaml
            except ImportError as exc:
                raise InvalidInputError(
                    f"artifact_file {artifact_file!r}: writing YAML needs PyYAML "
                    "(pip install pyyaml), or use a .json file name"
                ) from exc
            data = yaml.safe_dump(dictionary, sort_keys=False)
        else:
            data = json.dumps(dictionary, indent=2, default=str)
        self._repo(run_id, for_write=True).write_bytes(artifact_file, data.encode("utf-8"))

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Save a matplotlib (or plotly) figure to ``artifact_file`` (format from extension).

        ``save_kwargs`` go to matplotlib's ``savefig`` (default: ``bbox_inches="tight"``), as
        in MLflow; a figure laid out already saves faster without the tight bounding box.
        """
        repo = self._repo(run_id, for_write=True)
        extension = os.path.splitext(str(artifact_file))[1].lower().lstrip(".")
        if not extension:
            raise InvalidInputError(f"artifact_file {artifact_file!r} needs an extension (.png)")
        buffer = io.BytesIO()
        if hasattr(figure, "savefig"):
            kwargs = {"bbox_inches": "tight"} if save_kwargs is None else dict(save_kwargs)
            figure.savefig(buffer, format=extension, **kwargs)
        elif hasattr(figure, "write_html") and extension == "html":
            buffer.write(figure.to_html(include_plotlyjs="cdn").encode("utf-8"))
        elif hasattr(figure, "to_image"):
            buffer.write(figure.to_image(format=extension))
        else:
            raise InvalidInputError(
                f"figure of type {type(figure).__name__} is not a matplotlib or plotly figure"
            )
        repo.write_bytes(artifact_file, buffer.getvalue())

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """Files and folders directly under ``path`` in the run's artifacts."""
        return self._repo(run_id).list_artifacts(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Local path of an artifact (copied into ``dst_path`` when given)."""
        return self._repo(run_id).download_artifacts(path, dst_path)

    # models -----------------------------------------------------------------------------------
    def log_model(
        self,
        run_id: str,
        model: Any,
        artifact_path: str = "model",
        input_example: Any = None,
        *,
        task: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ModelInfo:
        """Serialise ``model`` with its metadata into the run (see ``tracking.models``)."""
        from tracking.model_digests import record_digest
        from tracking.models import save_model

        repo = self._repo(run_id, for_write=True)
        info = save_model(
            repo, run_id, model, artifact_path, input_example, task=task, metadata=metadata
        )
        record_digest(
            self.engine,
            run_id,
            info.artifact_path,
            info.metadata["model_file"],
            info.sha256,
            info.created,
        )
        return info

    def delete_model(self, run_id: str, artifact_path: str = "model") -> None:
        """Delete a logged model's folder (and its recorded digest), keeping the run's metrics,
        params, tags and other artifacts: what a retention policy (keep the top-k models) uses.
        A notebook of the run can rebuild the model."""
        import shutil

        from tracking.model_digests import forget_digest
        from tracking.models import METADATA_FILE

        repo = self._repo(run_id, for_write=True)
        folder = repo.path(artifact_path)
        if not os.path.isfile(os.path.join(folder, METADATA_FILE)):
            raise ResourceNotFoundError(
                f"artifact_path: run {run_id} has no model at {artifact_path!r}"
            )
        shutil.rmtree(folder)
        forget_digest(self.engine, check_run_id(run_id), check_artifact_path(artifact_path))

    def load_model(self, model_uri: str) -> Any:
        """Load a ``Predictor`` from ``runs:/``, ``models:/`` (registry) or a local path."""
        from tracking.models import load_model_uri

        return load_model_uri(self.engine, self._repo, model_uri, self.tracking_uri)
