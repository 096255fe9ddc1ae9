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
        requests, errors = "automl_serving_requests_total", "automl_serving_errors_total"
        latency = "automl_serving_request_latency_seconds"
        info, reloads = "automl_serving_model_info", "automl_serving_reload_failures_total"
        lines = _header(requests, "counter", "Invocation requests answered, per route.")
        lines += [_sample(requests, s.requests, route=r) for r, s in stats.items()]
        lines += _header(errors, "counter", "Invocation requests answered with an error.")
        for route, s in stats.items():
            lines.append(_sample(errors, sum(s.errors.values()), route=route))
            for status, count in sorted(s.errors.items()):
                lines.append(_sample(errors, count, route=route, status=status))
        lines += _header(
            latency,
            "summary",
            f"Invocation latency (quantiles over the last {C.LATENCY_WINDOW} requests).",
        )
        for route, s in stats.items():
            if s.latencies:
                values = np.quantile(np.fromiter(s.latencies, float), C.LATENCY_QUANTILES)
                for q, v in zip(C.LATENCY_QUANTILES, values, strict=True):
                    lines.append(_sample(latency, f"{v:.6f}", route=route, quantile=q))
            lines.append(_sample(f"{latency}_sum", f"{s.latency_sum:.6f}", route=route))
            lines.append(_sample(f"{latency}_count", s.requests, route=route))
        lines += _header(info, "gauge", "The model version each route serves.")
        lines += [_sample(info, 1, route=r, version=v) for r, v in versions.items()]
        lines += _header(reloads, "counter", "New versions that failed to load.")
        lines += [_sample(reloads, n, route=r) for r, n in reload_failures.items()]
        return "\n".join(lines) + "\n"


def _header(name: str, kind: str, help_text: str) -> list[str]:
    """The HELP and TYPE lines of one metric family."""
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _sample(name: str, value: object, **labels: object) -> str:
    """One sample line: ``name{label="value",...} value``."""
    inner = ",".join(f'{key}="{label}"' for key, label in labels.items())
    return f"{name}{{{inner}}} {value}"
