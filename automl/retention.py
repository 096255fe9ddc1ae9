"""Retention: delete the model files of an experiment's lesser trials, keeping everything else.

A search keeps every trial's fitted model by default, and on large data those pickles are most of
the disk it writes. :func:`prune_models` keeps the models of the ``keep_top`` best finished
trials (ranked by the search's primary metric on validation) and deletes the others' model
folders only: every run keeps its metrics, params, tags, charts, SHAP values and notebook, and
the notebook rebuilds the model. Models that something depends on are never deleted: each
search's best trial, any trial with a registered model version, and the searches' own (refit)
models, which live on the parent runs.

``automl prune-models EXPERIMENT --keep-top K [--dry-run]`` is the same from the shell.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

import registry
import tracking
from automl.core import tags
from automl.core.spec import AutoMLInputError

# Set on a trial run whose model folder was deleted, saying why (the notebook rebuilds it).
MODEL_PRUNED_TAG = tags.MODEL_PRUNED
_MODEL_PATH = "model"
_IN_CHUNK = 100  # run ids per ``run_id IN (...)`` registry filter


@dataclass(frozen=True)
class PrunedTrial:
    """One trial whose model folder was (or, in a dry run, would be) deleted."""

    run_id: str
    trial_number: int | None
    score: float | None
    bytes: int


@dataclass(frozen=True)
class PruneReport:
    """What :func:`prune_models` did: the models it kept and those it deleted, with their size."""

    experiment_id: str
    metric: str
    kept: list[str] = field(default_factory=list)
    pruned: list[PrunedTrial] = field(default_factory=list)
    dry_run: bool = False

    @property
    def bytes_freed(self) -> int:
        return sum(t.bytes for t in self.pruned)

    def __str__(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"experiment {self.experiment_id}: kept {len(self.kept)} trial models, {verb} "
            f"{len(self.pruned)} ({self.bytes_freed / 1e6:.1f} MB); metrics, charts, SHAP and "
            "notebooks of every trial stay"
        )


def prune_models(
    experiment_name: str,
    *,
    keep_top: int,
    dry_run: bool = False,
    tracking_uri: str | None = None,
) -> PruneReport:
    """Delete the model folders of all but the ``keep_top`` best trials of ``experiment_name``.

    Ranked by the validation score of the searches' primary metric; failed trials and those
    without a score rank last. Refuses while a search of the experiment is running.
    """
    if isinstance(keep_top, bool) or not isinstance(keep_top, int) or keep_top < 0:
        raise AutoMLInputError(
            f"keep_top: expected an integer >= 0 (how many of the best trial models to keep), "
            f"got {keep_top!r}"
        )
    client = tracking.TrackingClient(tracking_uri)
    experiment = _experiment(client, experiment_name)
    parents = _runs(client, experiment.experiment_id, tags.ROLE_PARENT)
    running = [p.info.run_id for p in parents if p.info.status == "RUNNING"]
    if running:
        raise AutoMLInputError(
            f"experiment_name: {experiment_name!r} has a search running (parent run "
            f"{running[0]}); prune its models after the search ends"
        )
    metric, greater = _ranking(experiment_name, parents)
    trials = [
        t for t in _runs(client, experiment.experiment_id, tags.ROLE_TRIAL) if _has_model(client, t)
    ]
    protected = {p.data.tags.get(tags.BEST_RUN_ID) for p in parents}
    protected |= _registered(client, [t.info.run_id for t in trials])

    def rank(run: tracking.Run) -> tuple[int, float]:
        score = run.data.metrics.get(metric)
        if score is None or score != score:  # NaN ranks last too
            return (1, 0.0)
        return (0, -score if greater else score)

    ordered = sorted(trials, key=rank)
    kept = [t.info.run_id for t in ordered[:keep_top]]
    report = PruneReport(experiment.experiment_id, metric, kept=kept, dry_run=dry_run)
    for run in ordered[keep_top:]:
        run_id = run.info.run_id
        if run_id in protected:
            kept.append(run_id)
            continue
        number = run.data.tags.get(tags.TRIAL_NUMBER)
        report.pruned.append(
            PrunedTrial(
                run_id=run_id,
                trial_number=int(number) if number is not None else None,
                score=run.data.metrics.get(metric),
                bytes=_folder_bytes(client.download_artifacts(run_id, _MODEL_PATH)),
            )
        )
        if not dry_run:
            client.delete_model(run_id, _MODEL_PATH)
            client.set_tag(run_id, MODEL_PRUNED_TAG, f"keep_top={keep_top}; rerun its notebook")
    return report


def _experiment(client: tracking.TrackingClient, name: str) -> tracking.Experiment:
    if not isinstance(name, str) or not name.strip():
        raise AutoMLInputError(f"experiment_name: expected a non-empty name, got {name!r}")
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        raise AutoMLInputError(
            f"experiment_name: no experiment named {name!r} (list them with `automl runs list`)"
        )
    return experiment


def _runs(client: tracking.TrackingClient, experiment_id: str, role: str) -> list[tracking.Run]:
    found: list[tracking.Run] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment_id], f"tags.`{tags.ROLE}` = '{role}'", page_token=token
        )
        found.extend(page)
        token = page.token
        if not token:
            return found


def _ranking(experiment_name: str, parents: list[tracking.Run]) -> tuple[str, bool]:
    """The tracked validation metric trials are ranked by, and whether greater is better."""
    names = {
        p.data.tags[tags.PRIMARY_METRIC] for p in parents if tags.PRIMARY_METRIC in p.data.tags
    }
    if len(names) != 1:
        found = "no search" if not names else f"searches with different metrics {sorted(names)}"
        raise AutoMLInputError(
            f"experiment_name: {experiment_name!r} has {found}; prune an experiment written by "
            "automl.classify, regress or forecast"
        )
    (name,) = names
    from automl.forecast import metrics as forecast_metrics

    if name in forecast_metrics.GREATER_IS_BETTER:
        return f"val_{name}", forecast_metrics.GREATER_IS_BETTER[name]
    from automl.tabular import metrics as tabular_metrics

    spec = tabular_metrics.metric_spec(name)
    return f"val_{spec.key}", spec.greater_is_better


def _has_model(client: tracking.TrackingClient, run: tracking.Run) -> bool:
    entries = client.list_artifacts(run.info.run_id)
    return any(e.is_dir and e.path == _MODEL_PATH for e in entries)


def _registered(client: tracking.TrackingClient, run_ids: list[str]) -> set[str]:
    """Runs with a model version in the registry (whose source must stay loadable)."""
    store = registry.RegistryClient(client.tracking_uri)
    found: set[str] = set()
    for start in range(0, len(run_ids), _IN_CHUNK):
        quoted = ", ".join(f"'{r}'" for r in run_ids[start : start + _IN_CHUNK])
        token = None
        while True:
            page = store.search_model_versions(
                f"run_id IN ({quoted})", page_token=token, include_deleted=True
            )
            found |= {v.run_id for v in page}
            token = page.token
            if not token:
                break
    return found


def _folder_bytes(folder: str) -> int:
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, files in os.walk(folder)
        for name in files
    )


def _prune_command(args: argparse.Namespace) -> int:
    report = prune_models(args.experiment, keep_top=args.keep_top, dry_run=args.dry_run)
    for trial in report.pruned:
        print(
            f"{'would delete' if report.dry_run else 'deleted'} model of {trial.run_id} "
            f"(trial {trial.trial_number}, {report.metric}={trial.score}, {trial.bytes} bytes)"
        )
    print(report)
    return 0


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """``automl prune-models``: the retention option from the shell."""
    parser = subparsers.add_parser(
        "prune-models",
        help="delete the model files of all but the best trials (metrics and notebooks stay)",
    )
    parser.add_argument("experiment", help="experiment name")
    parser.add_argument(
        "--keep-top", type=int, required=True, help="how many of the best trial models to keep"
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    parser.set_defaults(handler=_prune_command)
