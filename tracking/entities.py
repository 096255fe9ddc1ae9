"""Plain value objects returned by the store (MLflow's names and fields)."""

from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass, field
from typing import Any


class RunStatus(enum.StrEnum):
    """Lifecycle status of a run."""

    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @classmethod
    def is_terminated(cls, status: str) -> bool:
        """True for every status other than RUNNING."""
        return str(status) != cls.RUNNING.value


class ViewType(enum.IntEnum):
    """Which runs/experiments a search returns, by lifecycle stage (MLflow's values)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    @classmethod
    def coerce(cls, value: ViewType | int | str) -> ViewType:
        """Accept the enum, its int value or its name (case-insensitive)."""
        from tracking.exceptions import InvalidInputError

        if isinstance(value, ViewType):
            return value
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                pass
        else:
            try:
                return cls(int(value))
            except (ValueError, TypeError):
                pass
        raise InvalidInputError(
            f"run_view_type={value!r} is not one of ACTIVE_ONLY, DELETED_ONLY, ALL"
        )


class LifecycleStage:
    """Soft-delete state of experiments and runs."""

    ACTIVE = "active"
    DELETED = "deleted"


@dataclass(frozen=True)
class Metric:
    """One logged metric value; ``timestamp`` is epoch milliseconds."""

    key: str
    value: float
    timestamp: int
    step: int = 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Metric):
            return NotImplemented
        same_value = self.value == other.value or (
            math.isnan(self.value) and math.isnan(other.value)
        )
        return (self.key, self.timestamp, self.step) == (
            other.key,
            other.timestamp,
            other.step,
        ) and same_value

    def __hash__(self) -> int:
        return hash((self.key, self.timestamp, self.step))


@dataclass(frozen=True)
class Param:
    """One run parameter (values are stored as strings)."""

    key: str
    value: str


@dataclass(frozen=True)
class RunTag:
    """One run tag."""

    key: str
    value: str


@dataclass
class Experiment:
    """An experiment: a named group of runs sharing an artifact location."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None


@dataclass
class RunInfo:
    """Run metadata (no params/metrics/tags)."""

    run_id: str
    run_name: str | None
    experiment_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str
    parent_run_id: str | None = None

    @property
    def run_uuid(self) -> str:
        """Alias of ``run_id`` (MLflow compatibility)."""
        return self.run_id


@dataclass
class RunData:
    """Params, latest metric values and tags of a run."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    """A run: ``info`` plus ``data``."""

    info: RunInfo
    data: RunData

    def to_dictionary(self) -> dict[str, Any]:
        """Plain nested dict (JSON-friendly)."""
        return {"info": asdict(self.info), "data": asdict(self.data)}


@dataclass(frozen=True)
class FileInfo:
    """An entry of ``list_artifacts``: path relative to the run's artifact root."""

    path: str
    is_dir: bool
    file_size: int | None


@dataclass
class ModelInfo:
    """What ``log_model`` wrote: where, and the metadata stored in ``MLmodel.json``."""

    run_id: str
    artifact_path: str
    model_uri: str
    flavor: str
    task: str | None
    sha256: str
    input_schema: list[dict[str, str]] | None
    classes: list[Any] | None
    metadata: dict[str, Any]
    created: int


class PagedList(list):
    """A list of results plus ``token`` for the next page (None on the last page)."""

    def __init__(self, items: Any = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token
