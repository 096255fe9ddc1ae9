"""``RegistryClient``: the model registry on a tracking store, with MLflow's method names."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from registry import validation
from registry.database import StoreDatabase
from registry.entities import ModelVersion, ModelVersionEvent, RegisteredModel
from registry.filters import SearchQuery
from registry.models_uri import parse_models_uri
from registry.store import RegistryStore
from tracking.artifacts import LocalArtifactRepository
from tracking.entities import PagedList, Run
from tracking.exceptions import InvalidInputError, ResourceNotFoundError
from tracking.models import ModelIntegrityError, load_model_uri
from tracking.resolvers import parse_runs_uri as tracking_runs_uri
from tracking.resolvers import uri_scheme
from tracking.store import SqlStore

MODEL_METADATA_FILE = "MLmodel.json"


def _tags(tags: Mapping[str, Any] | None, argument: str = "tags") -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise InvalidInputError(
            f"{argument}: expected a dict of key -> value, got {type(tags).__name__}"
        )
    return {validation.tag_key(k): str(v) for k, v in tags.items()}


def _text(value: object, argument: str = "description") -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInputError(
            f"{argument}: expected a string or None, got {type(value).__name__}"
        )
    return value


def parse_runs_uri(model_uri: str) -> tuple[str, str]:
    """``runs:/<run_id>/<path>`` -> (run_id, path): tracking's parser, plus the registry's rule
    that the path names the model folder; errors name ``model_uri`` and the expected form."""
    if not isinstance(model_uri, str) or uri_scheme(model_uri) != "runs":
        raise InvalidInputError(
            f"model_uri: expected 'runs:/<run_id>/<artifact_path>' (what tracking.log_model "
            f"returns as model_uri), got {model_uri!r}"
        )
    try:
        run_id, path = tracking_runs_uri(model_uri)
    except InvalidInputError as exc:
        raise InvalidInputError(f"model_uri: {exc}") from None
    if not path:
        raise InvalidInputError(
            f"model_uri: {model_uri!r} lacks the run id or the model's artifact path; "
            "expected 'runs:/<run_id>/model'"
        )
    return run_id, path


class RegistryClient:
    """Registered models and versions stored in the tracking store's database.

    ``tracking_uri`` defaults to ``tracking.get_tracking_uri()``. Methods that change stages or
    aliases take ``user=`` (default: the OS login) and ``comment=`` for the history. The client
    opens the store's database itself (``engine``, shared with tracking's clients of the same
    URI) and reads runs through tracking's SQL store and artifact repositories.
    """

    def __init__(self, tracking_uri: str | None = None) -> None:
        database = StoreDatabase.open(tracking_uri)
        self.tracking_uri = database.tracking_uri
        self.engine = database.engine
        self.runs = SqlStore(self.engine, database.artifact_root)
        self.store = RegistryStore(self.engine)

    def _artifacts(self, run_id: str) -> LocalArtifactRepository:
        return LocalArtifactRepository(self.runs.get_run(run_id).info.artifact_uri)

    # ------------------------------------------------------------------ models
    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        """Create an empty registered model (``register_model`` does this implicitly)."""
        name = validation.model_name(name)
        self.store.create_registered_model(name, _tags(tags), _text(description))
        return self.store.get_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its tags, aliases and newest version per stage."""
        return self.store.get_registered_model(validation.model_name(name))

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        """Replace a model's description."""
        name = validation.model_name(name)
        self.store.update_registered_model(name, _text(description))
        return self.store.get_registered_model(name)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set a tag on a registered model (values are stored as strings)."""
        self.store.set_registered_model_tag(
            validation.model_name(name), validation.tag_key(key), str(value)
        )

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model."""
        self.store.delete_registered_model_tag(validation.model_name(name), validation.tag_key(key))

    def delete_registered_model(self, name: str) -> None:
        """Soft-delete a model: hidden from search and URI resolution, restorable."""
        self.store.set_model_deleted(validation.model_name(name), True)

    def restore_registered_model(self, name: str) -> RegisteredModel:
        """Undo ``delete_registered_model``."""
        name = validation.model_name(name)
        self.store.set_model_deleted(name, False)
        return self.store.get_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> PagedList:
        """Models matching e.g. ``"name LIKE 'churn%' AND tags.team = 'ml'"``; default order
        ``name ASC``; ``order_by`` fields: name, creation_timestamp, last_updated_timestamp."""
        query = SearchQuery.of(filter_string, max_results, order_by, page_token, include_deleted)
        return self.store.search_registered_models(query)

    # ------------------------------------------------------------------ versions
    def register_model(
        self,
        model_uri: str,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
        *,
        user: str | None = None,
    ) -> ModelVersion:
        """Add a version of ``name`` (created if missing) from a model logged by ``log_model``.

        ``tags`` and ``description`` go on the new version. The version records the source
        run, the run's latest metrics now, and the model's sha256 from its ``MLmodel.json``.
        """
        name = validation.model_name(name)
        run_id, path = parse_runs_uri(model_uri)
        version_tags = _tags(tags)
        description = _text(description)
        who = validation.current_user(user)
        run = self.runs.get_run(run_id)
        if getattr(run.info, "lifecycle_stage", "active") == "deleted":
            raise InvalidInputError(f"model_uri: run {run_id} is deleted; restore it first")
        meta = self._model_metadata(run, path, model_uri)
        number = self.store.create_version(
            name,
            run_id=run_id,
            source=f"runs:/{run_id}/{path}",
            metrics=dict(run.data.metrics),
            sha256=meta.get("sha256"),
            user=who,
            tags=version_tags,
            description=description,
        )
        return self.store.get_model_version(name, number)

    def _model_metadata(self, run: Run, path: str, model_uri: str) -> dict[str, Any]:
        run_id = run.info.run_id
        repo = LocalArtifactRepository(run.info.artifact_uri)
        try:
            local = repo.download_artifacts(f"{path}/{MODEL_METADATA_FILE}")
        except (ResourceNotFoundError, OSError):
            local = None
        if local is None or not os.path.isfile(local):
            raise InvalidInputError(
                f"model_uri: {model_uri!r} holds no model (no {MODEL_METADATA_FILE} under "
                f"'{path}' of run {run_id}); log one with tracking.log_model first"
            )
        with open(local, encoding="utf-8") as fh:
            try:
                meta = json.load(fh)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(
                    f"model_uri: {model_uri!r} has an unreadable {MODEL_METADATA_FILE}: {exc}"
                ) from None
        if not isinstance(meta, dict):
            raise InvalidInputError(
                f"model_uri: {model_uri!r} has a malformed {MODEL_METADATA_FILE}"
            )
        return meta

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """One version of a model (deleted versions are not found)."""
        return self.store.get_model_version(
            validation.model_name(name), validation.version_number(version)
        )

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """Newest live version in each of ``stages`` (default: every stage that has one)."""
        wanted = None if stages is None else [validation.stage_name(s) for s in stages]
        return self.store.get_latest_versions(validation.model_name(name), wanted)

    def update_model_version(
        self, name: str, version: int | str, description: str | None
    ) -> ModelVersion:
        """Replace a version's description."""
        name, number = validation.model_name(name), validation.version_number(version)
        self.store.update_model_version(name, number, _text(description))
        return self.store.get_model_version(name, number)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        """Set a tag on a model version (values are stored as strings)."""
        self.store.set_model_version_tag(
            validation.model_name(name),
            validation.version_number(version),
            validation.tag_key(key),
            str(value),
        )

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        """Remove a tag from a model version."""
        self.store.delete_model_version_tag(
            validation.model_name(name), validation.version_number(version), validation.tag_key(key)
        )

    def delete_model_version(
        self, name: str, version: int | str, *, user: str | None = None
    ) -> None:
        """Soft-delete a version; its aliases are removed (recorded in its history)."""
        self.store.set_version_deleted(
            validation.model_name(name),
            validation.version_number(version),
            True,
            validation.current_user(user),
        )

    def restore_model_version(
        self, name: str, version: int | str, *, user: str | None = None
    ) -> ModelVersion:
        """Undo ``delete_model_version`` (aliases removed by the delete are not restored)."""
        name, number = validation.model_name(name), validation.version_number(version)
        self.store.set_version_deleted(name, number, False, validation.current_user(user))
        return self.store.get_model_version(name, number)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> PagedList:
        """Versions matching e.g. ``"name = 'churn' AND tags.validated = 'yes'"``.

        Filter fields: name, run_id, version_number, current_stage, source, status, tags.<key>
        with = != LIKE ILIKE IN NOT IN (and > >= < <= on version_number). Default order:
        name ASC, version_number DESC.
        """
        query = SearchQuery.of(filter_string, max_results, order_by, page_token, include_deleted)
        return self.store.search_model_versions(query)

    # ------------------------------------------------------------------ stages and aliases
    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
        *,
        user: str | None = None,
        comment: str | None = None,
    ) -> ModelVersion:
        """Move a version to None/Staging/Production/Archived (case-insensitive).

        With ``archive_existing_versions`` the other versions in the target stage (Staging or
        Production only) move to Archived in the same transaction.
        """
        name, number = validation.model_name(name), validation.version_number(version)
        canonical = validation.stage_name(stage)
        self.store.transition_stage(
            name,
            number,
            canonical,
            bool(archive_existing_versions),
            validation.current_user(user),
            _text(comment, "comment"),
        )
        return self.store.get_model_version(name, number)

    def set_registered_model_alias(
        self,
        name: str,
        alias: str,
        version: int | str,
        *,
        user: str | None = None,
        comment: str | None = None,
    ) -> None:
        """Point ``alias`` at ``version``, moving it from any other version of the model."""
        self.store.set_alias(
            validation.model_name(name),
            validation.alias_name(alias),
            validation.version_number(version),
            validation.current_user(user),
            _text(comment, "comment"),
        )

    def delete_registered_model_alias(
        self, name: str, alias: str, *, user: str | None = None, comment: str | None = None
    ) -> None:
        """Remove an alias from a model."""
        self.store.delete_alias(
            validation.model_name(name),
            validation.alias_name(alias),
            validation.current_user(user),
            _text(comment, "comment"),
        )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points to."""
        return self.store.get_version_by_alias(
            validation.model_name(name), validation.alias_name(alias)
        )

    def get_model_version_history(self, name: str, version: int | str) -> list[ModelVersionEvent]:
        """Registration, stage transitions, alias moves, deletes/restores of a version, oldest
        first, each with who, when, from, to and comment."""
        return self.store.history(validation.model_name(name), validation.version_number(version))

    # ------------------------------------------------------------------ URIs and loading
    def get_model_version_by_uri(self, model_uri: str) -> ModelVersion:
        """The version a ``models:/`` URI designates."""
        parsed = parse_models_uri(model_uri)
        if parsed.version is not None:
            return self.store.get_model_version(parsed.name, parsed.version)
        if parsed.alias is not None:
            return self.store.get_version_by_alias(parsed.name, parsed.alias)
        if parsed.latest:
            return self.store.latest_version(parsed.name)
        found = self.store.get_latest_versions(parsed.name, [parsed.stage])
        if not found:
            raise ResourceNotFoundError(
                f"model_uri: registered model {parsed.name!r} has no version in stage "
                f"{parsed.stage} ({model_uri})"
            )
        return found[0]

    def resolve_uri(self, model_uri: str) -> str:
        """``models:/...`` -> ``runs:/<run_id>/<path>`` of a model unchanged since registration.

        ``runs:/`` URIs are returned as is. The model's ``MLmodel.json`` checksum must still be
        the one recorded at registration, so a model replaced afterwards is refused.
        """
        if isinstance(model_uri, str) and model_uri.startswith("runs:/"):
            return model_uri
        version = self.get_model_version_by_uri(model_uri)
        run_id, path = parse_runs_uri(version.source)
        meta = self._model_metadata(self.runs.get_run(run_id), path, version.source)
        if version.sha256 and meta.get("sha256") != version.sha256:
            raise ModelIntegrityError(
                f"model_uri: the model behind {model_uri!r} (version {version.version}, "
                f"{version.source}) changed since registration: its sha256 is now "
                f"{meta.get('sha256')}, registered {version.sha256}; it is not loaded"
            )
        return version.source

    def load_model(self, model_uri: str) -> Any:
        """The tracking ``Predictor`` of a ``models:/`` URI (or ``runs:/`` URI / local path)."""
        if isinstance(model_uri, str) and model_uri.startswith("models:/"):
            model_uri = self.resolve_uri(model_uri)
        return load_model_uri(self.engine, self._artifacts, model_uri, self.tracking_uri)
