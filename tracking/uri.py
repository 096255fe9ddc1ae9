"""Where the store lives: tracking URI -> (SQLAlchemy URL, artifact root folder).

Accepted: ``sqlite:///path/to/file.db`` (artifacts beside it in ``artifacts/``), any other
SQLAlchemy URL such as ``postgresql+psycopg://user:pw@host/db`` (artifacts under
``$AUTOML_ARTIFACT_ROOT`` or ``./automl-runs/artifacts``), a ``file://`` URI or a plain directory
path (SQLite file ``tracking.db`` and ``artifacts/`` inside it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import sqlalchemy as sa

from tracking.exceptions import InvalidInputError

ENV_TRACKING_URI = "AUTOML_TRACKING_URI"
ENV_ARTIFACT_ROOT = "AUTOML_ARTIFACT_ROOT"
DEFAULT_DIRNAME = "automl-runs"
DB_FILENAME = "tracking.db"
ARTIFACTS_DIRNAME = "artifacts"

_tracking_uri: str | None = None


@dataclass(frozen=True)
class StoreLocation:
    """Resolved store: database URL plus local artifact root."""

    db_url: str
    artifact_root: str


def _is_url(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    return len(scheme) > 1 and "://" in uri  # 'C:\\x' has a 1-letter scheme


def normalize(uri: str | os.PathLike) -> str:
    """Make a tracking URI independent of the current directory (paths become absolute)."""
    uri = os.fspath(uri)
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidInputError(f"tracking uri must be a non-empty string, got {uri!r}")
    if uri.startswith("file:"):
        return os.path.abspath(unquote(urlparse(uri).path))
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        path = uri[len("sqlite:///") :]
        if path and path != ":memory:" and not path.startswith("?"):
            return "sqlite:///" + os.path.abspath(path)
        return uri
    if _is_url(uri):
        return uri
    return os.path.abspath(os.path.expanduser(uri))


def set_tracking_uri(uri: str | os.PathLike | None) -> None:
    """Set the process-wide tracking URI (None reverts to env var / default)."""
    global _tracking_uri
    _tracking_uri = None if uri is None else normalize(uri)


def get_tracking_uri() -> str:
    """The URI in use: ``set_tracking_uri`` > ``$AUTOML_TRACKING_URI`` > ``./automl-runs``."""
    if _tracking_uri is not None:
        return _tracking_uri
    env = os.environ.get(ENV_TRACKING_URI)
    if env:
        return normalize(env)
    return "sqlite:///" + os.path.join(os.path.abspath(DEFAULT_DIRNAME), DB_FILENAME)


def _default_artifact_root() -> str:
    env = os.environ.get(ENV_ARTIFACT_ROOT)
    return (
        os.path.abspath(env)
        if env
        else os.path.abspath(os.path.join(DEFAULT_DIRNAME, ARTIFACTS_DIRNAME))
    )


def resolve(
    uri: str | os.PathLike | None = None, artifact_root: str | None = None
) -> StoreLocation:
    """Turn a tracking URI (default: ``get_tracking_uri()``) into a ``StoreLocation``."""
    uri = get_tracking_uri() if uri is None else normalize(uri)
    if not _is_url(uri):
        if uri.endswith((".db", ".sqlite", ".sqlite3")) and not os.path.isdir(uri):
            db_path, folder = uri, os.path.dirname(uri)
        else:
            db_path, folder = os.path.join(uri, DB_FILENAME), uri
        root = artifact_root or os.path.join(folder, ARTIFACTS_DIRNAME)
        return StoreLocation("sqlite:///" + db_path, os.path.abspath(root))
    try:
        url = sa.engine.make_url(uri)
    except Exception as exc:
        raise InvalidInputError(f"tracking uri {uri!r} is not a valid URL: {exc}") from exc
    if url.get_backend_name() == "sqlite":
        database = url.database
        if database and database != ":memory:":
            root = artifact_root or os.path.join(os.path.dirname(database), ARTIFACTS_DIRNAME)
            return StoreLocation(uri, os.path.abspath(root))
    return StoreLocation(
        uri, os.path.abspath(artifact_root) if artifact_root else _default_artifact_root()
    )
