"""SQL store of the registry: one class composed of its concerns.

- ``registry.store_core``: transactions, the model-row lock, events, row -> entity;
- ``registry.store_models``: registered models;
- ``registry.store_versions``: versions, their tags, deletion and history;
- ``registry.store_moves``: stage transitions and alias moves.
"""

from __future__ import annotations

from registry.store_models import ModelStore
from registry.store_moves import MoveStore
from registry.store_versions import VersionStore


class RegistryStore(ModelStore, VersionStore, MoveStore):
    """Registry tables in a tracking store's database (its engine and transaction helper)."""


__all__ = ["RegistryStore"]
