"""``automl ui``: serve the web app over a tracking store and its registry."""

from __future__ import annotations

import argparse

from automl.cli_support import add_bind_arguments, add_command
from automl.ui import constants as C
from automl.ui.app import UIConfig, create_app
from automl.ui.security import is_loopback


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ui`` to the ``automl`` command."""
    parser = add_command(subparsers, "ui", run)
    parser.add_argument(
        "--tracking-uri",
        dest="ui_tracking_uri",
        metavar="URI",
        default=None,
        help="store to show (default: the one automl.classify writes to)",
    )
    add_bind_arguments(parser, C.DEFAULT_HOST, C.DEFAULT_PORT)
    parser.add_argument("--read-only", action="store_true", help="hide and refuse registry changes")
    parser.add_argument(
        "--token",
        metavar="TOKEN",
        default=None,
        help="access token every request must carry (required off loopback)",
    )
    parser.add_argument(
        "--refresh-seconds",
        type=float,
        default=C.REFRESH_SECONDS,
        help="while a search runs, reload its runs table and chart this often (default: %(default)s)",
    )


def check_bind(host: str, token: str | None) -> None:
    """``ValueError`` when a non-loopback address is bound without ``--token``."""
    if not is_loopback(host) and not token:
        raise ValueError(
            f"--host {host} is reachable from other machines: pass --token SECRET as well "
            "(requests then need 'Authorization: Bearer SECRET' or ?token=SECRET once)"
        )


def run(args: argparse.Namespace) -> int:
    """Browse experiments, runs and the registry in a web browser.

    Serve the leaderboard, run, compare and registry pages of a tracking store.
    """
    import uvicorn

    import tracking

    check_bind(args.host, args.token)
    if args.refresh_seconds <= 0:
        raise ValueError(f"--refresh-seconds {args.refresh_seconds}: give a positive number")
    config = UIConfig(
        tracking_uri=args.ui_tracking_uri or tracking.get_tracking_uri(),
        read_only=args.read_only,
        token=args.token,
        refresh_seconds=args.refresh_seconds,
    )
    app = create_app(config)
    print(f"automl ui: http://{args.host}:{args.port}/ showing {config.tracking_uri}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
