"""Run data in the tracking store: params, metrics (history and latest), tags, run search and
the row -> ``Run`` conversion (``tracking.store`` states the transaction rules they follow)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracking import schema as t
from tracking.entities import (
    Metric,
    PagedList,
    Run,
    RunData,
    RunInfo,
    ViewType,
)
from tracking.exceptions import (
    InvalidInputError,
    ResourceNotFoundError,
)
from tracking.filters import parse_filter, parse_order_by
from tracking.paging import check_max_results, decode_token, read_page
from tracking.search import run_filter, run_order
from tracking.store_rows import (
    StoreBase,
    _chunks,
    _float,
    _metric_rows,
    _pairs,
    _shown_status,
    in_view,
)
from tracking.validation import (
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_experiment_id,
    check_key,
    check_run_id,
)


class RunDataStore(StoreBase):
    """Params, metrics and tags of runs, and the run search."""

    def _runs(self, conn: Connection, rows: list) -> list[Run]:
        ids = [row.run_uuid for row in rows]
        params: dict[str, dict] = {i: {} for i in ids}
        metrics: dict[str, dict] = {i: {} for i in ids}
        tags: dict[str, dict] = {i: {} for i in ids}
        for chunk in _chunks(ids):
            for p in conn.execute(
                sa.select(t.params.c.run_uuid, t.params.c.key, t.params.c.value).where(
                    t.params.c.run_uuid.in_(chunk)
                )
            ):
                params[p.run_uuid][p.key] = p.value
            lm = t.latest_metrics.c
            for m in conn.execute(
                sa.select(lm.run_uuid, lm.key, lm.value, lm.is_nan).where(lm.run_uuid.in_(chunk))
            ):
                metrics[m.run_uuid][m.key] = _float(m.value, m.is_nan)
            for g in conn.execute(
                sa.select(t.tags.c.run_uuid, t.tags.c.key, t.tags.c.value).where(
                    t.tags.c.run_uuid.in_(chunk)
                )
            ):
                tags[g.run_uuid][g.key] = g.value
        return [
            Run(
                info=RunInfo(
                    run_id=row.run_uuid,
                    run_name=row.name,
                    experiment_id=str(row.experiment_id),
                    status=_shown_status(row),
                    start_time=row.start_time,
                    end_time=row.end_time,
                    artifact_uri=row.artifact_uri,
                    lifecycle_stage=row.lifecycle_stage,
                    parent_run_id=row.parent_run_id,
                ),
                data=RunData(
                    params=params[row.run_uuid],
                    metrics=dict(sorted(metrics[row.run_uuid].items())),
                    tags=tags[row.run_uuid],
                ),
            )
            for row in rows
        ]

    # params / metrics / tags -------------------------------------------------------------------
    def log_batch(self, run_id: str, metrics: Any = (), params: Any = (), tags: Any = ()) -> None:
        """Log metrics, params and tags atomically (all or nothing)."""
        run_id = check_run_id(run_id)
        metric_rows = _metric_rows(run_id, metrics)
        param_map = _pairs(params, "param", MAX_PARAM_VALUE_LENGTH)
        tag_map = _pairs(tags, "tag", MAX_TAG_VALUE_LENGTH)

        def write(conn: Connection) -> None:
            self._active_run_row(conn, run_id)
            if param_map:
                self._insert_params(conn, run_id, param_map)
            if metric_rows:
                self._sql.insert_metrics.execute(conn, metric_rows)
                self._update_latest(conn, metric_rows)
            if tag_map:
                self._upsert_tags(conn, run_id, tag_map)

        self._write(write)

    def _insert_params(self, conn: Connection, run_id: str, param_map: dict[str, str]) -> None:
        rows = [(run_id, k, v) for k, v in param_map.items()]
        inserted = self._sql.insert_params.execute(conn, rows).rowcount
        if self._sql.exact_rowcount and inserted == len(rows):
            return  # every key was new: nothing to compare
        for chunk in _chunks(list(param_map)):
            stored = dict(
                conn.execute(self._sql.select_params, {"run_id": run_id, "keys": chunk}).all()
            )
            for key in chunk:
                if stored.get(key) != param_map[key]:
                    raise InvalidInputError(
                        f"param {key!r} of run {run_id} is already {stored.get(key)!r}; params "
                        f"are immutable, so it cannot be changed to {param_map[key]!r}"
                    )

    def _update_latest(self, conn: Connection, rows: list[tuple]) -> None:
        best: dict[str, tuple] = {}
        for row in rows:  # later rows win ties, as the history order says
            current = best.get(row[1])
            if current is None or (row[5], row[4]) >= (current[5], current[4]):
                best[row[1]] = row
        self._sql.upsert_latest.execute(conn, list(best.values()))

    def _upsert_tags(self, conn: Connection, run_id: str, tag_map: dict[str, str]) -> None:
        self._sql.upsert_tags.execute(conn, [(run_id, k, v) for k, v in tag_map.items()])

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a run tag (error if the run has no such tag)."""
        run_id = check_run_id(run_id)
        key = check_key(key, "tag")

        def write(conn: Connection) -> None:
            self._active_run_row(conn, run_id)
            result = conn.execute(
                t.tags.delete().where(t.tags.c.run_uuid == run_id, t.tags.c.key == key)
            )
            if result.rowcount == 0:
                raise ResourceNotFoundError(f"run {run_id} has no tag {key!r}")

        self._write(write)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every value logged for ``key``, ordered by step then time."""
        run_id = check_run_id(run_id)
        key = check_key(key, "metric")
        m = t.metrics.c

        def read(conn: Connection) -> list[Metric]:
            self._run_row(conn, run_id)
            rows = conn.execute(
                sa.select(m.value, m.is_nan, m.timestamp, m.step)
                .where(m.run_uuid == run_id, m.key == key)
                .order_by(m.step, m.timestamp, m.id)
            )
            return [Metric(key, _float(r.value, r.is_nan), r.timestamp, r.step) for r in rows]

        return self._read(read)

    # search ------------------------------------------------------------------------------------
    def search_runs(
        self,
        experiment_ids: list[str] | str,
        filter_string: str | None = "",
        run_view_type: ViewType | int | str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        """One page of runs matching the MLflow-style ``filter_string``, ordered by ``order_by``.

        Runs of dead processes on this host are recorded KILLED first, so a filter on
        ``status`` sees what the results show."""
        if isinstance(experiment_ids, str | int):
            experiment_ids = [experiment_ids]
        ids = [int(check_experiment_id(e)) for e in experiment_ids]
        view = ViewType.coerce(run_view_type)
        max_results = check_max_results(max_results)
        where = run_filter(parse_filter(filter_string), self.engine.dialect.name)
        clauses = parse_order_by(order_by)
        offset = decode_token(page_token)
        query = sa.select(t.runs).where(t.runs.c.experiment_id.in_(ids))
        query = in_view(query, t.runs.c.lifecycle_stage, view)
        if where is not None:
            query = query.where(where)
        query = run_order(query, clauses)
        self.mark_dead_runs()

        def read(conn: Connection) -> PagedList:
            if ids:
                found = {
                    r[0]
                    for r in conn.execute(
                        sa.select(t.experiments.c.experiment_id).where(
                            t.experiments.c.experiment_id.in_(ids)
                        )
                    )
                }
                missing = [str(i) for i in ids if i not in found]
                if missing:
                    raise ResourceNotFoundError(f"experiment_ids {missing} do not exist")
            return read_page(conn, query, offset, max_results, self._runs)

        return self._read(read)
