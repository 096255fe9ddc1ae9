"""Module-level registry functions on the current tracking URI (``tracking.get_tracking_uri()``).

Each is the ``RegistryClient`` method of the same name called on ``get_client()``, with the
method's signature and docstring, so the two APIs cannot drift apart.
"""

from __future__ import annotations

import threading

from registry.client import RegistryClient
from tracking.method_functions import method_functions
from tracking.uri import get_tracking_uri

_clients: dict[str, RegistryClient] = {}
_lock = threading.Lock()


def get_client() -> RegistryClient:
    """The process's ``RegistryClient`` for the current tracking URI (one per URI)."""
    uri = get_tracking_uri()
    with _lock:
        client = _clients.get(uri)
        if client is None:
            client = _clients[uri] = RegistryClient(uri)
        return client


_on_current_client = method_functions(get_client, __name__)

register_model = _on_current_client(RegistryClient.register_model)
create_registered_model = _on_current_client(RegistryClient.create_registered_model)
get_registered_model = _on_current_client(RegistryClient.get_registered_model)
get_model_version = _on_current_client(RegistryClient.get_model_version)
get_latest_versions = _on_current_client(RegistryClient.get_latest_versions)
set_registered_model_alias = _on_current_client(RegistryClient.set_registered_model_alias)
delete_registered_model_alias = _on_current_client(RegistryClient.delete_registered_model_alias)
get_model_version_by_alias = _on_current_client(RegistryClient.get_model_version_by_alias)
transition_model_version_stage = _on_current_client(RegistryClient.transition_model_version_stage)
update_registered_model = _on_current_client(RegistryClient.update_registered_model)
update_model_version = _on_current_client(RegistryClient.update_model_version)
set_registered_model_tag = _on_current_client(RegistryClient.set_registered_model_tag)
delete_registered_model_tag = _on_current_client(RegistryClient.delete_registered_model_tag)
set_model_version_tag = _on_current_client(RegistryClient.set_model_version_tag)
delete_model_version_tag = _on_current_client(RegistryClient.delete_model_version_tag)
delete_registered_model = _on_current_client(RegistryClient.delete_registered_model)
restore_registered_model = _on_current_client(RegistryClient.restore_registered_model)
delete_model_version = _on_current_client(RegistryClient.delete_model_version)
restore_model_version = _on_current_client(RegistryClient.restore_model_version)
search_registered_models = _on_current_client(RegistryClient.search_registered_models)
search_model_versions = _on_current_client(RegistryClient.search_model_versions)
get_model_version_history = _on_current_client(RegistryClient.get_model_version_history)
load_model = _on_current_client(RegistryClient.load_model)
