"""The SQL store: experiments and runs (their lifecycle); run data is ``tracking.store_data``.

All writes of one call happen in one transaction after every input was validated, so a bad
batch stores nothing. Params are immutable: re-logging the same value is a no-op, a different
value is an error.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import astuple
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from tracking import schema as t
from tracking.entities import (
    Experiment,
    LifecycleStage,
    PagedList,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    ViewType,
)
from tracking.exceptions import (
    InvalidInputError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
)
from tracking.filters import parse_filter, parse_order_by
from tracking.liveness import current_owner, hostname, is_alive
from tracking.names import random_run_name
from tracking.paging import check_max_results, decode_token, read_page
from tracking.search import experiment_filter, experiment_order
from tracking.statements import SUPPORTED, statements
from tracking.store_data import RunDataStore
from tracking.store_rows import _chunks, _pairs, in_view, now_ms
from tracking.validation import (
    MAX_TAG_VALUE_LENGTH,
    check_experiment_id,
    check_key,
    check_name,
    check_run_id,
    check_string_value,
    check_timestamp,
)

T = TypeVar("T")
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"

__all__ = ["DEFAULT_EXPERIMENT_ID", "DEFAULT_EXPERIMENT_NAME", "SqlStore", "now_ms"]


class SqlStore(RunDataStore):
    """Tracking data on any SQLAlchemy database; artifacts are handled by the client."""

    def __init__(self, engine: Engine, artifact_root: str) -> None:
        if engine.dialect.name not in SUPPORTED:
            raise InvalidInputError(
                f"tracking uri: the {engine.dialect.name!r} database is not supported; use "
                "SQLite (sqlite:///path or a folder) or PostgreSQL (postgresql+psycopg://...)"
            )
        self.engine = engine
        self.artifact_root = artifact_root
        self._sql = statements(engine.dialect.name)
        t.ensure_schema(
            engine, t.COMPONENT, t.metadata, t.SCHEMA_VERSION, initialize=self._initialize
        )

    # plumbing --------------------------------------------------------------------------------
    def _initialize(self, conn: Connection) -> None:
        stamp = now_ms()
        conn.execute(
            t.experiments.insert().values(
                experiment_id=int(DEFAULT_EXPERIMENT_ID),
                name=DEFAULT_EXPERIMENT_NAME,
                artifact_location=os.path.join(self.artifact_root, DEFAULT_EXPERIMENT_ID),
                lifecycle_stage=LifecycleStage.ACTIVE,
                creation_time=stamp,
                last_update_time=stamp,
            )
        )

    # experiments -----------------------------------------------------------------------------
    def _experiment_row(self, conn: Connection, experiment_id: str) -> Any:
        row = conn.execute(
            sa.select(t.experiments).where(t.experiments.c.experiment_id == int(experiment_id))
        ).first()
        if row is None:
            raise ResourceNotFoundError(f"experiment_id {experiment_id!r} does not exist")
        return row

    def _experiments(self, conn: Connection, rows: list) -> list[Experiment]:
        ids = [row.experiment_id for row in rows]
        tags: dict[int, dict[str, str]] = {i: {} for i in ids}
        for chunk in _chunks(ids):
            for tag in conn.execute(
                sa.select(t.experiment_tags).where(t.experiment_tags.c.experiment_id.in_(chunk))
            ):
                tags[tag.experiment_id][tag.key] = tag.value
        return [
            Experiment(
                experiment_id=str(row.experiment_id),
                name=row.name,
                artifact_location=row.artifact_location,
                lifecycle_stage=row.lifecycle_stage,
                tags=tags[row.experiment_id],
                creation_time=row.creation_time,
                last_update_time=row.last_update_time,
            )
            for row in rows
        ]

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Any = None
    ) -> str:
        """Create an experiment; its name must be unique (deleted ones included)."""
        name = check_name(name, "experiment name")
        tag_map = _pairs(tags, "tag", MAX_TAG_VALUE_LENGTH)
        location = os.path.abspath(artifact_location) if artifact_location else None

        def write(conn: Connection) -> str:
            existing = conn.execute(
                sa.select(t.experiments.c.lifecycle_stage).where(t.experiments.c.name == name)
            ).first()
            if existing is not None:
                hint = (
                    " (it is deleted: restore it or pick another name)"
                    if (existing[0] == LifecycleStage.DELETED)
                    else ""
                )
                raise ResourceAlreadyExistsError(f"experiment {name!r} already exists{hint}")
            stamp = now_ms()
            result = conn.execute(
                t.experiments.insert().values(
                    name=name,
                    artifact_location=location or "",
                    lifecycle_stage=LifecycleStage.ACTIVE,
                    creation_time=stamp,
                    last_update_time=stamp,
                )
            )
            new_id = int(result.inserted_primary_key[0])
            if location is None:
                conn.execute(
                    t.experiments.update()
                    .where(t.experiments.c.experiment_id == new_id)
                    .values(artifact_location=os.path.join(self.artifact_root, str(new_id)))
                )
            if tag_map:
                conn.execute(
                    t.experiment_tags.insert(),
                    [{"experiment_id": new_id, "key": k, "value": v} for k, v in tag_map.items()],
                )
            return str(new_id)

        try:
            return self._write(write)
        except IntegrityError as exc:  # a concurrent creator won the race (PostgreSQL)
            raise ResourceAlreadyExistsError(f"experiment {name!r} already exists") from exc

    def get_or_create_experiment(self, name: str) -> Experiment:
        """The experiment named ``name``, created when missing; safe when several processes
        ask at once (SQLite serialises the write transactions, PostgreSQL's unique index makes
        the loser re-read the winner's row). A deleted experiment is returned as it is."""
        name = check_name(name, "experiment name")
        for _ in range(3):
            found = self.get_experiment_by_name(name)
            if found is not None:
                return found
            try:
                return self.get_experiment(self.create_experiment(name))
            except ResourceAlreadyExistsError:
                continue  # created between our read and our write: read it
        raise ResourceAlreadyExistsError(f"experiment {name!r} keeps being created and deleted")

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id (deleted ones included)."""
        experiment_id = check_experiment_id(experiment_id)
        return self._read(
            lambda conn: self._experiments(conn, [self._experiment_row(conn, experiment_id)])[0]
        )

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this name, or None."""
        name = check_name(name, "experiment name")

        def read(conn: Connection) -> Experiment | None:
            row = conn.execute(sa.select(t.experiments).where(t.experiments.c.name == name)).first()
            return None if row is None else self._experiments(conn, [row])[0]

        return self._read(read)

    def search_experiments(
        self,
        view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """Experiments matching ``filter_string`` (name/tags/times), one page at a time."""
        view = ViewType.coerce(view_type)
        max_results = check_max_results(max_results)
        where = experiment_filter(parse_filter(filter_string), self.engine.dialect.name)
        clauses = parse_order_by(order_by)
        offset = decode_token(page_token)
        query = sa.select(t.experiments)
        query = in_view(query, t.experiments.c.lifecycle_stage, view)
        if where is not None:
            query = query.where(where)
        query = experiment_order(query, clauses)
        return self._read(
            lambda conn: read_page(conn, query, offset, max_results, self._experiments)
        )

    def _set_experiment_stage(self, experiment_id: str, stage: str) -> None:
        experiment_id = check_experiment_id(experiment_id)

        def write(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id)
            if row.lifecycle_stage == stage:
                return  # already there; re-stamping would orphan the runs deleted with it
            stamp = now_ms()
            runs = t.runs.c
            if stage == LifecycleStage.DELETED:
                # The stamp marks the runs deleted with the experiment (restore brings back only
                # those): it must differ from a run deleted on its own in the same millisecond.
                latest = conn.execute(
                    sa.select(sa.func.max(runs.deleted_time)).where(
                        runs.experiment_id == row.experiment_id
                    )
                ).scalar()
                stamp = max(stamp, (latest or 0) + 1)
                conn.execute(
                    t.runs.update()
                    .where(runs.experiment_id == row.experiment_id)
                    .where(runs.lifecycle_stage == LifecycleStage.ACTIVE)
                    .values(lifecycle_stage=LifecycleStage.DELETED, deleted_time=stamp)
                )
            elif row.lifecycle_stage == LifecycleStage.DELETED:
                # Bring back the runs deleted together with the experiment, not earlier ones.
                conn.execute(
                    t.runs.update()
                    .where(runs.experiment_id == row.experiment_id)
                    .where(runs.deleted_time == row.last_update_time)
                    .values(lifecycle_stage=LifecycleStage.ACTIVE, deleted_time=None)
                )
            conn.execute(
                t.experiments.update()
                .where(t.experiments.c.experiment_id == row.experiment_id)
                .values(lifecycle_stage=stage, last_update_time=stamp)
            )

        self._write(write)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its active runs."""
        self._set_experiment_stage(experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        """Undo ``delete_experiment`` (runs deleted with it come back too)."""
        self._set_experiment_stage(experiment_id, LifecycleStage.ACTIVE)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set (or overwrite) an experiment tag."""
        experiment_id = check_experiment_id(experiment_id)
        key = check_key(key, "tag")
        text = check_string_value(value, "tag", key, MAX_TAG_VALUE_LENGTH)

        def write(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id)
            table = t.experiment_tags
            conn.execute(
                table.delete().where(table.c.experiment_id == row.experiment_id, table.c.key == key)
            )
            conn.execute(
                table.insert().values(experiment_id=row.experiment_id, key=key, value=text)
            )

        self._write(write)

    # runs --------------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        run_name: str | None = None,
        tags: Any = None,
        parent_run_id: str | None = None,
        start_time: int | None = None,
    ) -> Run:
        """Start a RUNNING run owned by this process (for dead-run detection)."""
        experiment_id = check_experiment_id(experiment_id)
        run_name = random_run_name() if run_name is None else check_name(run_name, "run_name")
        tag_map = _pairs(tags, "tag", MAX_TAG_VALUE_LENGTH)
        if parent_run_id is not None:
            parent_run_id = check_run_id(parent_run_id)
        start = now_ms() if start_time is None else check_timestamp(start_time, "start_time")
        run_id = uuid.uuid4().hex

        owner = current_owner()

        def write(conn: Connection) -> Run:
            exp = self._sql.experiment_location.execute(conn, (int(experiment_id),)).first()
            if exp is None:
                raise ResourceNotFoundError(f"experiment_id {experiment_id!r} does not exist")
            if exp.lifecycle_stage != LifecycleStage.ACTIVE:
                raise InvalidInputError(
                    f"experiment_id {experiment_id!r} is deleted; restore it to add runs"
                )
            if parent_run_id is not None:
                self._run_row(conn, parent_run_id)
            artifact_uri = os.path.join(exp.artifact_location, run_id, "artifacts")
            info = RunInfo(
                run_id,
                run_name,
                experiment_id,
                RunStatus.RUNNING.value,
                start,
                None,
                artifact_uri,
                LifecycleStage.ACTIVE,
                parent_run_id,
            )
            # the row: the info's columns (experiment id as stored), no dead-run mark, the owner
            values = astuple(info)
            row = (*values[:2], int(experiment_id), *values[3:])
            owned = (None, owner["host"], owner["pid"], owner["proc_start"])
            self._sql.insert_run.execute(conn, (*row, *owned))
            if tag_map:
                self._sql.insert_tags.execute(conn, [(run_id, k, v) for k, v in tag_map.items()])
            return Run(info, RunData(tags=dict(tag_map)))

        return self._write(write)

    def get_run(self, run_id: str) -> Run:
        """The run with params, latest metrics and tags."""
        run_id = check_run_id(run_id)
        return self._read(lambda conn: self._runs(conn, [self._run_row(conn, run_id)])[0])

    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
        take_ownership: bool = False,
    ) -> None:
        """Change status/end time/name; RUNNING clears the end time."""
        run_id = check_run_id(run_id)
        values: dict[str, Any] = {}
        if status is not None:
            try:
                status = RunStatus(str(status).upper()).value
            except ValueError as exc:
                raise InvalidInputError(
                    f"status {status!r} is not one of {', '.join(s.value for s in RunStatus)}"
                ) from exc
            values["status"] = status
            if status == RunStatus.RUNNING.value:
                values["end_time"] = None
            else:
                values["end_time"] = (
                    now_ms() if end_time is None else check_timestamp(end_time, "end_time")
                )
        if run_name is not None:
            values["name"] = check_name(run_name, "run_name")
        if take_ownership:
            values.update(current_owner())

        def write(conn: Connection) -> None:
            self._run_row(conn, run_id)
            if values:
                conn.execute(t.runs.update().where(t.runs.c.run_uuid == run_id).values(**values))

        self._write(write)

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        run_id = check_run_id(run_id)

        def write(conn: Connection) -> None:
            self._run_row(conn, run_id)
            conn.execute(
                t.runs.update()
                .where(t.runs.c.run_uuid == run_id)
                .values(
                    lifecycle_stage=stage,
                    deleted_time=now_ms() if stage == LifecycleStage.DELETED else None,
                )
            )

        self._write(write)

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run (hidden from ACTIVE_ONLY searches; restore_run undoes it)."""
        self._set_run_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        """Undo ``delete_run``."""
        self._set_run_stage(run_id, LifecycleStage.ACTIVE)

    def mark_dead_runs(self) -> list[str]:
        """Mark KILLED the RUNNING runs whose owning process on this host has died."""
        host = hostname()
        runs = t.runs.c
        rows = self._read(
            lambda conn: list(
                conn.execute(
                    sa.select(runs.run_uuid, runs.pid, runs.proc_start).where(
                        runs.status == RunStatus.RUNNING.value, runs.host == host
                    )
                )
            )
        )
        dead = [row.run_uuid for row in rows if not is_alive(row.pid, row.proc_start)]
        if not dead:
            return []
        stamp = now_ms()

        def write(conn: Connection) -> None:
            for chunk in _chunks(dead):
                conn.execute(
                    t.runs.update()
                    .where(runs.run_uuid.in_(chunk), runs.status == RunStatus.RUNNING.value)
                    .values(status=RunStatus.KILLED.value, end_time=stamp)
                )

        self._write(write)
        return dead
