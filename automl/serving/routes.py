"""Traffic routes: ``--route NAME=MODEL_URI:PERCENT`` parsing and the assignment of requests.

A request carrying a key (``X-Request-Key``) is assigned by a hash of that key, so the same key
always reaches the same route while the split is unchanged; requests without a key are assigned
at random in the same proportions.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import re
from dataclasses import dataclass

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_BUCKETS = 10_000  # assignment resolution: 0.01 %
ROUTE_FORM = "NAME=MODEL_URI:PERCENT, e.g. champion=models:/churn@production:90"


@dataclass(frozen=True)
class Route:
    """One named share of the traffic and the model URI (possibly an alias) that serves it."""

    name: str
    model_uri: str
    percent: float


def parse_route(text: str) -> Route:
    """``NAME=MODEL_URI:PERCENT`` -> ``Route``; raises ``ValueError`` naming what is wrong."""
    name, sep, rest = text.partition("=")
    if not sep or not rest:
        raise ValueError(f"--route {text!r}: expected {ROUTE_FORM}")
    if not _NAME.match(name):
        raise ValueError(
            f"--route {text!r}: route name {name!r} must be 1-64 letters, digits, '_', '.' or '-'"
        )
    uri, sep, percent_text = rest.rpartition(":")
    if not sep or not uri or percent_text.startswith("/"):  # "models:/x" has no percent
        raise ValueError(f"--route {text!r}: missing ':PERCENT' after the model URI; {ROUTE_FORM}")
    try:
        percent = float(percent_text)
    except ValueError:
        raise ValueError(
            f"--route {text!r}: percent {percent_text!r} is not a number; {ROUTE_FORM}"
        ) from None
    if not math.isfinite(percent) or not 0 < percent <= 100:
        raise ValueError(f"--route {text!r}: percent must be in (0, 100], got {percent_text}")
    return Route(name=name, model_uri=uri, percent=percent)


def check_routes(routes: list[Route]) -> list[Route]:
    """Refuse an empty list, duplicate names and percentages that do not add up to 100."""
    if not routes:
        raise ValueError("no model to serve: give MODEL_URI or at least one --route")
    names = [r.name for r in routes]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"--route: route name(s) {duplicates} given more than once")
    total = sum(r.percent for r in routes)
    if abs(total - 100.0) > 1e-6:
        shares = ", ".join(f"{r.name}={r.percent:g}" for r in routes)
        raise ValueError(
            f"--route: percentages must add up to 100, got {total:g} ({shares}); adjust them"
        )
    return routes


class RouteAssigner:
    """Maps a request (optionally keyed) to a route index according to the percentages."""

    def __init__(self, routes: list[Route], seed: int | None = None) -> None:
        self._routes = check_routes(routes)
        bounds, total = [], 0.0
        for route in routes:
            total += route.percent
            bounds.append(round(total / 100.0 * _BUCKETS))
        bounds[-1] = _BUCKETS
        self._bounds = bounds
        self._random = random.Random(seed)

    def bucket(self, key: str | None) -> int:
        """The request's bucket in [0, 10000): hashed from the key, random without one."""
        if key is None:
            return self._random.randrange(_BUCKETS)
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % _BUCKETS

    def assign(self, key: str | None) -> int:
        """Index of the route that serves a request with this key (or none)."""
        return bisect.bisect_right(self._bounds, self.bucket(key))
