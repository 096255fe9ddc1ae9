"""The command-line options every search command shares, and how a parsed command line becomes
the call's keyword arguments: one definition for ``automl classify``, ``regress`` and
``forecast``.

Each option's ``dest`` is the keyword it sets (``--timeout`` sets ``timeout_minutes``), so
:func:`call_kwargs` forwards options by name and no command maps them by hand.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import Any


def add_budget_and_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the budget, tracking, placement and seed options of a search command."""
    parser.add_argument(
        "--timeout",
        dest="timeout_minutes",
        type=float,
        help="time budget in minutes (fractions allowed)",
    )
    parser.add_argument("--max-trials", type=int, help="trial budget")
    parser.add_argument("--experiment", dest="experiment_name", help="experiment name")
    parser.add_argument(
        "--register-as",
        dest="register_model_name",
        help="registered model name (default: experiment name)",
    )
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
    parser.add_argument("--quiet", dest="verbose", action="store_false", help="no progress bar")


def call_kwargs(args: argparse.Namespace, function: Callable[..., Any]) -> dict[str, Any]:
    """The parsed options that are keyword-only parameters of ``function``, by name."""
    given = vars(args)
    return {
        name: given[name]
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name in given
    }
