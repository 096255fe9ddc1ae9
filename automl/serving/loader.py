"""Loading the model behind a URI, and following it when an alias or stage moves.

A ``models:/name@alias`` (or ``/Production``, ``/latest``) URI is resolved to a version through
the registry; the version is loaded with ``tracking.load_model`` (which verifies the file's
sha256). ``FollowedModel.refresh`` re-resolves the URI and, when it now designates another
version, loads that version completely before swapping it in with one assignment, so a request
in flight keeps the model it started with and none fails during the move.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import registry
import tracking
from automl.serving.payload import ColumnSpec, schema_from_metadata

log = logging.getLogger("automl.serving")


@dataclass(frozen=True)
class ServedModel:
    """A loaded, verified model and which version it is."""

    predictor: Any  # tracking.Predictor
    source_uri: str  # as given: may be an alias
    pinned_uri: str  # the exact version: models:/name/3 or runs:/id/path
    version: str  # registry version number, or the run id for runs:/ URIs
    sha256: str
    schema: list[ColumnSpec] | None

    @property
    def classes(self) -> list[Any] | None:
        return getattr(self.predictor, "classes_", None)


def _pin(uri: str) -> tuple[str, str]:
    """(exact URI, version label) that ``uri`` designates now."""
    if uri.startswith("models:/"):
        version = registry.get_client().get_model_version_by_uri(uri)
        return f"models:/{version.name}/{version.version}", str(version.version)
    if uri.startswith("runs:/"):
        return uri, uri[len("runs:/") :].split("/", 1)[0]
    return uri, "local"


def load_served_model(uri: str) -> ServedModel:
    """Resolve ``uri`` to one version and load it (sha256 verified; raises if it does not match)."""
    pinned, version = _pin(uri)
    predictor = tracking.load_model(pinned)
    metadata = predictor.metadata
    return ServedModel(
        predictor=predictor,
        source_uri=uri,
        pinned_uri=pinned,
        version=version,
        sha256=str(metadata.get("sha256")),
        schema=schema_from_metadata(metadata),
    )


def is_followed(uri: str) -> bool:
    """Whether the URI can move: an alias, a stage or ``latest`` (not a version number)."""
    if not uri.startswith("models:/"):
        return False
    parsed = registry.parse_models_uri(uri)
    return parsed.version is None


class FollowedModel:
    """The current model of a route; ``refresh`` picks up a moved alias."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.follows = is_followed(uri)
        self.current: ServedModel = load_served_model(uri)
        self.reload_failures = 0
        self._lock = threading.Lock()  # one refresh at a time

    def refresh(self) -> bool:
        """Re-resolve the URI; load and switch to a new version. True when it switched."""
        if not self.follows:
            return False
        with self._lock:
            try:
                pinned, _ = _pin(self.uri)
                if pinned == self.current.pinned_uri:
                    return False
                fresh = load_served_model(pinned)
            except Exception as exc:  # keep serving the loaded version
                self.reload_failures += 1
                log.error(
                    "could not load the new version of %s, still serving %s: %s",
                    self.uri,
                    self.current.pinned_uri,
                    exc,
                )
                return False
            fresh = ServedModel(
                fresh.predictor,
                self.uri,
                fresh.pinned_uri,
                fresh.version,
                fresh.sha256,
                fresh.schema,
            )
            old, self.current = self.current, fresh
            log.info(
                "%s moved: now serving %s (was %s)", self.uri, fresh.pinned_uri, old.pinned_uri
            )
            return True
