"""Plumbing the ``automl`` command modules share: adding a subcommand run by a handler, and the
bind options of the commands that start a server.

``automl.cli.main`` calls ``args.handler(args)`` and exits with what it returns; ``add_command``
is the one place that sets it.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable

Handler = Callable[[argparse.Namespace], int]


def add_command(
    subparsers: argparse._SubParsersAction, name: str, handler: Handler
) -> argparse.ArgumentParser:
    """Add the subcommand ``name``, run by ``handler(args)`` (its exit code); return its parser
    for the command's own arguments.

    As in click, the handler's docstring documents the command: its first paragraph is the
    one-line help of ``automl --help`` (in argparse's lower case, without the full stop), the
    rest the description of ``automl NAME --help``.
    """
    doc = inspect.getdoc(handler)
    if not doc:
        raise TypeError(f"command {name!r}: its handler {handler.__qualname__} needs a docstring")
    summary, _, details = doc.partition("\n\n")
    summary = " ".join(summary.split())
    help = summary[0].lower() + summary[1:].removesuffix(".")
    parser = subparsers.add_parser(
        name, help=help, description=" ".join(details.split()) or summary
    )
    parser.set_defaults(handler=handler)
    return parser


def add_bind_arguments(parser: argparse.ArgumentParser, host: str, port: int) -> None:
    """``--host`` and ``--port`` of a command that serves HTTP (``host`` is loopback by default)."""
    parser.add_argument("--host", default=host, help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=port, help="port (default: %(default)s)")
