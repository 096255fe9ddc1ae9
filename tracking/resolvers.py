"""``runs:/<run_id>/<path>`` URIs, and other schemes through the ``tracking.uri_resolvers``
entry-point group (name = scheme, value = ``callable(uri) -> "runs:/<run_id>/<path>"``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.metadata import entry_points

from tracking.exceptions import InvalidInputError, ResourceNotFoundError
from tracking.validation import check_artifact_path

ENTRY_POINT_GROUP = "tracking.uri_resolvers"
_RUNS_URI = re.compile(r"^runs:/+([^/]+)(?:/(.*))?$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")
_registered: dict[str, Callable[[str], str]] = {}


def register_uri_resolver(scheme: str, resolver: Callable[[str], str]) -> None:
    """Register ``resolver`` for ``scheme`` in this process (entry points do it for packages)."""
    _registered[scheme.lower()] = resolver


def uri_scheme(uri: str) -> str | None:
    """The URI's scheme ('runs', 'models', 'file'...) or None for a plain path."""
    match = _SCHEME.match(uri)
    return match.group(1).lower() if match else None


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """``runs:/<run_id>/<path>`` -> (run_id, normalised relative path)."""
    match = _RUNS_URI.match(uri)
    if match is None:
        raise InvalidInputError(f"{uri!r} is not a runs:/<run_id>/<path> URI")
    return match.group(1), check_artifact_path(match.group(2) or "", "path in " + uri)


def _resolver(scheme: str) -> Callable[[str], str]:
    if scheme in _registered:
        return _registered[scheme]
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name.lower() == scheme:
            try:
                resolver = entry.load()
            except ImportError as exc:
                raise ResourceNotFoundError(
                    f"the resolver for {scheme}:/ URIs ({entry.value}) cannot be imported: {exc}"
                ) from exc
            _registered[scheme] = resolver
            return resolver
    raise InvalidInputError(
        f"no resolver for {scheme}:/ URIs; use runs:/<run_id>/<path>, a local path, or install "
        f"a package registering {scheme!r} in the {ENTRY_POINT_GROUP!r} entry-point group"
    )


def to_runs_uri(uri: str, _depth: int = 0) -> str:
    """Resolve any registered scheme down to a ``runs:/`` URI (runs:/ URIs pass through)."""
    scheme = uri_scheme(uri)
    if scheme == "runs":
        return uri
    if scheme is None or scheme == "file":
        raise InvalidInputError(f"{uri!r} is a local path, not a URI to resolve")
    if _depth > 5:
        raise InvalidInputError(f"resolving {uri!r} loops through too many schemes")
    resolved = _resolver(scheme)(uri)
    if not isinstance(resolved, str):
        raise InvalidInputError(f"the {scheme}:/ resolver returned {resolved!r}, not a URI")
    return to_runs_uri(resolved, _depth + 1)
