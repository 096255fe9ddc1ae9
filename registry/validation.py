"""Checks on user-supplied names, versions, aliases and stages, with errors saying what to do."""

from __future__ import annotations

import getpass
import re

from registry.entities import ALL_STAGES
from tracking.exceptions import InvalidInputError
from tracking.validation import check_uri_name

MAX_NAME_LENGTH = 256
MAX_ALIAS_LENGTH = 255
MAX_VERSION = 2**31 - 1  # the versions table's INTEGER column
_RESERVED_NAMES = {".", "..", "latest"}
_ALIAS = re.compile(r"^[A-Za-z0-9_\-]+$")
_VERSION_LIKE = re.compile(r"^[vV]\d+$")


def model_name(name: object) -> str:
    """A registered model name: non-empty, no '/' or '@' (they delimit ``models:/`` URIs), no
    control characters, and not '.', '..' or 'latest' (path-like or reserved in URIs)."""
    name = check_uri_name(name, "registered model", MAX_NAME_LENGTH, "models:/ URIs")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise InvalidInputError(
            f"name: {name!r} contains a control character (newline, NUL, ...); registered model "
            "names must be printable text"
        )
    if name.lower() in _RESERVED_NAMES:
        raise InvalidInputError(
            f"name: {name!r} is reserved ('.' and '..' read as paths, 'latest' as "
            "models:/<name>/latest); choose another name"
        )
    return name


def version_number(version: object) -> int:
    """A version number given as int or numeric string (``3`` or ``"3"``)."""
    if isinstance(version, bool):
        raise InvalidInputError(f"version: expected a positive integer, got {version!r}")
    try:
        number = int(str(version).strip())
    except ValueError:
        raise InvalidInputError(f"version: expected a positive integer, got {version!r}") from None
    if number < 1 or number > MAX_VERSION:
        raise InvalidInputError(
            f"version: expected a positive integer up to {MAX_VERSION}, got {version!r}"
        )
    return number


def alias_name(alias: object) -> str:
    """An alias: letters, digits, '_' and '-'; ``latest`` and ``v<N>`` are reserved."""
    if not isinstance(alias, str) or not alias:
        raise InvalidInputError(f"alias: must be a non-empty string, got {alias!r}")
    if not _ALIAS.match(alias):
        raise InvalidInputError(f"alias: {alias!r} may only contain letters, digits, '_' and '-'")
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidInputError(f"alias: longer than {MAX_ALIAS_LENGTH} characters")
    if alias.lower() == "latest":
        raise InvalidInputError("alias: 'latest' is reserved (models:/<name>/latest); pick another")
    if _VERSION_LIKE.match(alias):
        raise InvalidInputError(
            f"alias: {alias!r} is reserved because it looks like a version number; pick another"
        )
    return alias


def stage_name(stage: object) -> str:
    """Canonical stage name, accepted case-insensitively (``production`` -> ``Production``)."""
    if isinstance(stage, str):
        for canonical in ALL_STAGES:
            if stage.strip().lower() == canonical.lower():
                return canonical
    raise InvalidInputError(f"stage: unknown stage {stage!r}; use one of {', '.join(ALL_STAGES)}")


def tag_key(key: object) -> str:
    """A tag key: a non-empty string."""
    if not isinstance(key, str) or not key.strip():
        raise InvalidInputError(f"key: a tag key must be a non-empty string, got {key!r}")
    if len(key) > 250:
        raise InvalidInputError("key: tag keys are limited to 250 characters")
    return key


def current_user(user: str | None) -> str:
    """The explicit ``user`` or the OS login name, for history entries."""
    if user is not None:
        if not isinstance(user, str) or not user.strip():
            raise InvalidInputError(f"user: must be a non-empty string, got {user!r}")
        if len(user) > MAX_NAME_LENGTH:
            raise InvalidInputError(f"user: longer than {MAX_NAME_LENGTH} characters")
        return user
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
