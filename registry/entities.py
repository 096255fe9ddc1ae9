"""Registry entities: registered models, model versions and their history events."""

from __future__ import annotations

from dataclasses import dataclass, field

STAGE_NONE = "None"
STAGE_STAGING = "Staging"
STAGE_PRODUCTION = "Production"
STAGE_ARCHIVED = "Archived"
ALL_STAGES = (STAGE_NONE, STAGE_STAGING, STAGE_PRODUCTION, STAGE_ARCHIVED)

STATUS_READY = "READY"
STATUS_DELETED = "DELETED"

EVENT_REGISTERED = "registered"
EVENT_STAGE = "stage_transition"
EVENT_ALIAS_SET = "alias_set"
EVENT_ALIAS_DELETED = "alias_deleted"
EVENT_DELETED = "deleted"
EVENT_RESTORED = "restored"


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model: where it came from and where it stands now.

    ``metrics`` are the source run's latest metrics at registration time and ``sha256`` the
    checksum recorded in the model's ``MLmodel.json``, so later edits to the run do not change
    what was registered.
    """

    name: str
    version: int
    run_id: str
    source: str
    status: str
    current_stage: str
    aliases: list[str]
    description: str | None
    tags: dict[str, str]
    metrics: dict[str, float]
    sha256: str | None
    creation_time: int
    last_updated_time: int = 0
    user_id: str | None = None


@dataclass(frozen=True)
class RegisteredModel:
    """A named model with its versions' aliases and the newest version per stage."""

    name: str
    description: str | None
    tags: dict[str, str]
    aliases: dict[str, int]
    latest_versions: list[ModelVersion] = field(default_factory=list)
    creation_time: int = 0
    last_updated_time: int = 0
    deleted: bool = False


@dataclass(frozen=True)
class ModelVersionEvent:
    """One history entry: a stage transition, alias move, registration, deletion or restore.

    For stage transitions ``from_value``/``to_value`` are stage names; for alias events they are
    version numbers (as strings) the alias pointed to before and after (``None`` = unset).
    """

    name: str
    version: int
    event: str
    alias: str | None
    from_value: str | None
    to_value: str | None
    user: str
    timestamp: int
    comment: str | None

    def describe(self) -> str:
        """A one-line human sentence, e.g. for the CLI's history listing."""
        if self.event == EVENT_STAGE:
            what = f"stage {self.from_value} -> {self.to_value}"
        elif self.event == EVENT_ALIAS_SET:
            before = f" (moved from version {self.from_value})" if self.from_value else ""
            what = f"alias '{self.alias}' set on version {self.to_value}{before}"
        elif self.event == EVENT_ALIAS_DELETED:
            what = f"alias '{self.alias}' removed from version {self.from_value}"
        elif self.event == EVENT_REGISTERED and self.to_value:
            what = f"registered from {self.to_value}"
        else:
            what = self.event
        return what + (f": {self.comment}" if self.comment else "")
