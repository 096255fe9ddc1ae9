"""The tracking store's database as the registry opens it, through tracking's lower layer.

The registry needs no ``TrackingClient``: it resolves the tracking URI with ``tracking.uri``
and shares the process-wide engine of ``tracking.db`` with every tracking client of the same
store, so both see one database and one connection pool.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from tracking import uri as tracking_uris
from tracking.db import store_engine


@dataclass(frozen=True)
class StoreDatabase:
    """A tracking store: its normalised URI, its artifact root and its shared engine."""

    tracking_uri: str
    artifact_root: str
    engine: Engine

    @classmethod
    def open(cls, tracking_uri: str | None = None) -> StoreDatabase:
        """The store at ``tracking_uri`` (default: ``tracking.get_tracking_uri()``)."""
        uri = (
            tracking_uris.get_tracking_uri()
            if tracking_uri is None
            else tracking_uris.normalize(tracking_uri)
        )
        location = tracking_uris.resolve(uri)
        return cls(uri, location.artifact_root, store_engine(location.db_url))
