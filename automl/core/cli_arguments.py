"""The command-line options every search command shares, and their mapping to the call's
keyword arguments: one definition for ``automl classify``, ``regress`` and ``forecast``."""

from __future__ import annotations

import argparse
from typing import Any


def add_budget_and_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the budget, tracking, placement and seed options of a search command."""
    parser.add_argument("--timeout", type=float, help="time budget in minutes (fractions allowed)")
    parser.add_argument("--max-trials", type=int, help="trial budget")
    parser.add_argument("--experiment", help="experiment name")
    parser.add_argument("--register-as", help="registered model name (default: experiment name)")
    parser.add_argument("--n-jobs", type=int, help="worker processes (default: all cores)")
    parser.add_argument(
        "--cluster", help="Dask scheduler address (tcp://host:8786): trials run on its workers"
    )
    parser.add_argument(
        "--no-retrain-full",
        dest="retrain_full",
        action="store_false",
        help="do not refit the chosen model on every row before registering it",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def budget_and_tracking_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``classify`` / ``regress`` / ``forecast`` those options give."""
    return {
        "timeout_minutes": args.timeout,
        "max_trials": args.max_trials,
        "experiment_name": args.experiment,
        "register_model_name": args.register_as,
        "n_jobs": args.n_jobs,
        "cluster": args.cluster,
        "retrain_full": args.retrain_full,
        "seed": args.seed,
        "verbose": not args.quiet,
    }
