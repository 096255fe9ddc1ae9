"""The notebook that rebuilds an ensemble run: refit each member, blend, check the metrics."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import nbformat

from automl.notebooks.environment import render_cells

TEMPLATE = "trial_ensemble.py.j2"


def render_ensemble_notebook(
    plan: Any,
    members: Sequence[Mapping[str, Any]],
    weights: Sequence[float],
    *,
    run_id: str,
    experiment_name: str,
    snapshot_path: str | os.PathLike[str],
    tracking_uri: str,
    metrics: Mapping[str, float],
    trial_number: int,
    n_threads: int = 1,
) -> nbformat.NotebookNode:
    """The notebook (nbformat v4) reproducing ensemble run ``run_id`` from the data snapshot."""
    configs = [{"family": m["family"], "params": dict(m["params"])} for m in members]
    tracked = {str(k): float(v) for k, v in metrics.items() if str(k).startswith(("val_", "test_"))}
    context = {
        "trial_number": int(trial_number),
        "n_members": len(configs),
        "experiment_name": str(experiment_name),
        "run_id": str(run_id),
        "members_weights": [
            (f"{c['family']} #{i}", float(w))
            for i, (c, w) in enumerate(zip(configs, weights, strict=True))
        ],
        "tracked": tracked,
        "tracking_uri": str(tracking_uri),
        "snapshot_path": str(snapshot_path),
        "members": configs,
        "weights": [float(w) for w in weights],
        "n_threads": int(n_threads),
        "plan_dict": plan.to_dict(),
    }
    return render_cells(TEMPLATE, context)
