"""Input checks run before anything is written, so bad input never half-stores a batch."""

from __future__ import annotations

import math
import numbers
import posixpath
import re
from typing import Any

from tracking.exceptions import InvalidInputError

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_NAME_LENGTH = 500

_BAD_KEY_CHARS = re.compile(r"[/\\\x00-\x1f\x7f]")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_EXPERIMENT_ID = re.compile(r"^[0-9]{1,18}$")


_valid_keys: set[str] = set()


def check_key(key: Any, kind: str) -> str:
    """Validate a param/metric/tag key: non-empty str, no path separators or control chars."""
    if key in _valid_keys:
        return key
    if not isinstance(key, str):
        raise InvalidInputError(f"{kind} key must be a string, got {type(key).__name__} {key!r}")
    if not key or not key.strip():
        raise InvalidInputError(f"{kind} key must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"{kind} key {key[:40]!r}... is {len(key)} characters; the limit is {MAX_KEY_LENGTH}"
        )
    bad = _BAD_KEY_CHARS.search(key)
    if bad:
        raise InvalidInputError(
            f"{kind} key {key!r} contains {bad.group()!r} at position {bad.start()}: "
            "keys may not contain path separators ('/', '\\') or control characters"
        )
    if key in (".", ".."):
        raise InvalidInputError(f"{kind} key {key!r} is not allowed")
    if len(_valid_keys) < 100_000:
        _valid_keys.add(key)
    return key


def check_string_value(value: Any, kind: str, key: str, limit: int) -> str:
    """Convert a param/tag value to str and enforce its length limit."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise InvalidInputError(
            f"{kind} {key!r} value is {len(text)} characters long; the limit is {limit}"
        )
    return text


def check_metric_value(value: Any, key: str) -> float:
    """Metric values must be real numbers (NaN and +-inf are numbers and are kept)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        # numpy 0-d arrays and numpy scalars of real dtype are accepted as well.
        dtype = getattr(value, "dtype", None)
        if (
            dtype is None
            or getattr(value, "shape", None) not in ((), None)
            or dtype.kind not in "iuf"
        ):
            raise InvalidInputError(
                f"metric {key!r} value {value!r} ({type(value).__name__}) is not a number; "
                "log a float or int (NaN and inf are accepted)"
            )
    try:
        return float(value)
    except OverflowError as exc:
        raise InvalidInputError(f"metric {key!r} value is too large for a float") from exc


_INT64 = 2**63


def _int64(value: int, what: str) -> int:
    if not -_INT64 <= value < _INT64:
        raise InvalidInputError(f"{what} {value} is outside the 64-bit integer range")
    return value


def check_step(step: Any, key: str) -> int:
    """Steps are 64-bit integers."""
    if step is None:
        return 0
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        if isinstance(step, float) and step.is_integer():
            return _int64(int(step), f"metric {key!r} step")
        raise InvalidInputError(f"metric {key!r} step {step!r} must be an integer")
    return _int64(int(step), f"metric {key!r} step")


def check_timestamp(timestamp: Any, what: str) -> int:
    """Timestamps are integer epoch milliseconds."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, numbers.Real):
        raise InvalidInputError(f"{what} {timestamp!r} must be epoch milliseconds (int)")
    if isinstance(timestamp, float) and not math.isfinite(timestamp):
        raise InvalidInputError(f"{what} {timestamp!r} must be finite")
    return _int64(int(timestamp), what)


def check_run_id(run_id: Any) -> str:
    """Run ids are 32 lowercase hex characters."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise InvalidInputError(f"run_id {run_id!r} is not a run id (32 hex characters)")
    return run_id


def check_experiment_id(experiment_id: Any) -> str:
    """Experiment ids are decimal integers (given as str or int)."""
    if isinstance(experiment_id, bool):
        raise InvalidInputError(f"experiment_id {experiment_id!r} is not an experiment id")
    text = str(experiment_id) if isinstance(experiment_id, int | str) else None
    if text is None or not _EXPERIMENT_ID.match(text):
        raise InvalidInputError(
            f"experiment_id {experiment_id!r} is not an experiment id (a decimal integer)"
        )
    return text


def check_name(name: Any, kind: str) -> str:
    """Experiment/run names: non-empty printable strings within the length limit."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"{kind} must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(f"{kind} is {len(name)} characters; the limit is {MAX_NAME_LENGTH}")
    if re.search(r"[\x00-\x1f\x7f]", name):
        raise InvalidInputError(f"{kind} {name!r} contains control characters")
    return name


def check_uri_name(name: Any, what: str, max_length: int, uris: str = "URIs") -> str:
    """A name that stands in URIs (registered models, feature tables): a non-empty string
    without surrounding whitespace, '/' or '@' (they delimit ``uris``), within ``max_length``."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"name: a {what} name must be a non-empty string, got {name!r}")
    if name != name.strip():
        raise InvalidInputError(f"name: {name!r} has leading/trailing whitespace; strip it")
    if "/" in name or "@" in name:
        raise InvalidInputError(
            f"name: {name!r} contains '/' or '@', which delimit {uris}; choose another name"
        )
    if len(name) > max_length:
        raise InvalidInputError(f"name: longer than {max_length} characters")
    return name


def check_artifact_path(path: Any, what: str = "artifact_path") -> str:
    """A relative path inside a run's artifact folder: no absolute paths, no '..' escapes.

    Returns the normalised posix path ('' for the root).
    """
    if path is None:
        return ""
    if not isinstance(path, str):
        raise InvalidInputError(f"{what} must be a string, got {type(path).__name__}")
    if re.search(r"[\x00-\x1f\x7f]", path):
        raise InvalidInputError(f"{what} {path!r} contains control characters")
    unified = path.replace("\\", "/")
    if unified.startswith("/") or re.match(r"^[A-Za-z]:", unified):
        raise InvalidInputError(
            f"{what} {path!r} is absolute; give a path relative to the run's artifact folder"
        )
    normal = posixpath.normpath(unified) if unified else ""
    if normal in (".", ""):
        return ""
    if normal == ".." or normal.startswith("../") or ".." in unified.split("/"):
        raise InvalidInputError(
            f"{what} {path!r} escapes the run's artifact folder ('..' is not allowed)"
        )
    return normal
