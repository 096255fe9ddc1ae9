"""Plumbing the ``automl`` command modules share: adding a subcommand run by a handler, and the
bind options of the commands that start a server.

``automl.cli.main`` calls ``args.handler(args)`` and exits with what it returns; ``add_command``
is the one place that sets it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

Handler = Callable[[argparse.Namespace], int]


def add_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    handler: Handler,
    help: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """Add the subcommand ``name``, run by ``handler(args)`` (its exit code); return its parser
    for the command's own arguments."""
    parser = subparsers.add_parser(name, help=help, description=description)
    parser.set_defaults(handler=handler)
    return parser


def add_bind_arguments(parser: argparse.ArgumentParser, host: str, port: int) -> None:
    """``--host`` and ``--port`` of a command that serves HTTP (``host`` is loopback by default)."""
    parser.add_argument("--host", default=host, help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=port, help="port (default: %(default)s)")
