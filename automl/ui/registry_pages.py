"""The registry page and its forms: aliases, stages, descriptions, and transition requests.

Every form is a POST carrying the page's CSRF token; ``--read-only`` hides the forms and refuses
the requests. Moves go through ``registry``'s own calls, so they are recorded in each version's
history exactly as the API records them (approvals with who decided and their comment).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

import registry
import tracking
from automl.ui import constants as C
from automl.ui.security import same_token
from registry import approvals


@dataclass(frozen=True)
class ModelRow:
    """One registered model as shown: its versions with their histories, and pending requests."""

    model: registry.RegisteredModel
    versions: list[tuple[registry.ModelVersion, list[registry.ModelVersionEvent]]]
    pending: list[approvals.TransitionRequest]


def registry_rows(models: registry.RegistryClient) -> list[ModelRow]:
    """Every model with its versions (one search for all of them) and pending requests."""
    by_name: dict[str, list[registry.ModelVersion]] = {}
    for version in models.search_model_versions(max_results=C.MAX_REGISTRY_VERSIONS):
        by_name.setdefault(version.name, []).append(version)
    uri = models.tracking_uri
    rows = []
    for model in models.search_registered_models(max_results=C.MAX_REGISTRY_MODELS):
        versions = [
            (v, models.get_model_version_history(v.name, v.version))
            for v in by_name.get(model.name, [])
        ]
        pending = approvals.list_transition_requests(
            model.name, approvals.RequestStatus.PENDING, tracking_uri=uri
        )
        rows.append(ModelRow(model, versions, pending))
    return rows


def _form_value(form: dict[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise HTTPException(400, f"{name}: required; fill it in and submit again")
    return value


def _request_id(form: dict[str, str]) -> int:
    text = _form_value(form, "request_id")
    if not text.isdigit():
        raise HTTPException(400, f"request_id: {text!r} is not a request number")
    return int(text)


def registry_routes(
    models: registry.RegistryClient, read_only: bool, page: Callable[..., Response]
) -> list[Route]:
    """Routes of the registry page (``page`` renders a template with the CSRF cookie)."""
    uri = models.tracking_uri

    def registry_page(request: Request) -> Response:
        if request.query_params:
            unknown = ", ".join(sorted(request.query_params))
            raise HTTPException(400, f"{unknown}: unknown query parameter")
        return page(
            request, "registry.html", rows=registry_rows(models), stages=registry.ALL_STAGES
        )

    def apply(action: str, form: dict[str, str]) -> None:
        name, version = form.get("name", ""), form.get("version", "")
        comment = form.get("comment", "").strip() or None
        if action == "alias":
            alias = _form_value(form, "alias")
            models.set_registered_model_alias(name, alias, version, user="ui", comment=comment)
        elif action == "stage":
            stage = _form_value(form, "stage")
            models.transition_model_version_stage(name, version, stage, user="ui", comment=comment)
        elif action == "description":
            models.update_model_version(name, version, form.get("description", ""))
        elif action == "approve":
            approvals.approve_transition_request(
                _request_id(form), comment, user=_form_value(form, "user"), tracking_uri=uri
            )
        elif action == "reject":
            approvals.reject_transition_request(
                _request_id(form), comment, user=_form_value(form, "user"), tracking_uri=uri
            )
        else:
            raise HTTPException(404, f"unknown action {action!r}")

    async def registry_action(request: Request) -> Response:
        if read_only:
            raise HTTPException(403, "the server runs with --read-only; changes are refused")
        body = (await request.body()).decode("utf-8", errors="replace")
        form = {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}
        if not same_token(form.get(C.CSRF_FIELD), request.cookies.get(C.CSRF_COOKIE) or "\0"):
            raise HTTPException(403, "csrf_token: missing or wrong; reload the page and retry")
        try:
            await run_in_threadpool(apply, request.path_params["action"], form)
        except (tracking.InvalidInputError, tracking.ResourceNotFoundError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from exc
        return RedirectResponse("/registry", 303)

    return [
        Route("/registry", registry_page),
        Route("/registry/{action}", registry_action, methods=["POST"]),
    ]
