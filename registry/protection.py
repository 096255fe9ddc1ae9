"""Protected stages and aliases: moving one needs an approved transition request.

Protections are rows of their own table (``registry.schema.protected_targets``, component
``registry_protection``); the name ``*`` protects a target on every model. The registry's move
paths call ``check_move`` inside their transaction: setting or deleting a protected alias, moving
a version into or out of a protected stage, and deleting or restoring a version that holds one.
Approvals (``registry.approvals``) and passing gates carry out their move without it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine, delete, inspect, or_, select

from registry import schema
from registry.database import StoreDatabase
from registry.schema import protected_targets as protected
from tracking.exceptions import InvalidInputError

ALL_MODELS = "*"


class ProtectedMoveError(InvalidInputError):
    """A protected alias or stage was moved directly instead of through a request."""


def is_protected(conn: Connection, name: str, target: str) -> bool:
    """Whether ``target`` of model ``name`` is protected (for that model or for all)."""
    if not inspect(conn).has_table(protected.name):
        return False
    hit = conn.execute(
        select(protected.c.target).where(
            or_(protected.c.name == name, protected.c.name == ALL_MODELS),
            protected.c.target == target,
        )
    ).first()
    return hit is not None


def check_move(conn: Connection, name: str, target: str, action: str = "") -> None:
    """Raise ``ProtectedMoveError`` if ``target`` of model ``name`` is protected.

    ``action`` says what would have moved it when that is not setting it (e.g. "deleting
    version 3"); the message then names it."""
    if is_protected(conn, name, target):
        what = f" ({action} would move it)" if action else ""
        raise ProtectedMoveError(
            f"{target!r} of model {name!r} is protected{what}: move it with "
            "request_transition() (or automl.promotion.promote()) and have another user approve "
            "it, or unprotect() it first"
        )


def protect(name: str, targets: Iterable[str], tracking_uri: str | None = None) -> None:
    """Protect ``targets`` (stage names or aliases) of model ``name`` (``"*"``: every model)."""
    engine = _engine(tracking_uri)
    with engine.begin() as conn:
        for target in targets:
            exists = conn.execute(
                select(protected).where(protected.c.name == name, protected.c.target == target)
            ).first()
            if exists is None:
                conn.execute(protected.insert().values(name=name, target=target))


def unprotect(name: str, targets: Iterable[str], tracking_uri: str | None = None) -> None:
    """Lift the protection of ``targets`` of model ``name`` (``"*"``: the registry-wide one).

    A target protected both for the model and for ``"*"`` stays protected until both go.
    """
    engine = _engine(tracking_uri)
    with engine.begin() as conn:
        for target in targets:
            conn.execute(
                delete(protected).where(protected.c.name == name, protected.c.target == target)
            )


def list_protected(name: str, tracking_uri: str | None = None) -> list[str]:
    """The protected targets of model ``name``, its own and the registry-wide ones, sorted."""
    engine = _engine(tracking_uri)
    with engine.connect() as conn:
        rows = conn.execute(
            select(protected.c.target).where(
                or_(protected.c.name == name, protected.c.name == ALL_MODELS)
            )
        )
        return sorted({r.target for r in rows})


def _engine(tracking_uri: str | None) -> Engine:
    engine = StoreDatabase.open(tracking_uri).engine
    schema.PROTECTION.ensure(engine)
    return engine
