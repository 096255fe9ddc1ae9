"""The user's search arguments, checked once, as one frozen record.

``classify``, ``regress`` and ``forecast`` build a :class:`SearchSpec` first; its checks are
here and nowhere else (as scikit-learn's ``check_scalar`` / ``_parameter_constraints``): each
error names the argument, says what it got and what to give instead. Everything downstream
takes the spec as valid. Checks of the data itself (columns, target values) belong to the task.
"""

from __future__ import annotations

import math
import numbers
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from automl.core.budget import Budget

MAX_NAME_LENGTH = 256
_RESERVED_MODEL_NAMES = (".", "..", "latest")


class AutoMLInputError(ValueError):
    """An argument or the data cannot be used; the message names it and the fix."""


def _fail(name: str, problem: str, value: Any, fix: str) -> AutoMLInputError:
    return AutoMLInputError(f"{name}: {problem}, got {value!r} ({fix})")


def _number(value: Any, kind: type = numbers.Real) -> bool:
    """Whether ``value`` is a number of ``kind`` (booleans are not numbers here)."""
    return isinstance(value, kind) and not isinstance(value, bool)


@dataclass(frozen=True)
class _Scalar:
    """A numeric argument's constraint, as scikit-learn's ``check_scalar``: its type, the values
    it takes, and what to say when it gets another; ``None`` passes when ``optional``."""

    kind: type
    valid: Callable[[Any], bool]
    problem: str
    fix: str  # ``{name}`` stands for the argument's name
    optional: bool = True

    def __call__(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return None
        if not _number(value, self.kind) or not self.valid(value):
            raise _fail(name, self.problem, value, self.fix.format(name=name))
        return float(value) if self.kind is numbers.Real else int(value)


_positive_minutes = _Scalar(
    numbers.Real,
    lambda v: math.isfinite(v) and v > 0,
    "must be a positive number of minutes",
    "e.g. {name}=5 or 0.5; {name}=None to stop on max_trials only",
)
_positive_int = _Scalar(
    numbers.Integral,
    lambda v: v > 0,
    "must be a positive integer",
    "{name} must be a positive integer such as 20, or None for no limit",
)
_n_jobs = _Scalar(
    numbers.Integral,
    lambda v: v > 0 or v == -1,
    "must be a positive integer or -1 (all cores)",
    "e.g. n_jobs=2 or -1",
)
_seed = _Scalar(
    numbers.Integral, lambda v: v >= 0, "must be a non-negative integer", "e.g. seed=0", False
)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(name, "must be True or False", value, f"e.g. {name}=False")
    return value


def _name(name: str, value: Any, *, model: bool) -> str | None:
    """Experiment and registered-model names: None (a default is made) or non-blank text."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, "must be a non-blank string", value, f"give a name, or {name}=None")
    if len(value) > MAX_NAME_LENGTH or any(ord(c) < 32 for c in value):
        raise _fail(
            name,
            f"must be at most {MAX_NAME_LENGTH} characters without control characters",
            value,
            "shorten it and remove newlines or NUL",
        )
    if model and ("/" in value or value in _RESERVED_MODEL_NAMES):
        raise _fail(
            name,
            f"cannot contain '/' or be one of {list(_RESERVED_MODEL_NAMES)} (it is part of "
            "models:/<name>/<version> URIs)",
            value,
            "e.g. replace '/' by '-'",
        )
    return value


def _string_list(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise _fail(
            name, "must be a name or a list of names", value, f"e.g. {name}=['x']"
        ) from None
    if not all(isinstance(i, str) for i in items):
        raise _fail(name, "must be a name or a list of names", value, f"e.g. {name}=['x']")
    return items


def _cluster(name: str, value: Any) -> Any:
    """A Dask scheduler address or a ``distributed.Client``; None runs trials locally."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.startswith(("tcp://", "tls://", "inproc://")):
            return value
    elif type(value).__module__.startswith("distributed") and hasattr(value, "submit"):
        return value
    raise _fail(
        name,
        "must be a Dask scheduler address or a distributed.Client",
        value,
        "e.g. cluster='tcp://scheduler:8786', or cluster=None for local worker processes",
    )


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "timeout_minutes": _positive_minutes,
    "max_trials": _positive_int,
    "n_jobs": _n_jobs,
    "seed": _seed,
    "verbose": _bool,
    "experiment_name": lambda n, v: _name(n, v, model=False),
    "register_model_name": lambda n, v: _name(n, v, model=True),
    "exclude_frameworks": _string_list,
    "cluster": _cluster,
    "retrain_full": _bool,
}
# Arguments whose default is not None.
_DEFAULTS = {"seed": 0, "verbose": True, "retrain_full": True}


@dataclass(frozen=True)
class SearchSpec:
    """What every search takes, valid by construction (build it with :meth:`create`).

    ``options`` holds the task's own arguments (columns, imputers, horizon, ...), which the
    task checks against the data.
    """

    task: str
    target_col: str
    primary_metric: str
    timeout_minutes: float | None
    max_trials: int | None
    n_jobs: int | None
    seed: int
    verbose: bool
    experiment_name: str | None
    register_model_name: str | None
    exclude_frameworks: tuple[str, ...]
    # Where trials run: None for local worker processes, else a Dask cluster.
    cluster: Any = None
    # Refit the chosen model on every row before registering it (FLAML's retrain_full).
    retrain_full: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def create(
        cls, task: str, target_col: Any, primary_metric: Any, **arguments: Any
    ) -> SearchSpec:
        """Check each shared argument once; raise :class:`AutoMLInputError` naming the first bad."""
        started = time.monotonic()
        if not isinstance(target_col, str) or not target_col:
            raise _fail("target_col", "must be a column name", target_col, "e.g. target_col='y'")
        if not isinstance(primary_metric, str):
            raise _fail("primary_metric", "must be a metric name", primary_metric, "e.g. 'f1'")
        checked = {
            name: check(name, arguments.pop(name, _DEFAULTS.get(name)))
            for name, check in _CHECKS.items()
        }
        return cls(
            task=task,
            target_col=target_col,
            primary_metric=primary_metric,
            options=dict(arguments),
            started=started,
            **checked,
        )

    @classmethod
    def from_call(
        cls, task: str, arguments: Mapping[str, Any], task_only: Collection[str] = ()
    ) -> SearchSpec:
        """The spec of a public entry point's arguments (its ``locals()``): all but ``dataset``
        and the arguments in ``task_only``, which the task checks against the data itself."""
        given = {k: v for k, v in arguments.items() if k != "dataset" and k not in task_only}
        return cls.create(task, given.pop("target_col"), given.pop("primary_metric"), **given)

    def budget(self) -> Budget:
        """The search's one :class:`Budget`, counted from when the call started."""
        return Budget.from_arguments(self.timeout_minutes, self.max_trials, self.started)

    def default_experiment_name(self) -> str:
        """A name for a new experiment when none was given: readable, and unique even for two
        searches started in the same second."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return f"automl_{self.task}_{self.target_col}_{stamp}_{uuid.uuid4().hex[:6]}"
