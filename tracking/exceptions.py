"""Errors raised by the tracking store; each names the argument or resource at fault."""

from __future__ import annotations


class TrackingError(Exception):
    """Base class of every error raised by ``tracking``."""


class ResourceNotFoundError(TrackingError, LookupError):
    """An experiment, run, artifact or model that does not exist was asked for."""


class InvalidInputError(TrackingError, ValueError):
    """An argument was rejected before anything was written."""


class ResourceAlreadyExistsError(InvalidInputError):
    """A resource with a unique name (e.g. an experiment) already exists."""


class FilterSyntaxError(InvalidInputError):
    """A ``filter_string`` or ``order_by`` clause could not be parsed.

    ``position`` is the 0-based offset of the offending token in ``text``.
    """

    def __init__(self, message: str, text: str = "", position: int = 0, token: str = "") -> None:
        self.text = text
        self.position = position
        self.token = token
        if text:
            pointer = " " * position + "^"
            message = f"{message}\n  {text}\n  {pointer}"
        super().__init__(message)


class SchemaVersionError(TrackingError):
    """The database was written by a newer release than the one running."""
