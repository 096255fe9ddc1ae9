"""``automl forecast data.csv --target sales --time date --horizon 14``."""

from __future__ import annotations

import argparse

from automl.core.cli_arguments import add_budget_and_tracking_arguments, call_kwargs
from automl.forecast.metrics import METRICS


def _run(args: argparse.Namespace) -> int:
    from automl.forecast import forecast

    kwargs = call_kwargs(args, forecast)
    identity = kwargs["identity_col"]
    if identity and len(identity) == 1:
        kwargs["identity_col"] = identity[0]
    summary = forecast(args.dataset, **kwargs)
    print(summary)
    if args.output and summary.trials:
        import tracking

        model = tracking.load_model(summary.registered_model_uri)
        model.predict().to_csv(args.output, index=False)
        print(f"forecast written to {args.output}")
    return 0


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``forecast`` subcommand to the ``automl`` CLI."""
    parser = subparsers.add_parser("forecast", help="search forecasting models for a time series")
    parser.add_argument("dataset", help="CSV or Parquet file, one row per timestamp (and series)")
    parser.add_argument("--target", dest="target_col", required=True, help="the column to forecast")
    parser.add_argument("--time", dest="time_col", required=True, help="the timestamp column")
    parser.add_argument("--horizon", type=int, default=1, help="steps to forecast (default 1)")
    parser.add_argument("--frequency", help="e.g. D, W, MS, Q, Y, h, min, day, month (inferred)")
    parser.add_argument(
        "--identity", dest="identity_col", nargs="*", help="column(s) that identify each series"
    )
    parser.add_argument(
        "--metric", dest="primary_metric", default="smape", choices=METRICS, help="primary metric"
    )
    parser.add_argument("--exclude-frameworks", nargs="*", help="statsmodels, lightgbm or families")
    add_budget_and_tracking_arguments(parser)
    parser.add_argument("--output", help="write the winner's forecast to this CSV file")
    parser.set_defaults(handler=_run)
