"""Model registry on the tracking store: versions, aliases, stages, history.

MLflow's names: ``register_model("runs:/<run_id>/model", "churn")`` adds version 1, 2, ...;
``set_registered_model_alias("churn", "champion", 2)`` and
``load_model("models:/churn@champion")`` serve it; every stage transition and alias move is
kept in ``get_model_version_history``. Protected aliases/stages move only through approved
transition requests (``protect``, ``request_transition``, ``approve_transition_request``) or
passing promotion gates (``automl.promotion.promote``, whose reports ``get_gate_reports`` reads).
"""

from registry.approvals import (
    RequestStatus,
    StaleRequestError,
    TransitionRequest,
    approve_transition_request,
    cancel_transition_request,
    list_transition_requests,
    reject_transition_request,
    request_transition,
)
from registry.client import RegistryClient
from registry.entities import (
    ALL_STAGES,
    ModelVersion,
    ModelVersionEvent,
    RegisteredModel,
)
from registry.fluent import (
    create_registered_model,
    delete_model_version,
    delete_model_version_tag,
    delete_registered_model,
    delete_registered_model_alias,
    delete_registered_model_tag,
    get_client,
    get_latest_versions,
    get_model_version,
    get_model_version_by_alias,
    get_model_version_history,
    get_registered_model,
    load_model,
    register_model,
    restore_model_version,
    restore_registered_model,
    search_model_versions,
    search_registered_models,
    set_model_version_tag,
    set_registered_model_alias,
    set_registered_model_tag,
    transition_model_version_stage,
    update_model_version,
    update_registered_model,
)
from registry.gate_store import (
    PromotionOutcome,
    PromotionResult,
    get_gate_reports,
    get_target_version,
    record_promotion,
)
from registry.gates import (
    CheckResult,
    GateFailedError,
    GateKind,
    GateReport,
    MetricThreshold,
)
from registry.protection import ProtectedMoveError, list_protected, protect, unprotect
from registry.uris import parse_models_uri, resolve_models_uri

__all__ = [
    "ALL_STAGES",
    "CheckResult",
    "GateFailedError",
    "GateKind",
    "GateReport",
    "MetricThreshold",
    "ModelVersion",
    "ModelVersionEvent",
    "PromotionOutcome",
    "PromotionResult",
    "ProtectedMoveError",
    "RegisteredModel",
    "RegistryClient",
    "RequestStatus",
    "StaleRequestError",
    "TransitionRequest",
    "approve_transition_request",
    "cancel_transition_request",
    "create_registered_model",
    "delete_model_version",
    "delete_model_version_tag",
    "delete_registered_model",
    "delete_registered_model_alias",
    "delete_registered_model_tag",
    "get_client",
    "get_gate_reports",
    "get_latest_versions",
    "get_model_version",
    "get_model_version_by_alias",
    "get_model_version_history",
    "get_registered_model",
    "get_target_version",
    "list_protected",
    "list_transition_requests",
    "load_model",
    "parse_models_uri",
    "protect",
    "record_promotion",
    "register_model",
    "reject_transition_request",
    "request_transition",
    "resolve_models_uri",
    "restore_model_version",
    "restore_registered_model",
    "search_model_versions",
    "search_registered_models",
    "set_model_version_tag",
    "set_registered_model_alias",
    "set_registered_model_tag",
    "transition_model_version_stage",
    "unprotect",
    "update_model_version",
    "update_registered_model",
]
