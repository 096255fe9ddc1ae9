"""Reads the pages need in aggregate, which the tracking API offers only row by row.

``search_runs`` and ``get_metric_history`` build one ``Run`` or ``Metric`` object per row: right
for an API, slow for a page that shows a count, one column of a thousand trials, or a chart of a
100,000-point history. These read-only queries go to the same tables through the client's
engine and return only what is drawn: run counts per experiment, the best-score-so-far curve,
and metric histories, long ones downsampled in SQL to the points a chart can show.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from automl.ui import constants as C
from automl.ui.charts import Series, series
from tracking import schema as t

_ACTIVE = "active"


def run_counts(engine: Engine, experiment_ids: Iterable[str]) -> dict[str, int]:
    """Number of active runs of each experiment, in one ``GROUP BY``."""
    ids = [int(i) for i in experiment_ids]
    if not ids:
        return {}
    r = t.runs.c
    query = (
        sa.select(r.experiment_id, sa.func.count())
        .where(r.experiment_id.in_(ids), r.lifecycle_stage == _ACTIVE)
        .group_by(r.experiment_id)
    )
    with engine.connect() as conn:
        counts = {str(e): int(n) for e, n in conn.execute(query)}
    return {str(i): counts.get(str(i), 0) for i in ids}


@dataclass(frozen=True)
class BestSeries:
    """Best primary score so far against trial end time (ms): one point per improvement."""

    name: str
    x: list[int]
    y: list[float]
    trials: int

    def to_json(self) -> dict:
        return {"name": self.name, "x": self.x, "y": self.y, "trials": self.trials}


def best_series(
    engine: Engine, experiment_id: str, metric_key: str, greater_is_better: bool
) -> BestSeries:
    """The best-score-over-time curve over every finished trial of the experiment.

    Reads one (time, value) pair per trial in one query, then keeps the points where the best
    improved plus the last trial's time, so the step chart is exact at any number of trials."""
    r, m, g = t.runs.c, t.latest_metrics.c, t.tags.c
    trials = sa.select(g.run_uuid).where(g.key == C.TAG_ROLE, g.value == "trial")
    when = sa.func.coalesce(r.end_time, r.start_time)
    query = (
        sa.select(when, m.value)
        .select_from(t.runs.join(t.latest_metrics, m.run_uuid == r.run_uuid))
        .where(
            r.experiment_id == int(experiment_id),
            r.lifecycle_stage == _ACTIVE,
            m.key == metric_key,
            m.value.is_not(None),
            m.is_nan.is_(False),
            r.run_uuid.in_(trials),
        )
        .order_by(when, r.run_uuid)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    name = f"best {metric_key}"
    if not rows:
        return BestSeries(name, [], [], 0)
    times = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    values = np.fromiter((row[1] for row in rows), dtype=np.float64, count=len(rows))
    best = np.maximum.accumulate(values) if greater_is_better else np.minimum.accumulate(values)
    changed = np.flatnonzero(np.r_[True, best[1:] != best[:-1]])
    keep = np.unique(np.r_[changed, len(rows) - 1])
    return BestSeries(name, times[keep].tolist(), best[keep].tolist(), len(rows))


def histories(
    engine: Engine,
    run_ids: list[str],
    keys: list[str] | None = None,
    max_points: int = C.MAX_CHART_POINTS,
) -> dict[str, list[Series]]:
    """Metric histories of ``run_ids`` (all keys, or ``keys``), each at most ``max_points``.

    First the point count and step range of every (run, key), from the metrics index alone.
    Histories that fit are read whole, all in one query. Longer ones are aggregated in SQL into
    ``max_points // 2`` step ranges, keeping each range's min and max (at its first and last
    step), so spikes stay visible and only the drawn points leave the database."""
    if not run_ids:
        return {}
    m = t.metrics.c
    where = [m.run_uuid.in_(run_ids)]
    if keys is not None:
        if not keys:
            return {i: [] for i in run_ids}
        where.append(m.key.in_(keys))
    counted = (
        sa.select(m.run_uuid, m.key, sa.func.count(), sa.func.min(m.step), sa.func.max(m.step))
        .where(*where)
        .group_by(m.run_uuid, m.key)
        .order_by(m.run_uuid, m.key)
    )
    out: dict[str, list[Series]] = {i: [] for i in run_ids}
    with engine.connect() as conn:
        groups = conn.execute(counted).all()
        small = [(r, k) for r, k, n, _, _ in groups if n <= max_points]
        whole = {}
        if small:
            whole = _whole(conn, small)
        for run_id, key, count, lo, hi in groups:
            if count <= max_points:
                steps, values = whole.get((run_id, key), ([], []))
                out[run_id].append(series(key, steps, values))
            else:
                out[run_id].append(_ranges(conn, run_id, key, count, lo, hi, max_points // 2))
    return out


def _whole(conn: sa.Connection, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], tuple]:
    m = t.metrics.c
    by_run: dict[str, list[str]] = {}
    for run_id, key in pairs:
        by_run.setdefault(run_id, []).append(key)
    # One (run = ? AND key IN (...)) per run: each uses the (run_uuid, key, step) index.
    query = (
        sa.select(m.run_uuid, m.key, m.step, m.value, m.is_nan)
        .where(sa.or_(*(sa.and_(m.run_uuid == r, m.key.in_(k)) for r, k in by_run.items())))
        .order_by(m.run_uuid, m.key, m.step, m.timestamp, m.id)
    )
    found: dict[tuple[str, str], tuple] = {}
    for pair, group in itertools.groupby(conn.execute(query), key=operator.itemgetter(0, 1)):
        rows = list(group)
        found[pair] = (
            [r[2] for r in rows],
            [np.nan if r[4] or r[3] is None else r[3] for r in rows],
        )
    return found


def _ranges(
    conn: sa.Connection, run_id: str, key: str, count: int, lo: int, hi: int, ranges: int
) -> Series:
    """Min and max of ``ranges`` equal step ranges of one long history, aggregated in SQL."""
    m = t.metrics.c
    bucket = ((m.step - lo) * ranges // (hi - lo + 1)).label("bucket")
    query = (
        sa.select(
            sa.func.min(m.step), sa.func.max(m.step), sa.func.min(m.value), sa.func.max(m.value)
        )
        .where(m.run_uuid == run_id, m.key == key, m.is_nan.is_(False))
        .group_by(bucket)
        .order_by(bucket)
    )
    steps: list[int] = []
    values: list[float | None] = []
    for first, last, low, high in conn.execute(query):
        steps += [first, last] if last != first else [first]
        values += [low, high] if last != first else [low]
    return Series(key, steps, values, count)
