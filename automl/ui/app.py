"""The Starlette application: pages over one tracking store and its registry."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import registry
import tracking
from automl.features.lineage import RunLineage, run_lineage
from automl.ui import constants as C
from automl.ui import reads
from automl.ui.notebook_html import render_notebook
from automl.ui.queries import (
    BadParams,
    experiment_header,
    link,
    parse_leaderboard_query,
    summary_header,
    table_columns,
    table_rows,
)
from automl.ui.registry_pages import registry_routes
from automl.ui.security import PathRefused, confined_path, new_token, same_token


@dataclass(frozen=True)
class UIConfig:
    """What one server shows and allows."""

    tracking_uri: str
    read_only: bool = False
    token: str | None = None
    refresh_seconds: float = C.REFRESH_SECONDS


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("automl.ui", "templates"),
        autoescape=select_autoescape(["html"], default=True),
    )
    env.filters["fmt"] = lambda v: f"{v:.5g}" if isinstance(v, float) else ("" if v is None else v)
    env.filters["when"] = _when
    env.globals["link"] = link
    return env


def _when(millis: int | None) -> str:
    """An epoch-milliseconds time as UTC text (``2026-12-02 15:33:46 UTC``)."""
    if millis is None:
        return ""
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@functools.lru_cache(maxsize=64)
def _notebook(path: str, mtime_ns: int, size: int) -> str:
    """The rendered notebook, cached until the file changes."""
    return render_notebook(path)


class _TokenMiddleware:
    """Every request must carry the access token (bearer header, cookie or ?token= once)."""

    def __init__(self, app, token: str) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        auth = request.headers.get("authorization", "")
        given = auth[7:] if auth.startswith("Bearer ") else request.cookies.get(C.TOKEN_COOKIE)
        from_query = request.query_params.get("token")
        if same_token(given, self.token):
            await self.app(scope, receive, send)
            return
        if same_token(from_query, self.token):
            response = RedirectResponse(request.url.remove_query_params("token"), 303)
            response.set_cookie(C.TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
            await response(scope, receive, send)
            return
        await HTMLResponse("401: a valid access token is required", 401)(scope, receive, send)


def create_app(config: UIConfig) -> Starlette:
    """The UI app for ``config.tracking_uri``."""
    client = tracking.TrackingClient(config.tracking_uri)
    models = registry.RegistryClient(client.tracking_uri)
    env = _env()

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        csrf = request.cookies.get(C.CSRF_COOKIE) or new_token()
        html = env.get_template(name).render(
            request=request, config=config, csrf=csrf, C=C, **context
        )
        response = HTMLResponse(html, status)
        response.set_cookie(C.CSRF_COOKIE, csrf, httponly=True, samesite="strict")
        return response

    def run_or_404(run_id: str) -> tracking.Run:
        try:
            return client.get_run(run_id)
        except (tracking.ResourceNotFoundError, tracking.InvalidInputError) as exc:
            raise HTTPException(404, f"run {run_id!r} not found") from exc

    def experiments(request: Request) -> Response:
        _only_params(request, "q")
        query = request.query_params.get("q", "")
        flt = f"name LIKE '%{query.replace(chr(39), chr(39) * 2)}%'" if query else None
        found = list(client.search_experiments(filter_string=flt, max_results=C.MAX_EXPERIMENTS))
        ids = [e.experiment_id for e in found]
        counts = reads.run_counts(client.engine, ids)
        parents: dict[str, tracking.Run] = {}
        if ids:  # one search for every experiment's parent run (the latest one wins)
            for run in client.search_runs(
                ids, f"tags.`{C.TAG_ROLE}` = '{C.ROLE_PARENT}'", max_results=50_000
            ):
                parents.setdefault(run.info.experiment_id, run)
        rows = []
        for exp in found:
            header = summary_header(exp, parents.get(exp.experiment_id))
            best = header.parent.data.metrics.get(header.metric_key) if header.parent else None
            rows.append((exp, header, best, counts.get(exp.experiment_id, 0)))
        return page(request, "experiments.html", rows=rows, q=query)

    def _leaderboard_context(request: Request, experiment_id: str) -> dict:
        try:
            header = experiment_header(client, models, experiment_id)
        except (tracking.ResourceNotFoundError, tracking.InvalidInputError) as exc:
            raise HTTPException(404, f"experiment {experiment_id!r} not found") from exc
        query = parse_leaderboard_query(dict(request.query_params))
        if not query.order_by and header.metric_key:
            query = replace(
                query,
                order_by=f"metrics.`{header.metric_key}`",
                ascending=not header.greater_is_better,
            )
        error = ""
        runs: list[tracking.Run] = []
        next_token = None
        try:
            page_runs = client.search_runs(
                [experiment_id],
                query.filter_string(header.parent_ids),
                max_results=query.page_size,
                order_by=query.order(),
                page_token=query.page_token,
            )
            runs, next_token = list(page_runs), page_runs.token
        except tracking.FilterSyntaxError as exc:
            error = str(exc)
        except tracking.InvalidInputError as exc:
            if query.page_token and str(exc).startswith("page_token"):  # not the filter's fault
                raise BadParams({"page_token": str(exc).partition(": ")[2]}) from exc
            error = str(exc)
        columns = table_columns(runs, query.columns)
        best = None
        if header.metric_key:
            best = reads.best_series(
                client.engine, experiment_id, header.metric_key, header.greater_is_better
            )
        return dict(
            header=header,
            best_series=best,
            query=query,
            runs=runs,
            next_token=next_token,
            error=error,
            columns=columns,
            rows=table_rows(runs, columns),
            params=dict(request.query_params),
            refresh_seconds=config.refresh_seconds,
        )

    def leaderboard(request: Request) -> Response:
        context = _leaderboard_context(request, request.path_params["experiment_id"])
        return page(request, "leaderboard.html", **context)

    def leaderboard_table(request: Request) -> Response:
        context = _leaderboard_context(request, request.path_params["experiment_id"])
        return page(request, "_table.html", **context)

    def run_page(request: Request) -> Response:
        run = run_or_404(request.path_params["run_id"])
        _only_params(request, "path", "notebook")
        series = reads.histories(client.engine, [run.info.run_id])[run.info.run_id]
        root = run.info.artifact_uri
        folder = request.query_params.get("path", "")
        try:
            listing = client.list_artifacts(run.info.run_id, folder or None)
        except tracking.InvalidInputError as exc:
            raise HTTPException(400, f"path: {exc}") from exc
        plots = [f.path for f in client.list_artifacts(run.info.run_id, "plots")]
        shap = [f.path for f in client.list_artifacts(run.info.run_id, "shap")]
        notebooks = [
            f.path
            for f in client.list_artifacts(run.info.run_id, "notebooks")
            if f.path.endswith(".ipynb")
        ]
        shown = request.query_params.get("notebook") or (notebooks[0] if notebooks else "")
        if shown and shown not in notebooks:
            raise HTTPException(
                400, f"notebook: {shown!r} is not one of this run's notebooks ({len(notebooks)})"
            )
        notebook_html = None
        if shown:
            try:
                path = confined_path(root, shown)
                stat = os.stat(path)
                notebook_html = _notebook(path, stat.st_mtime_ns, stat.st_size)
            except (ValueError, OSError) as exc:
                notebook_html = f"notebook could not be rendered: {exc}"
        lineage, lineage_error = _feature_lineage(client, run.info.run_id)
        return page(
            request,
            "run.html",
            run=run,
            lineage=lineage,
            lineage_error=lineage_error,
            series=series,
            listing=listing,
            folder=folder,
            plots=plots,
            shap=shap,
            notebooks=notebooks,
            notebook=shown,
            notebook_html=notebook_html,
        )

    def artifact(request: Request) -> Response:
        run = run_or_404(request.path_params["run_id"])
        relative = request.path_params["path"]
        try:
            target = confined_path(run.info.artifact_uri, relative)
        except PathRefused as exc:
            raise HTTPException(400, f"path: {exc}") from exc
        if not os.path.isfile(target):
            raise HTTPException(404, f"artifact {relative!r} not found")
        inline = target.endswith((".png", ".jpg", ".svg", ".csv", ".json", ".txt"))
        return FileResponse(
            target,
            filename=os.path.basename(target),
            content_disposition_type="inline" if inline else "attachment",
            headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
        )

    def compare(request: Request) -> Response:
        _only_params(request, "run", "history")
        ids = [i for i in request.query_params.getlist("run") if i]
        if not C.COMPARE_MIN_RUNS <= len(ids) <= C.COMPARE_MAX_RUNS:
            raise HTTPException(
                400,
                f"run: pick {C.COMPARE_MIN_RUNS} to {C.COMPARE_MAX_RUNS} runs (got {len(ids)})",
            )
        runs = _runs_by_id(client, ids)
        param_keys = sorted({k for r in runs for k in r.data.params})
        metric_keys = sorted({k for r in runs for k in r.data.metrics})
        # Overlaid histories of the chosen metrics (?history=key, repeatable; default the first
        # validation metric): one history read per run and key, not per run and every metric.
        chosen = (
            request.query_params.getlist("history")
            or [next((k for k in metric_keys if k.startswith("val_")), metric_keys[0])]
            if metric_keys
            else []
        )
        unknown = [k for k in chosen if k not in metric_keys]
        if unknown:
            raise HTTPException(400, f"history: no run logged {', '.join(map(repr, unknown))}")
        histories = reads.histories(client.engine, ids, chosen)
        runs_json = [
            {
                "id": r.info.run_id,
                "name": r.info.run_name,
                "params": r.data.params,
                "metrics": r.data.metrics,
                "histories": {s.key: s.to_json() for s in histories[r.info.run_id]},
            }
            for r in runs
        ]
        table = [(f"params.{k}", [r.data.params.get(k) for r in runs]) for k in param_keys] + [
            (f"metrics.{k}", [r.data.metrics.get(k) for r in runs]) for k in metric_keys
        ]
        table_rows = [(label, vals, len({repr(v) for v in vals}) > 1) for label, vals in table]
        return page(
            request,
            "compare.html",
            table_rows=table_rows,
            runs_json=runs_json,
            runs=runs,
            param_keys=param_keys,
            metric_keys=metric_keys,
            histories=histories,
        )

    async def error_page(request: Request, exc: HTTPException) -> Response:
        return page(
            request,
            "error.html",
            status=exc.status_code,
            status_code=exc.status_code,
            detail=exc.detail,
        )

    async def bad_params(request: Request, exc: BadParams) -> Response:
        return page(request, "error.html", status=400, status_code=400, detail=str(exc))

    routes = [
        Route("/", experiments),
        Route("/experiments/{experiment_id}", leaderboard),
        Route("/experiments/{experiment_id}/table", leaderboard_table),
        Route("/runs/{run_id}", run_page),
        Route("/runs/{run_id}/artifacts/{path:path}", artifact),
        Route("/compare", compare),
        *registry_routes(models, config.read_only, page),
        Mount("/static", StaticFiles(packages=[("automl.ui", "static")]), name="static"),
    ]
    middleware = [Middleware(_TokenMiddleware, token=config.token)] if config.token else []
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: error_page, BadParams: bad_params},
    )


def _only_params(request: Request, *allowed: str) -> None:
    """400 naming every query parameter the page does not take."""
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise HTTPException(400, f"{', '.join(unknown)}: unknown query parameter")


def _feature_lineage(
    client: tracking.TrackingClient, run_id: str
) -> tuple[RunLineage | None, str | None]:
    """The feature tables the run's training set came from, or why its record is unreadable
    (shown on the page instead of failing it)."""
    try:
        return run_lineage(client, run_id), None
    except (tracking.InvalidInputError, tracking.ResourceNotFoundError, OSError) as exc:
        return None, str(exc)


def _runs_by_id(client: tracking.TrackingClient, ids: list[str]) -> list[tracking.Run]:
    """The runs ``ids`` in that order, in one search (404 naming any unknown id)."""
    if any(not i.isalnum() for i in ids):
        raise HTTPException(400, "run: run ids are hexadecimal strings")
    experiments = [e.experiment_id for e in client.search_experiments(max_results=50_000)]
    quoted = ", ".join(f"'{i}'" for i in ids)
    found = {
        r.info.run_id: r
        for r in client.search_runs(
            experiments, f"attributes.run_id IN ({quoted})", max_results=len(ids)
        )
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise HTTPException(404, f"run: {', '.join(missing)} not found")
    return [found[i] for i in ids]
