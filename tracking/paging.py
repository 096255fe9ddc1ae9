"""Paged searches: opaque page tokens, the ``max_results`` check and reading one page.

Runs, experiments, registered models and model versions all page the same way: the query is
asked for ``limit + 1`` rows from ``offset``; the extra row only says that a next page exists.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tracking.entities import PagedList
from tracking.exceptions import InvalidInputError

MAX_RESULTS_LIMIT = 50_000


def encode_token(offset: int) -> str:
    """Opaque page token for the next page."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str | None) -> int:
    """Offset encoded in ``page_token`` (0 when None)."""
    if token is None or token == "":
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(offset)
        return offset
    except Exception as exc:
        raise InvalidInputError(
            f"page_token: {token!r} is not a token from a previous page of this search"
        ) from exc


def check_max_results(max_results: Any, limit: int = MAX_RESULTS_LIMIT) -> int:
    """Positive int up to ``limit``."""
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidInputError(f"max_results: expected a positive integer, got {max_results!r}")
    if max_results > limit:
        raise InvalidInputError(f"max_results: {max_results} exceeds the limit of {limit}")
    return max_results


def read_page(
    conn: Connection,
    query: sa.Select,
    offset: int,
    limit: int,
    convert: Callable[[Connection, list], Sequence[Any]],
) -> PagedList:
    """One page of ``query`` from ``offset``, its rows turned into entities by ``convert``, with
    the token of the next page (None on the last one)."""
    rows = list(conn.execute(query.offset(offset).limit(limit + 1)))
    token = encode_token(offset + limit) if len(rows) > limit else None
    return PagedList(list(convert(conn, rows[:limit])), token)
