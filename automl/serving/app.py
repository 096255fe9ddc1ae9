"""The Starlette application: MLflow's scoring endpoints over one or more traffic routes.

``GET /ping`` and ``/health`` answer 200 once every route's model is loaded, ``GET /version``
names the server and the versions served, ``POST /invocations`` scores a payload on the route
the request is assigned to and ``GET /metrics`` gives the per-route counters. Predictions run in
a thread pool per route bounded by a time limit, so a slow prediction answers 504 and the server stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata as importlib_metadata

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route as HttpRoute

import tracking
from automl.serving import constants as C
from automl.serving.config import ServeConfig
from automl.serving.inference_log import InferenceLogger, InferenceRecord
from automl.serving.loader import FollowedModel
from automl.serving.metrics import ServingMetrics
from automl.serving.payload import ServingError
from automl.serving.routes import RouteAssigner
from automl.serving.scoring import score_request

log = logging.getLogger("automl.serving")


def _package_version() -> str:
    try:
        return importlib_metadata.version("automl-tracked")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


class ScoringService:
    """The state behind the endpoints: loaded routes, assignment, counters, the inference log."""

    def __init__(self, config: ServeConfig) -> None:
        if config.tracking_uri:
            tracking.set_tracking_uri(config.tracking_uri)
        self.config = config
        self.names = [r.name for r in config.routes]
        self.models = [FollowedModel(r.model_uri) for r in config.routes]  # verified here
        self.assigner = RouteAssigner(list(config.routes))
        self.metrics = ServingMetrics(self.names)
        # One pool per route: a route whose predictions hang cannot starve the others.
        self.executors = [
            ThreadPoolExecutor(config.predict_threads, thread_name_prefix=f"predict-{name}")
            for name in self.names
        ]
        self.logger: InferenceLogger | None = None
        if config.log_predictions:
            self.logger = InferenceLogger(
                config.routes[0].model_uri,
                {r.name: r.model_uri for r in config.routes},
                config.log_batch_rows,
                config.log_flush_seconds,
            )
        self._wake = asyncio.Event()

    def versions(self) -> dict[str, str]:
        return {name: m.current.version for name, m in zip(self.names, self.models, strict=True)}

    def refresh_now(self) -> None:
        """Ask the follower to re-resolve aliases at once (SIGHUP)."""
        self._wake.set()

    async def follow_aliases(self) -> None:
        """Re-resolve moving URIs every ``poll_seconds`` or when woken."""
        followed = [m for m in self.models if m.follows]
        if not followed:
            return
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.poll_seconds)
            self._wake.clear()
            for model in followed:
                await asyncio.to_thread(model.refresh)

    async def read_body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _too_large(int(declared), limit)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def invocations(self, request: Request) -> Response:
        started = time.perf_counter()
        index = self.assigner.assign(request.headers.get(C.HEADER_REQUEST_KEY))
        name, model = self.names[index], self.models[index].current
        request_id = request.headers.get(C.HEADER_REQUEST_ID) or uuid.uuid4().hex
        headers = {
            C.HEADER_ROUTE: name,
            C.HEADER_MODEL_VERSION: model.version,
            C.HEADER_MODEL_URI: model.pinned_uri,
            "X-Request-Id": request_id,
        }
        try:
            body = await self.read_body(request)
            future = self.executors[index].submit(
                score_request, body, request.headers.get("content-type"), model
            )
            try:
                scored = await asyncio.wait_for(
                    asyncio.wrap_future(future), self.config.predict_timeout_seconds
                )
            except TimeoutError:
                future.cancel()
                raise ServingError(
                    f"prediction took longer than the limit of "
                    f"{self.config.predict_timeout_seconds:g} s (--predict-timeout)",
                    status=504,
                    error_code=C.DEADLINE_EXCEEDED,
                ) from None
            response = Response(
                json.dumps({"predictions": scored.predictions}),
                media_type=C.CONTENT_TYPE_JSON,
                headers=headers,
            )
            if self.logger is not None:
                self.logger.add(
                    InferenceRecord(
                        request_id,
                        name,
                        model.version,
                        time.time(),
                        scored.frame,
                        scored.predictions,
                    )
                )
        except ServingError as exc:
            response = JSONResponse(exc.to_json(), status_code=exc.status, headers=headers)
        except Exception as exc:  # a bug must answer 500, not drop the connection
            log.exception("invocation failed")
            response = JSONResponse(
                {"error_code": C.INTERNAL_ERROR, "message": f"{type(exc).__name__}: {exc}"},
                status_code=500,
                headers=headers,
            )
        self.metrics.observe(name, response.status_code, time.perf_counter() - started)
        return response

    def close(self) -> None:
        for executor in self.executors:
            executor.shutdown(wait=False, cancel_futures=True)
        if self.logger is not None:
            self.logger.close()


def _too_large(size: int, limit: int) -> ServingError:
    return ServingError(
        f"request body of {size} bytes exceeds the limit of {limit} bytes (--max-body-bytes); "
        "send fewer rows per request",
        status=413,
        error_code=C.REQUEST_LIMIT_EXCEEDED,
    )


def create_app(config: ServeConfig) -> Starlette:
    """Load and verify every route's model, then build the app (raises if one cannot load)."""
    service = ScoringService(config)

    async def ping(request: Request) -> Response:
        return Response("\n", media_type=C.CONTENT_TYPE_JSON)

    async def version(request: Request) -> Response:
        routes = [
            {
                "route": n,
                "model_uri": m.uri,
                "version": m.current.version,
                "pinned_uri": m.current.pinned_uri,
            }
            for n, m in zip(service.names, service.models, strict=True)
        ]
        return JSONResponse({"version": _package_version(), "routes": routes})

    async def metrics(request: Request) -> Response:
        failures = {
            n: m.reload_failures for n, m in zip(service.names, service.models, strict=True)
        }
        return PlainTextResponse(
            service.metrics.render(service.versions(), failures),
            media_type="text/plain; version=0.0.4",
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, service.refresh_now)
        follower = asyncio.create_task(service.follow_aliases())
        log.info("serving %s (pid %d)", service.versions(), os.getpid())
        try:
            yield
        finally:
            follower.cancel()
            service.close()

    app = Starlette(
        routes=[
            HttpRoute("/ping", ping, methods=["GET"]),
            HttpRoute("/health", ping, methods=["GET"]),
            HttpRoute("/version", version, methods=["GET"]),
            HttpRoute("/metrics", metrics, methods=["GET"]),
            HttpRoute("/invocations", service.invocations, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.service = service
    return app


def app_from_env() -> Starlette:
    """uvicorn factory for ``--workers N``: each worker loads and verifies the models itself."""
    return create_app(ServeConfig.from_json(os.environ[C.ENV_CONFIG]))
