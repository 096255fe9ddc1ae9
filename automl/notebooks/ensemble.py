"""The notebook that rebuilds an ensemble run: refit each member, blend, check the metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import nbformat

from automl.notebooks.environment import render_cells
from automl.notebooks.source_run import NotebookRun

TEMPLATE = "trial_ensemble.py.j2"


def render_ensemble_notebook(
    plan: Any,
    members: Sequence[Mapping[str, Any]],
    weights: Sequence[float],
    run: NotebookRun,
    threshold: float | None = None,
) -> nbformat.NotebookNode:
    """The notebook (nbformat v4) reproducing ensemble run ``run`` from the data snapshot.

    A plan that tunes decision thresholds (binary, label metric) gets the cell that tunes the
    blend's cut on its validation predictions (the search chose ``threshold``).
    """
    from automl.tabular.thresholds import tunes_threshold

    configs = [{"family": m["family"], "params": dict(m["params"])} for m in members]
    context = {
        **run.context(),
        "n_members": len(configs),
        "members_weights": [
            (f"{c['family']} #{i}", float(w))
            for i, (c, w) in enumerate(zip(configs, weights, strict=True))
        ],
        "members": configs,
        "weights": [float(w) for w in weights],
        "n_threads": int(run.n_threads),
        "plan_dict": plan.to_dict(),
        "tunes_threshold": tunes_threshold(plan),
        "decision_threshold": threshold,
    }
    return render_cells(TEMPLATE, context)
