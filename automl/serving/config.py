"""The server's configuration: one typed record, passed to uvicorn's workers as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from automl.serving import constants as C
from automl.serving.routes import Route, check_routes


@dataclass(frozen=True)
class ServeConfig:
    """What to serve and how: the routes and the limits of one server."""

    routes: list[Route]
    poll_seconds: float = C.DEFAULT_POLL_SECONDS
    max_body_bytes: int = C.DEFAULT_MAX_BODY_BYTES
    predict_timeout_seconds: float = C.DEFAULT_PREDICT_TIMEOUT_SECONDS
    predict_threads: int = C.DEFAULT_PREDICT_THREADS
    log_predictions: bool = False
    log_batch_rows: int = C.DEFAULT_LOG_BATCH_ROWS
    log_flush_seconds: float = C.DEFAULT_LOG_FLUSH_SECONDS
    tracking_uri: str | None = None

    def __post_init__(self) -> None:
        check_routes(list(self.routes))
        for name in ("poll_seconds", "predict_timeout_seconds", "log_flush_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("max_body_bytes", "predict_threads", "log_batch_rows"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        data = json.loads(text)
        data["routes"] = [Route(**r) for r in data["routes"]]
        return cls(**data)
