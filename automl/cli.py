"""The ``automl`` command: one entry point whose subcommands come from each package's CLI module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module exposes ``register_commands(subparsers)``; order is the order shown in ``--help``.
COMMAND_MODULES = (
    "automl.tabular.cli",
    "automl.forecast.cli",
    "automl.interop.cli",
    "automl.rerun",
    "automl.retention",
    "tracking.cli",
    "registry.cli",
    "automl.promotion.cli",  # adds `promote` under registry's `models`, so after it
    "automl.serving.cli",
    "automl.features.cli",
    "automl.ui.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """Assemble the parser from every command module that is importable."""
    parser = argparse.ArgumentParser(
        prog="automl", description="AutoML with experiment tracking and a model registry."
    )
    parser.add_argument("--tracking-uri", help="tracking store URI (default: ./automl-runs)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.tracking_uri:
        import tracking

        tracking.set_tracking_uri(args.tracking_uri)
    try:
        return int(args.handler(args) or 0)
    except (ValueError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
