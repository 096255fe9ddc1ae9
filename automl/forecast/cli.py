"""``automl forecast data.csv --target sales --time date --horizon 14``."""

from __future__ import annotations

import argparse

from automl.forecast.metrics import METRICS


def _run(args: argparse.Namespace) -> int:
    from automl.forecast import forecast

    identity = args.identity
    summary = forecast(
        args.dataset,
        target_col=args.target,
        time_col=args.time,
        horizon=args.horizon,
        frequency=args.frequency,
        identity_col=identity[0] if identity and len(identity) == 1 else identity,
        primary_metric=args.metric,
        timeout_minutes=args.timeout,
        max_trials=args.max_trials,
        exclude_frameworks=args.exclude_frameworks,
        experiment_name=args.experiment,
        register_model_name=args.register_as,
        n_jobs=args.n_jobs,
        cluster=args.cluster,
        retrain_full=args.retrain_full,
        seed=args.seed,
        verbose=not args.quiet,
    )
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
    parser.add_argument("--target", required=True, help="the column to forecast")
    parser.add_argument("--time", required=True, help="the timestamp column")
    parser.add_argument("--horizon", type=int, default=1, help="steps to forecast (default 1)")
    parser.add_argument("--frequency", help="e.g. D, W, MS, Q, Y, h, min, day, month (inferred)")
    parser.add_argument("--identity", nargs="*", help="column(s) that identify each series")
    parser.add_argument("--metric", default="smape", choices=METRICS, help="primary metric")
    parser.add_argument("--timeout", type=float, help="time budget in minutes (fractions allowed)")
    parser.add_argument("--max-trials", type=int, help="trial budget")
    parser.add_argument("--exclude-frameworks", nargs="*", help="statsmodels, lightgbm or families")
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
    parser.add_argument("--output", help="write the winner's forecast to this CSV file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_run)
