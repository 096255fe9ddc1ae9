"""``run_search``: one search from start to summary, the facade over the loop and its wrap-up.

The task strategy (tables or series) has planned the data already; this starts the workers,
sets up tracking, runs :class:`~automl.core.search.Search`'s loop, then the ensemble, the
refit and the registration of :mod:`automl.core.winner`, and returns the summary.
"""

from __future__ import annotations

import time

from automl.core import winner
from automl.core.budget import Budget
from automl.core.search import Search
from automl.core.spec import SearchSpec
from automl.core.summary import AutoMLSummary
from automl.core.task import SearchTask


def run_search(task: SearchTask, spec: SearchSpec, budget: Budget,
               prep_seconds: float = 0.0) -> AutoMLSummary:  # fmt: skip
    """Run ``task``'s search under ``budget`` and return its summary (the facade's loop)."""
    search = Search(task, spec, budget)
    search.timings["data_prep"] = prep_seconds
    search.start_workers()
    try:
        search.setup_tracking()
    except BaseException:
        search.executor.shutdown()
        raise
    try:
        exploration = search.write_exploration_notebook()
        search.run()
        winner.add_ensemble(search)
        plan = winner.refit_winner(search)
        winner.chart_leaders(search)
    except BaseException:
        search.executor.shutdown()
        search.study.close()
        search.client.set_terminated(search.parent_run_id, "KILLED")
        raise
    version = winner.register_winner(search, plan)
    search.study.close()
    summary = AutoMLSummary(
        experiment=search.experiment,
        task=task.name,
        primary_metric=task.primary_metric,
        metric_key=task.metric_key,
        greater_is_better=task.greater_is_better,
        trials=search.book.finished(),
        all_trials=sorted(search.book.trials, key=lambda t: t.number),
        parent_run_id=search.parent_run_id,
        alerts=task.alerts,
        registered_model_version=version,
        exploration_notebook_path=exploration,
        validation=task.validation,
        wall_time=time.monotonic() - budget.started,
        n_workers=len(search.executor.workers_used) or search.executor.n_workers,
        hosts=sorted(search.executor.hosts),
        **task.summary_fields(),
    )
    summary.time_breakdown = winner.time_breakdown(search, summary.wall_time)
    winner.close_parent(search, summary)
    summary.wall_time = time.monotonic() - budget.started
    return summary
