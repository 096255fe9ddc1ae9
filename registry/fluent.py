"""Module-level registry functions on the current tracking URI (``tracking.get_tracking_uri()``)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from registry.client import RegistryClient
from registry.entities import ModelVersion, ModelVersionEvent, RegisteredModel
from tracking.entities import PagedList
from tracking.uri import get_tracking_uri

_clients: dict[str, RegistryClient] = {}
_lock = threading.Lock()


def get_client() -> RegistryClient:
    """The process's ``RegistryClient`` for the current tracking URI (one per URI)."""
    uri = get_tracking_uri()
    with _lock:
        client = _clients.get(uri)
        if client is None:
            client = _clients[uri] = RegistryClient(uri)
        return client


def register_model(
    model_uri: str,
    name: str,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    *,
    user: str | None = None,
) -> ModelVersion:
    """Register ``runs:/<run_id>/model`` as the next version of ``name`` (created if needed)."""
    return get_client().register_model(model_uri, name, tags, description, user=user)


def create_registered_model(
    name: str, tags: Mapping[str, Any] | None = None, description: str | None = None
) -> RegisteredModel:
    """Create an empty registered model."""
    return get_client().create_registered_model(name, tags, description)


def get_registered_model(name: str) -> RegisteredModel:
    """A registered model with tags, aliases and newest version per stage."""
    return get_client().get_registered_model(name)


def get_model_version(name: str, version: int | str) -> ModelVersion:
    """One version of a registered model."""
    return get_client().get_model_version(name, version)


def get_latest_versions(name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
    """Newest live version per stage."""
    return get_client().get_latest_versions(name, stages)


def set_registered_model_alias(
    name: str,
    alias: str,
    version: int | str,
    *,
    user: str | None = None,
    comment: str | None = None,
) -> None:
    """Point ``alias`` at ``version`` (recorded in the history)."""
    get_client().set_registered_model_alias(name, alias, version, user=user, comment=comment)


def delete_registered_model_alias(
    name: str, alias: str, *, user: str | None = None, comment: str | None = None
) -> None:
    """Remove an alias (recorded in the history)."""
    get_client().delete_registered_model_alias(name, alias, user=user, comment=comment)


def get_model_version_by_alias(name: str, alias: str) -> ModelVersion:
    """The version an alias points to."""
    return get_client().get_model_version_by_alias(name, alias)


def transition_model_version_stage(
    name: str,
    version: int | str,
    stage: str,
    archive_existing_versions: bool = False,
    *,
    user: str | None = None,
    comment: str | None = None,
) -> ModelVersion:
    """Move a version to a stage (recorded in the history)."""
    return get_client().transition_model_version_stage(
        name, version, stage, archive_existing_versions, user=user, comment=comment
    )


def update_registered_model(name: str, description: str | None) -> RegisteredModel:
    """Replace a model's description."""
    return get_client().update_registered_model(name, description)


def update_model_version(name: str, version: int | str, description: str | None) -> ModelVersion:
    """Replace a version's description."""
    return get_client().update_model_version(name, version, description)


def set_registered_model_tag(name: str, key: str, value: Any) -> None:
    """Set a tag on a registered model."""
    get_client().set_registered_model_tag(name, key, value)


def delete_registered_model_tag(name: str, key: str) -> None:
    """Remove a tag from a registered model."""
    get_client().delete_registered_model_tag(name, key)


def set_model_version_tag(name: str, version: int | str, key: str, value: Any) -> None:
    """Set a tag on a model version."""
    get_client().set_model_version_tag(name, version, key, value)


def delete_model_version_tag(name: str, version: int | str, key: str) -> None:
    """Remove a tag from a model version."""
    get_client().delete_model_version_tag(name, version, key)


def delete_registered_model(name: str) -> None:
    """Soft-delete a registered model."""
    get_client().delete_registered_model(name)


def restore_registered_model(name: str) -> RegisteredModel:
    """Undo ``delete_registered_model``."""
    return get_client().restore_registered_model(name)


def delete_model_version(name: str, version: int | str, *, user: str | None = None) -> None:
    """Soft-delete a model version."""
    get_client().delete_model_version(name, version, user=user)


def restore_model_version(
    name: str, version: int | str, *, user: str | None = None
) -> ModelVersion:
    """Undo ``delete_model_version``."""
    return get_client().restore_model_version(name, version, user=user)


def search_registered_models(
    filter_string: str | None = None,
    max_results: int = 100,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
    include_deleted: bool = False,
) -> PagedList:
    """Registered models matching an MLflow-style filter."""
    return get_client().search_registered_models(
        filter_string, max_results, order_by, page_token, include_deleted
    )


def search_model_versions(
    filter_string: str | None = None,
    max_results: int = 1000,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
    include_deleted: bool = False,
) -> PagedList:
    """Model versions matching an MLflow-style filter."""
    return get_client().search_model_versions(
        filter_string, max_results, order_by, page_token, include_deleted
    )


def get_model_version_history(name: str, version: int | str) -> list[ModelVersionEvent]:
    """Stage transitions, alias moves and lifecycle events of a version, oldest first."""
    return get_client().get_model_version_history(name, version)


def load_model(model_uri: str) -> Any:
    """Load ``models:/...`` or ``runs:/...`` as the same Predictor ``tracking.load_model`` gives."""
    return get_client().load_model(model_uri)
