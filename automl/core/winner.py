"""After the loop: the ensemble, the refit of the chosen model, the leaders' charts, registration
and the parent run.

These steps run once per search, on the :class:`~automl.core.search.Search` the loop leaves:
its finished trials, their predictions, idle workers and what is left of the budget.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import registry
from automl.core import records, tags
from automl.core.inputs import alert
from automl.core.records import WorkerReply
from automl.core.search import CHART_SECONDS, ENSEMBLE_BUILD_S, Search
from automl.core.summary import AutoMLSummary
from automl.core.task import RefitPlan

logger = logging.getLogger("automl")
CHARTS_OUT_OF_TIME = "not drawn: no time was left in the budget after the search"


def add_ensemble(search: Search) -> None:
    """Blend the finished trials when the task can and the time allows; the ensemble then
    ranks on the leaderboard like any trial (and wins it when it beats the best one)."""
    if not search.task.ensembles or search.budget.time_left() <= ENSEMBLE_BUILD_S:
        return
    t = time.perf_counter()
    try:
        info = search.task.ensemble(
            search.context, search.book.finished(), search.predictions, search.next_number,
            search.parent_run_id, search.budget.time_left(),
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - the search's result stands without it
        logger.warning("ensemble not built: %s", exc, exc_info=True)
        info = None
    finally:
        search.timings["ensemble"] = time.perf_counter() - t
    if info is not None:
        search.next_number += 1
        search.book.trials.append(info)


def refit_winner(search: Search) -> RefitPlan | None:
    """Refit the winner in an idle worker within the budget, when the task asks for it.

    The refit model is logged in the parent run and registered; the trial keeps its own
    model, metrics and notebook. When the refit cannot finish within the budget, the
    trial's model is registered and an alert says so. Returns the task's refit plan.
    """
    try:
        done = search.book.finished()
        plan = search.task.refit(done[0], search.parent_run_id) if done else None
        if plan is None:
            return None
        reply = _run_refit(search, plan)
        if reply is None:
            search.task.alerts.append(
                alert(
                    "budget",
                    f"the winner ({done[0].model_description}) was not refit on "
                    f"{plan.trained_on} within the time budget: the registered model is the "
                    f"trial's own, trained on {plan.trained_on_without_refit}",
                )
            )
            return plan
        search.refit_model_uri = reply.model_uri
        for phase, seconds in reply.timings.items():
            search.timings[phase] = search.timings.get(phase, 0.0) + seconds
        return plan
    finally:
        search.executor.shutdown()
        search.account_workers()


def _run_refit(search: Search, plan: RefitPlan) -> WorkerReply | None:
    """The refit's reply, or None when it failed or would not finish within the budget."""
    executor, budget = search.executor, search.budget
    if budget.time_left() <= plan.expected_seconds:
        return None
    result = None
    if executor.idle_count():
        executor.submit("refit", plan.task)
        while result is None and budget.time_left() > 0:
            wait = min(0.2, max(0.0, budget.time_left()))
            result = next(iter(executor.poll(timeout=wait)), None)
    else:  # no worker is left (each was stopped mid-trial): refit here, the estimate fits
        result = search.run_in_process("refit", plan.task)
    if result is not None and not result.ok:
        logger.warning("refit of the winner failed: %s", result.error)
    return result.value if result is not None and result.ok else None


def chart_leaders(search: Search) -> None:
    """Draw the charts of the leaderboard's top trials from their kept predictions, best
    first, while the budget lasts; a trial left without them says why in its tags."""
    if not search.task.charts_after_search:
        return
    t = time.perf_counter()
    client = search.client
    kept = [i for i in search.book.finished() if i.run_id in search.predictions]
    estimate = CHART_SECONDS
    for info in kept[: records.CHARTED_TOP_K]:
        if search.budget.time_left() < estimate:
            client.set_tag(info.run_id, tags.CHARTS, CHARTS_OUT_OF_TIME)
            continue
        started = time.perf_counter()
        try:
            search.task.chart(search.context, info, search.predictions[info.run_id])
        except Exception as exc:  # noqa: BLE001 - the trial stands without its charts
            logger.warning("trial %s: charts not drawn: %s", info.number, exc, exc_info=True)
            client.set_tag(info.run_id, tags.CHARTS, f"not drawn: {type(exc).__name__}: {exc}")
            continue
        client.delete_tag(info.run_id, tags.CHARTS)
        estimate = max(estimate, time.perf_counter() - started)
    search.timings["charts"] = time.perf_counter() - t


def register_winner(search: Search, plan: RefitPlan | None) -> Any:
    done = search.book.finished()
    if not done:
        return None
    t = time.perf_counter()
    best = done[0]
    refit = search.refit_model_uri is not None
    how = (plan.trained_on if refit else plan.trained_on_without_refit) if plan else ""
    version_tags, description = search.task.registration(best, how)
    version = registry.register_model(
        search.refit_model_uri or best.model_uri,
        search.register_model_name,
        tags={"run_id": best.run_id, "experiment": search.experiment_name, **version_tags},
        description=description,
    )
    search.timings["registration"] = time.perf_counter() - t
    return version


def close_parent(search: Search, summary: AutoMLSummary) -> None:
    client = search.client
    metrics_out: dict[str, float] = {"n_trials": float(len(summary.all_trials))}
    if summary.trials:
        best = summary.trials[0]
        metrics_out.update(
            {k: v for k, v in best.metrics.items() if k.startswith(("val_", "test_"))}
        )
        client.set_tag(search.parent_run_id, tags.BEST_RUN_ID, best.run_id)
    client.log_batch(search.parent_run_id, metrics=metrics_out)
    client.log_text(
        search.parent_run_id, summary.leaderboard.to_csv(index=False), "automl/leaderboard.csv"
    )
    client.log_dict(search.parent_run_id, summary.time_breakdown, "automl/time.json")
    client.log_dict(search.parent_run_id, {"alerts": search.task.alerts}, "automl/alerts.json")
    client.set_terminated(search.parent_run_id, "FINISHED")


def time_breakdown(search: Search, wall: float) -> dict[str, float]:
    """Seconds per phase; ``idle_workers`` is worker capacity that ran no trial."""
    phases = dict(search.timings)
    busy = phases.pop("worker_busy", 0.0)
    phases["idle_workers"] = max(0.0, search.worker_capacity - busy)
    phases["wall"] = wall
    return {k: round(v, 4) for k, v in phases.items()}
