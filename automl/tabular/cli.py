"""``automl classify``, ``automl regress`` and ``automl leaderboard``."""

from __future__ import annotations

import argparse

import pandas as pd

import tracking
from automl.core.cli_arguments import add_budget_and_tracking_arguments, call_kwargs


def _search_arguments(parser: argparse.ArgumentParser, default_metric: str) -> None:
    parser.add_argument("dataset", help="CSV or Parquet file")
    parser.add_argument("--target", dest="target_col", required=True, help="the column to predict")
    parser.add_argument(
        "--metric",
        dest="primary_metric",
        default=default_metric,
        help=f"primary metric ({default_metric})",
    )
    parser.add_argument("--exclude-cols", nargs="*", help="columns to leave out")
    parser.add_argument("--exclude-frameworks", nargs="*", choices=["sklearn", "lightgbm"])
    parser.add_argument("--time-col", help="column that orders rows in time (time-ordered split)")
    parser.add_argument("--split-col", help="column with train/val/test values")
    add_budget_and_tracking_arguments(parser)


def _run(args: argparse.Namespace) -> int:
    import automl

    search = automl.classify if args.command == "classify" else automl.regress
    print(search(args.dataset, **call_kwargs(args, search)))
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    client = tracking.TrackingClient()
    experiment = client.get_experiment_by_name(args.experiment)
    if experiment is None:
        raise LookupError(f"no experiment named {args.experiment!r}; see `automl runs list`")
    runs = tracking.search_runs(
        [experiment.experiment_id],
        filter_string="tags.`automl.role` = 'trial' and tags.`automl.trial_state` = 'COMPLETE'",
    )
    if runs.empty:
        print(f"experiment {args.experiment!r} has no finished trials")
        return 0
    parents = tracking.search_runs(
        [experiment.experiment_id], filter_string="tags.`automl.role` = 'parent'"
    )
    metric = parents["tags.automl.primary_metric"].dropna().iloc[0]
    from automl.tabular import metrics

    spec = metrics.metric_spec(metric)
    column = f"metrics.val_{spec.key}"
    board = runs.sort_values(column, ascending=not spec.greater_is_better)
    shown = ["run_id", "params.model_family", column, f"metrics.test_{spec.key}"]
    board = board[[c for c in shown if c in board.columns]].head(args.top)
    board.insert(0, "rank", range(1, len(board) + 1))
    with pd.option_context("display.width", 200, "display.max_colwidth", 40):
        print(board.to_string(index=False))
    return 0


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    classify = subparsers.add_parser("classify", help="search classifiers for a target column")
    _search_arguments(classify, "f1")
    classify.add_argument("--pos-label", help="positive class for binary metrics")
    classify.set_defaults(handler=_run)
    regress = subparsers.add_parser("regress", help="search regressors for a target column")
    _search_arguments(regress, "r2")
    regress.set_defaults(handler=_run)
    board = subparsers.add_parser("leaderboard", help="print an experiment's leaderboard")
    board.add_argument("experiment", help="experiment name")
    board.add_argument("--top", type=int, default=20)
    board.set_defaults(handler=_leaderboard)
