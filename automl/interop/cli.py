"""``automl export-mlflow EXPERIMENT --to MLFLOW_TRACKING_URI``."""

from __future__ import annotations

import argparse

from automl.cli_support import add_command


def _export(args: argparse.Namespace) -> int:
    """Copy an experiment (runs, artifacts, models) to an MLflow server."""
    try:
        import mlflow  # noqa: F401
    except ImportError as exc:
        raise LookupError("export-mlflow needs MLflow: pip install -e '.[mlflow]'") from exc
    from automl.interop.mlflow_export import export_to_mlflow

    print(export_to_mlflow(args.experiment, args.to))
    return 0


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``export-mlflow`` to the ``automl`` command."""
    export = add_command(subparsers, "export-mlflow", _export)
    export.add_argument("experiment", help="experiment name in our tracking store")
    export.add_argument(
        "--to", required=True, metavar="MLFLOW_TRACKING_URI", help="e.g. http://127.0.0.1:5000"
    )
