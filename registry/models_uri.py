"""Parsing ``models:/`` URIs (no store access, so the client can use it without a cycle).

Forms (as in MLflow): ``models:/<name>/<version>``, ``models:/<name>@<alias>``,
``models:/<name>/<stage>`` (newest version in that stage) and ``models:/<name>/latest`` (newest
live version).
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
