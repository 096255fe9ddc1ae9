"""Stage transitions and alias moves: the registry's recorded moves of a version.

Every move locks the model row, changes the version's stage or alias and records an event in
``registry_events`` in the same transaction, so the history never misses a move.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, update

from registry import protection, schema
from registry.entities import (
    EVENT_ALIAS_DELETED,
    EVENT_ALIAS_SET,
    EVENT_STAGE,
    STAGE_ARCHIVED,
    STAGE_PRODUCTION,
    STAGE_STAGING,
    STATUS_READY,
)
from registry.store_core import StoreCore
from tracking.exceptions import InvalidInputError, ResourceNotFoundError
from tracking.store import now_ms


class MoveStore(StoreCore):
    """Stage transitions (with ``archive_existing_versions``) and alias set/delete."""

    def transition_stage(
        self,
        name: str,
        version: int,
        stage: str,
        archive_existing_versions: bool,
        user: str,
        comment: str | None,
    ) -> None:
        """Move a version to ``stage`` (recorded), optionally archiving the stage's others."""
        if archive_existing_versions and stage not in {STAGE_STAGING, STAGE_PRODUCTION}:
            raise InvalidInputError(
                "archive_existing_versions: only valid when moving to Staging or Production, "
                f"not {stage}"
            )

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            protection.check_move(conn, name, stage)
            row = self._version_row(conn, name, version)
            if row.current_stage != stage:  # leaving a protected stage moves it too
                protection.check_move(
                    conn, name, row.current_stage, f"moving version {version} to {stage}"
                )
            stamp = now_ms()
            if archive_existing_versions:
                v = schema.versions
                others = conn.execute(
                    select(v.c.version).where(
                        v.c.name == name,
                        v.c.version != version,
                        v.c.current_stage == stage,
                        v.c.status == STATUS_READY,
                    )
                ).scalars()
                why = f"archived because version {version} moved to {stage}"
                for other in sorted(others):
                    self._move_stage(conn, name, other, stage, STAGE_ARCHIVED, user, why, stamp)
            if row.current_stage != stage:
                self._move_stage(
                    conn, name, version, row.current_stage, stage, user, comment, stamp
                )

        self._write(work)

    def set_alias(
        self, name: str, alias: str, version: int, user: str, comment: str | None
    ) -> None:
        """Point ``alias`` at ``version`` (moving it if set elsewhere); recorded in history."""

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            protection.check_move(conn, name, alias)
            self._version_row(conn, name, version)
            previous = self._alias_version(conn, name, alias)
            if previous != version:
                self._move_alias(conn, name, alias, version, previous, user, comment)

        self._write(work)

    def delete_alias(self, name: str, alias: str, user: str, comment: str | None) -> None:
        """Remove an alias; recorded on the version it pointed to."""

        def work(conn: Connection) -> None:
            self._lock_model(conn, name)
            protection.check_move(conn, name, alias, "deleting the alias")
            self._drop_alias(conn, name, alias, user, comment)

        self._write(work)

    def _drop_alias(
        self, conn: Connection, name: str, alias: str, user: str, comment: str | None
    ) -> None:
        previous = self._alias_version(conn, name, alias)
        if previous is None:
            raise ResourceNotFoundError(f"alias: registered model {name!r} has no alias {alias!r}")
        a = schema.aliases
        conn.execute(delete(a).where(a.c.name == name, a.c.alias == alias))
        self._event(
            conn,
            name,
            previous,
            EVENT_ALIAS_DELETED,
            user,
            alias=alias,
            from_value=str(previous),
            comment=comment,
        )

    def _move_stage(
        self,
        conn: Connection,
        name: str,
        version: int,
        from_stage: str,
        to_stage: str,
        user: str,
        comment: str | None,
        stamp: int | None = None,
    ) -> None:
        """Put ``version`` in ``to_stage`` and record the transition (at ``stamp``, default now).

        Runs in the caller's transaction, which holds the model-row lock; protections are the
        caller's to check."""
        self._touch_version(conn, name, version, current_stage=to_stage)
        self._event(
            conn,
            name,
            version,
            EVENT_STAGE,
            user,
            from_value=from_stage,
            to_value=to_stage,
            comment=comment,
            timestamp=now_ms() if stamp is None else stamp,
        )

    def _move_alias(
        self,
        conn: Connection,
        name: str,
        alias: str,
        version: int,
        previous: int | None,
        user: str,
        comment: str | None,
    ) -> None:
        """Point ``alias`` (now at ``previous``, None: unset) at ``version`` and record the move,
        in the caller's transaction, which holds the model-row lock."""
        a = schema.aliases
        if previous is None:
            conn.execute(insert(a).values(name=name, alias=alias, version=version))
        else:
            conn.execute(
                update(a).where(a.c.name == name, a.c.alias == alias).values(version=version)
            )
        self._event(
            conn,
            name,
            version,
            EVENT_ALIAS_SET,
            user,
            alias=alias,
            from_value=None if previous is None else str(previous),
            to_value=str(version),
            comment=comment,
        )
