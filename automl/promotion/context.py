"""What every gate sees: the candidate version, the baseline (the target's current version) and
their models, each loaded once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from registry import ModelVersion, RegistryClient


@dataclass
class PromotionContext:
    """The versions a promotion compares; ``baseline`` is None when the target is unset."""

    client: RegistryClient
    name: str
    target: str
    candidate: ModelVersion
    baseline: ModelVersion | None
    _models: dict[int, Any] = field(default_factory=dict, repr=False)

    @property
    def baseline_label(self) -> str:
        """How reports name the baseline, e.g. ``production (v3)``."""
        if self.baseline is None:
            return self.target
        return f"{self.target} (v{self.baseline.version})"

    def model(self, version: ModelVersion) -> Any:
        """The loaded ``Predictor`` of ``version`` (loaded on first use)."""
        if version.version not in self._models:
            uri = f"models:/{version.name}/{version.version}"
            self._models[version.version] = self.client.load_model(uri)
        return self._models[version.version]

    def input_schema(self, version: ModelVersion) -> list[dict[str, str]] | None:
        """The input columns and dtypes recorded when the version's model was logged."""
        return self.model(version).metadata.get("input_schema")
