"""Per-route counters (requests, errors by status, latency percentiles) in Prometheus text."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

from automl.serving import constants as C


@dataclass
class RouteStats:
    """Counters of one route since the server started (latencies: the most recent window)."""

    requests: int = 0
    errors: Counter = field(default_factory=Counter)  # HTTP status -> count
    latency_sum: float = 0.0
    latencies: deque = field(default_factory=lambda: deque(maxlen=C.LATENCY_WINDOW))


class ServingMetrics:
    """Thread-safe counters for every route, rendered by ``render`` for ``GET /metrics``."""

    def __init__(self, routes: list[str]) -> None:
        self._stats = {name: RouteStats() for name in routes}
        self._lock = threading.Lock()

    def observe(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            stats = self._stats[route]
            stats.requests += 1
            if status >= 400:
                stats.errors[status] += 1
            stats.latency_sum += seconds
            stats.latencies.append(seconds)

    def snapshot(self) -> dict[str, RouteStats]:
        with self._lock:
            return {
                name: RouteStats(s.requests, Counter(s.errors), s.latency_sum, deque(s.latencies))
                for name, s in self._stats.items()
            }

    def render(self, versions: dict[str, str], reload_failures: dict[str, int]) -> str:
        """Prometheus text exposition format (version 0.0.4)."""
        stats = self.snapshot()
        lines = [
            "# HELP automl_serving_requests_total Invocation requests answered, per route.",
            "# TYPE automl_serving_requests_total counter",
        ]
        lines += [
            f'automl_serving_requests_total{{route="{r}"}} {s.requests}' for r, s in stats.items()
        ]
        lines += [
            "# HELP automl_serving_errors_total Invocation requests answered with an error.",
            "# TYPE automl_serving_errors_total counter",
        ]
        for route, s in stats.items():
            lines.append(f'automl_serving_errors_total{{route="{route}"}} {sum(s.errors.values())}')
            for status, count in sorted(s.errors.items()):
                lines.append(
                    f'automl_serving_errors_total{{route="{route}",status="{status}"}} {count}'
                )
        lines += [
            "# HELP automl_serving_request_latency_seconds Invocation latency (quantiles over "
            f"the last {C.LATENCY_WINDOW} requests).",
            "# TYPE automl_serving_request_latency_seconds summary",
        ]
        for route, s in stats.items():
            if s.latencies:
                values = np.quantile(np.fromiter(s.latencies, float), C.LATENCY_QUANTILES)
                for q, v in zip(C.LATENCY_QUANTILES, values, strict=True):
                    lines.append(
                        f'automl_serving_request_latency_seconds{{route="{route}",'
                        f'quantile="{q}"}} {v:.6f}'
                    )
            lines.append(
                f'automl_serving_request_latency_seconds_sum{{route="{route}"}} {s.latency_sum:.6f}'
            )
            lines.append(
                f'automl_serving_request_latency_seconds_count{{route="{route}"}} {s.requests}'
            )
        lines += [
            "# HELP automl_serving_model_info The model version each route serves.",
            "# TYPE automl_serving_model_info gauge",
        ]
        lines += [
            f'automl_serving_model_info{{route="{r}",version="{v}"}} 1' for r, v in versions.items()
        ]
        lines += [
            "# HELP automl_serving_reload_failures_total New versions that failed to load.",
            "# TYPE automl_serving_reload_failures_total counter",
        ]
        lines += [
            f'automl_serving_reload_failures_total{{route="{r}"}} {n}'
            for r, n in reload_failures.items()
        ]
        return "\n".join(lines) + "\n"
