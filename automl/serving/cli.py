"""``automl serve MODEL_URI | --route NAME=MODEL_URI:PERCENT ...``: the scoring server command."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence

from automl.cli_support import add_bind_arguments, add_command
from automl.serving import constants as C
from automl.serving.config import ServeConfig
from automl.serving.routes import ROUTE_FORM, Route, parse_route

DEFAULT_ROUTE = "default"


# The numeric ServeConfig fields the command line sets: flag, field and help. Each option's type
# and default are the field's (one place for the defaults: the config record).
_SETTINGS: tuple[tuple[str, str, str | None], ...] = (
    (
        "--poll-interval",
        "poll_seconds",
        "seconds between re-resolving aliases/stages (SIGHUP: at once)",
    ),
    ("--max-body-bytes", "max_body_bytes", "larger request bodies get 413"),
    (
        "--predict-timeout",
        "predict_timeout_seconds",
        "seconds a prediction may take before the request gets 504",
    ),
    ("--predict-threads", "predict_threads", None),
    ("--log-batch-rows", "log_batch_rows", None),
    ("--log-flush-seconds", "log_flush_seconds", None),
)


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve`` to the ``automl`` command."""
    add_arguments(add_command(subparsers, "serve", run))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``automl serve`` (and of ``python -m automl.serving``)."""
    parser.add_argument("model_uri", nargs="?", help="model to serve (omit when using --route)")
    add_bind_arguments(parser, C.DEFAULT_HOST, C.DEFAULT_PORT)
    parser.add_argument(
        "--workers",
        type=int,
        default=C.DEFAULT_WORKERS,
        help="server processes; each loads and verifies the models",
    )
    parser.add_argument(
        "--route",
        action="append",
        default=[],
        metavar="NAME=URI:PERCENT",
        help=f"a traffic route, repeatable; percentages add up to 100. {ROUTE_FORM}",
    )
    defaults = {f.name: f.default for f in dataclasses.fields(ServeConfig)}
    for flag, field, text in _SETTINGS:
        default, metavar = defaults[field], flag[2:].upper().replace("-", "_")
        parser.add_argument(
            flag, dest=field, metavar=metavar, type=type(default), default=default, help=text
        )
    parser.add_argument(
        "--log-predictions",
        action="store_true",
        help="log features, predictions, route and version in batches into the "
        "tracking store (experiment '<model>-inference')",
    )


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    """The ``ServeConfig`` the arguments describe; ``ValueError`` naming the bad one."""
    routes: list[Route] = [parse_route(text) for text in args.route]
    if args.model_uri and routes:
        raise ValueError("give either MODEL_URI or --route, not both")
    if args.model_uri:
        routes = [Route(DEFAULT_ROUTE, args.model_uri, 100.0)]
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    import tracking

    return ServeConfig(
        routes=routes,
        log_predictions=args.log_predictions,
        tracking_uri=tracking.get_tracking_uri(),
        **{field: getattr(args, field) for _, field, *_ in _SETTINGS},
    )


def run(args: argparse.Namespace) -> int:
    """Serve a model over MLflow's scoring protocol (with A/B routes and alias following).

    Serve MODEL_URI (runs:/..., models:/name/3, models:/name@alias, a stage) on /invocations,
    or split traffic between several with --route. The models are validated, loaded and
    verified first; the server runs until interrupted.
    """
    import uvicorn

    from automl.serving.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = config_from_args(args)
    try:
        app = create_app(config)  # refuses to start on a bad URI or a tampered model
    except Exception as exc:
        print(f"error: cannot serve: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.workers == 1:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
        return 0
    app.state.service.close()  # verified here; each worker loads its own copy
    os.environ[C.ENV_CONFIG] = config.to_json()
    uvicorn.run(
        "automl.serving.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m automl.serving ...`` (same arguments as ``automl serve``)."""
    parser = argparse.ArgumentParser(prog="python -m automl.serving")
    parser.add_argument("--tracking-uri")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.tracking_uri:
        import tracking

        tracking.set_tracking_uri(args.tracking_uri)
    try:
        return run(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
