"""Access token, CSRF tokens and artifact path confinement."""

from __future__ import annotations

import hmac
import os
import secrets
from urllib.parse import unquote

from automl.ui import constants as C


class PathRefused(ValueError):
    """An artifact path that would leave the run's artifact folder."""


def new_token() -> str:
    """A random URL-safe token (CSRF or access)."""
    return secrets.token_urlsafe(32)


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of two tokens."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def confined_path(root: str, relative: str) -> str:
    """The real path of ``relative`` inside ``root``; ``PathRefused`` for anything outside.

    Refuses absolute paths, ``..`` segments (also percent-encoded, decoded until stable) and
    symlinks whose target leaves ``root``."""
    text = relative
    for _ in range(3):  # %252e%252e -> %2e%2e -> ..
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    text = text.replace("\\", "/")
    if text.startswith("/") or os.path.isabs(text) or (len(text) > 1 and text[1] == ":"):
        raise PathRefused(f"path {relative!r} is absolute; give a path inside the run's artifacts")
    if any(part == ".." for part in text.split("/")):
        raise PathRefused(f"path {relative!r} leaves the run's artifact folder")
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, text))
    if target != real_root and not target.startswith(real_root + os.sep):
        raise PathRefused(f"path {relative!r} points outside the run's artifact folder")
    return target


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    return host in C.LOOPBACK_HOSTS or host.startswith("127.")
