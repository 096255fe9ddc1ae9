"""``models:/`` URIs: parsing, and resolution to the ``runs:/`` URI the version was registered from.

Forms (as in MLflow): ``models:/<name>/<version>``, ``models:/<name>@<alias>``,
``models:/<name>/<stage>`` (newest version in that stage) and ``models:/<name>/latest`` (newest
live version). ``resolve_models_uri`` is the ``models`` entry point of ``tracking.uri_resolvers``,
so ``tracking.load_model("models:/churn@champion")`` works.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry import validation
from tracking.exceptions import InvalidInputError

SCHEME = "models:/"


@dataclass(frozen=True)
class ModelsUri:
    """A parsed ``models:/`` URI: exactly one of version / alias / stage / latest is set."""

    name: str
    version: int | None = None
    alias: str | None = None
    stage: str | None = None
    latest: bool = False


def parse_models_uri(uri: str) -> ModelsUri:
    """Split a ``models:/`` URI into its parts, rejecting malformed ones with the expected forms."""
    forms = (
        "models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/<stage> "
        "or models:/<name>/latest"
    )
    if not isinstance(uri, str) or not uri.startswith(SCHEME):
        raise InvalidInputError(f"model_uri: {uri!r} is not a models:/ URI; use {forms}")
    body = uri[len(SCHEME) :].strip("/")
    if "@" in body:
        name, _, alias = body.partition("@")
        if not name or not alias or "/" in name or "/" in alias:
            raise InvalidInputError(f"model_uri: cannot parse {uri!r}; use {forms}")
        return ModelsUri(name=validation.model_name(name), alias=alias)
    parts = body.split("/")
    if len(parts) != 2 or not all(parts):
        raise InvalidInputError(f"model_uri: cannot parse {uri!r}; use {forms}")
    name, suffix = validation.model_name(parts[0]), parts[1]
    if suffix.isdigit():
        return ModelsUri(name=name, version=validation.version_number(suffix))
    if suffix.lower() == "latest":
        return ModelsUri(name=name, latest=True)
    try:
        stage = validation.stage_name(suffix)
    except InvalidInputError:
        raise InvalidInputError(
            f"model_uri: {suffix!r} in {uri!r} is neither a version number, 'latest' nor a stage "
            "(None, Staging, Production, Archived); for an alias write models:/<name>@<alias>"
        ) from None
    return ModelsUri(name=name, stage=stage)


def resolve_models_uri(uri: str, tracking_uri: str | None = None) -> str:
    """``models:/...`` -> ``runs:/<run_id>/<path>`` of the version it designates, on the store at
    ``tracking_uri`` (default: the current one); refuses models changed since registration."""
    from registry.client import RegistryClient
    from registry.fluent import get_client

    client = get_client() if tracking_uri is None else RegistryClient(tracking_uri)
    return client.resolve_uri(uri)
