"""What a search of an experiment searched before takes over from the earlier searches.

A resumed search (the same ``experiment_name`` again, say after ``kill -9``) ranks and
registers over every finished trial of the experiment, not just its own: the earlier searches'
finished trials join its leaderboard, and the best of them all is refit and registered. They
count only when they searched the same data, which each parent run records as the digest of its
data snapshot (:data:`~automl.core.tags.DATA_DIGEST`); an experiment reused for other data keeps
its searches apart.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any

import tracking
from automl.core import tags
from automl.core.records import TrialState
from automl.core.summary import TrialInfo
from automl.core.trials import describe, trial_config
from tracking.models import file_sha256


def data_digest(snapshot_path: str) -> str:
    """The SHA-256 of a search's data snapshot (the prepared table with its split)."""
    return file_sha256(snapshot_path)


def _literal(text: str) -> Any:
    """A logged parameter back as the value it was (params are stored as text)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _searched_params(run: Any) -> dict[str, Any]:
    """``{"model_family": ..., <hyperparameter>: value}`` from the run's ``model.*`` params,
    with the decision threshold it tuned (so a winner refit from it predicts at it too) and the
    rows a low-fidelity trial learnt from."""
    params = run.data.params
    found = {
        k.removeprefix("model."): _literal(v) for k, v in params.items() if k.startswith("model.")
    }
    for name in (tags.DECISION_THRESHOLD, tags.TRAIN_ROWS):
        if name in params:
            found[name] = _literal(params[name])
    return {"model_family": params["model_family"], **found}


def _notebook_path(client: tracking.TrackingClient, run_id: str) -> str | None:
    files = [
        f.path for f in client.list_artifacts(run_id, "notebooks") if f.path.endswith(".ipynb")
    ]
    return client.download_artifacts(run_id, files[0]) if files else None


def earlier_trials(
    client: tracking.TrackingClient,
    trial_runs: Iterable[Any],
    same_data_parents: set[str],
    metric_key: str,
) -> list[TrialInfo]:
    """The finished single-model trials of earlier searches on the same data (ensembles are
    left out: their members' predictions are not kept), as the leaderboard records them."""
    found = []
    for run in trial_runs:
        info, data = run.info, run.data
        if (
            info.parent_run_id not in same_data_parents
            or data.tags.get(tags.TRIAL_STATE) != TrialState.COMPLETE.value
            or info.status != "FINISHED"
            or tags.ENSEMBLE in data.tags
            or tags.MODEL_PRUNED in data.tags
            or "model_family" not in data.params
            or f"val_{metric_key}" not in data.metrics
        ):
            continue
        params = _searched_params(run)
        prefix = tags.SHAP_TOP_FEATURE_PREFIX
        top = sorted(
            (k for k in data.tags if k.startswith(prefix)), key=lambda k: int(k[len(prefix) :])
        )
        found.append(
            TrialInfo(
                run_id=info.run_id,
                number=int(data.tags.get(tags.TRIAL_NUMBER, -1)),
                state=TrialState.COMPLETE,
                metrics=dict(data.metrics),
                params=params,
                model_description=describe(trial_config(params)),
                duration=((info.end_time or info.start_time) - info.start_time) / 1000.0,
                evaluation_metric_score=data.metrics[f"val_{metric_key}"],
                model_uri=f"runs:/{info.run_id}/model",
                notebook_path=_notebook_path(client, info.run_id),
                top_features=[data.tags[k] for k in top],
            )
        )
    return found


def same_data_parents(
    client: tracking.TrackingClient, experiment_id: str, digest: str, current: str
) -> set[str]:
    """The earlier parent runs of the experiment whose data snapshot had ``digest``."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=(
            f"tags.`{tags.ROLE}` = '{tags.ROLE_PARENT}' and tags.`{tags.DATA_DIGEST}` = '{digest}'"
        ),
        run_view_type="ALL",
        max_results=50_000,
    )
    return {r.info.run_id for r in runs if r.info.run_id != current}
