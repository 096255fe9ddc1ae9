"""``models:/`` URIs resolved to the ``runs:/`` URI the version was registered from.

``resolve_models_uri`` is the ``models`` entry point of ``tracking.uri_resolvers``, so
``tracking.load_model("models:/churn@champion")`` works. Parsing lives in
``registry.models_uri`` (re-exported here); this module sits above the client and imports it,
the client never imports this module.
"""

from __future__ import annotations

from registry.client import RegistryClient
from registry.fluent import get_client
from registry.models_uri import SCHEME, ModelsUri, parse_models_uri

__all__ = ["SCHEME", "ModelsUri", "parse_models_uri", "resolve_models_uri"]


def resolve_models_uri(uri: str, tracking_uri: str | None = None) -> str:
    """``models:/...`` -> ``runs:/<run_id>/<path>`` of the version it designates, on the store at
    ``tracking_uri`` (default: the current one); refuses models changed since registration."""
    client = get_client() if tracking_uri is None else RegistryClient(tracking_uri)
    return client.resolve_uri(uri)
