"""``automl serve MODEL_URI | --route NAME=MODEL_URI:PERCENT ...``: the scoring server command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from automl.serving import constants as C
from automl.serving.config import ServeConfig
from automl.serving.routes import ROUTE_FORM, Route, parse_route

DEFAULT_ROUTE = "default"


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve`` to the ``automl`` command."""
    parser = subparsers.add_parser(
        "serve",
        help="serve a model over MLflow's scoring protocol (with A/B routes and alias following)",
        description="Serve MODEL_URI (runs:/..., models:/name/3, models:/name@alias, a stage) "
        "on /invocations, or split traffic between several with --route.",
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_uri", nargs="?", help="model to serve (omit when using --route)")
    parser.add_argument("--host", default=C.DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=C.DEFAULT_PORT)
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
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=C.DEFAULT_POLL_SECONDS,
        help="seconds between re-resolving aliases/stages (SIGHUP: at once)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=C.DEFAULT_MAX_BODY_BYTES,
        help="larger request bodies get 413",
    )
    parser.add_argument(
        "--predict-timeout",
        type=float,
        default=C.DEFAULT_PREDICT_TIMEOUT_SECONDS,
        help="seconds a prediction may take before the request gets 504",
    )
    parser.add_argument("--predict-threads", type=int, default=C.DEFAULT_PREDICT_THREADS)
    parser.add_argument(
        "--log-predictions",
        action="store_true",
        help="log features, predictions, route and version in batches into the "
        "tracking store (experiment '<model>-inference')",
    )
    parser.add_argument("--log-batch-rows", type=int, default=C.DEFAULT_LOG_BATCH_ROWS)
    parser.add_argument("--log-flush-seconds", type=float, default=C.DEFAULT_LOG_FLUSH_SECONDS)


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
        poll_seconds=args.poll_interval,
        max_body_bytes=args.max_body_bytes,
        predict_timeout_seconds=args.predict_timeout,
        predict_threads=args.predict_threads,
        log_predictions=args.log_predictions,
        log_batch_rows=args.log_batch_rows,
        log_flush_seconds=args.log_flush_seconds,
        tracking_uri=tracking.get_tracking_uri(),
    )


def run(args: argparse.Namespace) -> int:
    """Validate, load and verify the models, then serve until interrupted."""
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
