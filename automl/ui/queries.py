"""What the pages read from the store, as typed records; query parameters checked first."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import registry
import tracking
from automl.ui import constants as C

LOWER_IS_BETTER = ("rmse", "mse", "mae", "log_loss", "mape", "smape", "mase", "loss")


class BadParams(ValueError):
    """Query parameters that cannot be used; ``names`` lists them."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


@dataclass(frozen=True)
class LeaderboardQuery:
    """The runs table's state, from the URL: filter, state, sort, page."""

    filter: str = ""
    state: str = ""
    order_by: str = ""
    ascending: bool = False
    page_size: int = C.DEFAULT_PAGE_SIZE
    page_token: str | None = None
    # Columns chosen in the column chooser ("metrics.<key>", ...); None: the default columns.
    columns: tuple[str, ...] | None = None

    def filter_string(self, parent_ids: Sequence[str] = ()) -> str:
        """The search filter: the user's, the state, and not the AutoML parent runs.

        Parents are left out by id (known from the header), which the store answers from the
        runs table alone, rather than with a tag subquery over every run."""
        parts = []
        if parent_ids:
            quoted = ", ".join(f"'{i}'" for i in parent_ids)
            parts.append(f"attributes.run_id NOT IN ({quoted})")
        if self.state:
            parts.append(f"tags.`{C.TAG_TRIAL_STATE}` = '{C.STATE_TAG_VALUES[self.state]}'")
        if self.filter.strip():
            parts.append(f"({self.filter})")
        return " and ".join(parts)

    def order(self) -> list[str]:
        if not self.order_by:
            return []
        return [f"{self.order_by} {'ASC' if self.ascending else 'DESC'}"]


_SORT_PREFIXES = ("metrics.", "params.", "tags.", "attributes.")


def parse_leaderboard_query(params: dict[str, str]) -> LeaderboardQuery:
    """``LeaderboardQuery`` from query parameters; ``BadParams`` naming each bad one."""
    allowed = {"filter", "state", "sort", "dir", "page_size", "page_token", C.COLUMNS_PARAM}
    problems = {k: "unknown query parameter" for k in params if k not in allowed}
    state = params.get("state", "")
    if state and state not in C.RUN_STATES:
        problems["state"] = f"{state!r} is not one of {', '.join(C.RUN_STATES)}"
    sort = params.get("sort", "")
    if sort and (not sort.startswith(_SORT_PREFIXES) or "`" in sort or len(sort) > 300):
        problems["sort"] = "expected metrics.<key>, params.<key>, tags.<key> or attributes.<key>"
    direction = params.get("dir", "desc")
    if direction not in ("asc", "desc"):
        problems["dir"] = "expected asc or desc"
    page_size = _int(params, "page_size", C.DEFAULT_PAGE_SIZE, problems)
    if "page_size" not in problems and page_size not in C.PAGE_SIZES:
        problems["page_size"] = f"expected one of {', '.join(map(str, C.PAGE_SIZES))}"
    columns = None
    if C.COLUMNS_PARAM in params:
        columns = tuple(c for c in params[C.COLUMNS_PARAM].split(",") if c)
        wrong = [c for c in columns if not c.startswith(C.COLUMN_PREFIXES)]
        if wrong:
            problems[C.COLUMNS_PARAM] = (
                f"{', '.join(map(repr, wrong))}: expected metrics.<key>, params.<key> or "
                "tags.<key>, separated by commas"
            )
    if problems:
        raise BadParams(problems)
    if sort:
        entity, _, key = sort.partition(".")
        sort = f"{entity}.`{key}`"
    return LeaderboardQuery(
        params.get("filter", ""),
        state,
        sort,
        direction == "asc",
        page_size,
        params.get("page_token") or None,
        columns,
    )


@dataclass(frozen=True)
class Columns:
    """The runs table's columns: every key the page's runs have, and those shown."""

    available: dict[str, list[str]]  # "metrics" / "params" / "tags" -> sorted keys
    shown: dict[str, list[str]]

    @property
    def chosen(self) -> list[str]:
        return [f"{kind}.{key}" for kind, keys in self.shown.items() for key in keys]


def table_columns(runs: list[tracking.Run], chosen: tuple[str, ...] | None) -> Columns:
    """Columns of ``runs``; by default all metrics and params (tags only when chosen)."""
    available = {
        "metrics": sorted({k for r in runs for k in r.data.metrics}),
        "params": sorted({k for r in runs for k in r.data.params}),
        "tags": sorted({k for r in runs for k in r.data.tags}),
    }
    if chosen is None:
        shown = {"metrics": available["metrics"], "params": available["params"], "tags": []}
    else:
        wanted = set(chosen)
        shown = {
            kind: [k for k in keys if f"{kind}.{k}" in wanted] for kind, keys in available.items()
        }
    return Columns(available, shown)


@dataclass(frozen=True)
class TableRow:
    """One run of the runs table, its cells already formatted (the template only escapes)."""

    run_id: str
    name: str
    state: str
    metrics: list[str]
    texts: list[str]  # params then tags


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.5g}"


def table_rows(runs: list[tracking.Run], columns: Columns) -> list[TableRow]:
    """The shown cells of ``runs``, built in Python once rather than looked up per template cell."""
    metric_keys, param_keys, tag_keys = (columns.shown[k] for k in ("metrics", "params", "tags"))
    rows = []
    for run in runs:
        metrics, params, tags = run.data.metrics, run.data.params, run.data.tags
        state = tags.get(C.TAG_TRIAL_STATE)
        rows.append(
            TableRow(
                run.info.run_id,
                run.info.run_name or "",
                C.STATE_LABELS.get(state, state) if state else run.info.status,
                [_fmt(metrics.get(k)) for k in metric_keys],
                [params.get(k, "") for k in param_keys] + [tags.get(k, "") for k in tag_keys],
            )
        )
    return rows


def link(params: Mapping[str, str], **changes: str | None) -> str:
    """``params`` with ``changes`` applied (None removes one), as a query string."""
    merged = {k: v for k, v in params.items() if k != "page_token"}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return urlencode({k: v for k, v in merged.items() if v != "" or k == C.COLUMNS_PARAM})


def _int(params: dict[str, str], name: str, default: int, problems: dict[str, str]) -> int:
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        problems[name] = f"{text!r} is not an integer"
        return default


@dataclass
class ExperimentHeader:
    """The AutoML parent run's summary shown above the leaderboard."""

    experiment: tracking.Experiment
    parent: tracking.Run | None
    task: str = ""
    primary_metric: str = ""
    metric_key: str = ""
    greater_is_better: bool = True
    best_run_id: str = ""
    alerts: list[dict] = field(default_factory=list)
    wall_seconds: float | None = None
    validation: str = ""
    registered: list[registry.ModelVersion] = field(default_factory=list)
    notebooks: list[str] = field(default_factory=list)  # every notebook of the parent run
    best_notebook: str = ""  # the best trial's own notebook (a path in its artifacts)
    exploration_notebook: str = ""  # the data exploration notebook (in the parent's artifacts)
    parent_ids: list[str] = field(default_factory=list)  # every AutoML parent run (latest first)

    @property
    def running(self) -> bool:
        return self.parent is not None and self.parent.info.status == "RUNNING"


def metric_key_for(primary_metric: str, metric_names: set[str]) -> str:
    """The validation metric key a primary metric is logged under (``f1`` -> ``val_f1_score``)."""
    for name in (f"val_{primary_metric}", f"val_{primary_metric}_score"):
        if name in metric_names:
            return name
    return f"val_{primary_metric}" if primary_metric else ""


def _read_json(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def summary_header(
    experiment: tracking.Experiment, parent: tracking.Run | None
) -> ExperimentHeader:
    """What the parent run's own tags and metrics say (no artifact or registry reads)."""
    header = ExperimentHeader(experiment, parent)
    if parent is None:
        return header
    tags = parent.data.tags
    header.task = tags.get(C.TAG_TASK, "")
    header.primary_metric = tags.get(C.TAG_PRIMARY_METRIC, "")
    header.metric_key = metric_key_for(header.primary_metric, set(parent.data.metrics))
    header.greater_is_better = not any(s in header.primary_metric for s in LOWER_IS_BETTER)
    header.best_run_id = tags.get(C.TAG_BEST_RUN_ID, "")
    return header


def experiment_header(
    client: tracking.TrackingClient, models: registry.RegistryClient, experiment_id: str
) -> ExperimentHeader:
    """Header of an experiment (``ResourceNotFoundError`` for an unknown id)."""
    experiment = client.get_experiment(experiment_id)
    parents = client.search_runs(
        [experiment_id], f"tags.`{C.TAG_ROLE}` = '{C.ROLE_PARENT}'", max_results=C.MAX_PARENTS
    )
    header = summary_header(experiment, parents[0] if parents else None)
    header.parent_ids = [p.info.run_id for p in parents]
    if header.parent is None:
        return header
    run = header.parent
    root = run.info.artifact_uri
    alerts = _read_json(os.path.join(root, "automl", "alerts.json"))
    if isinstance(alerts, dict):
        header.alerts = [a for a in alerts.get("alerts", []) if isinstance(a, dict)]
    times = _read_json(os.path.join(root, "automl", "time.json"))
    if isinstance(times, dict) and isinstance(times.get("wall"), int | float):
        header.wall_seconds = float(times["wall"])
    header.validation = _validation(
        _read_json(os.path.join(root, "automl", "plan.json")), run.data.params, header.alerts
    )
    header.notebooks = [f.path for f in client.list_artifacts(run.info.run_id, "notebooks")]
    header.exploration_notebook = next(
        (p for p in header.notebooks if os.path.basename(p) == C.EXPLORATION_NOTEBOOK), ""
    )
    if header.best_run_id:
        header.best_notebook = next(
            (
                f.path
                for f in client.list_artifacts(header.best_run_id, "notebooks")
                if f.path.endswith(".ipynb")
            ),
            "",
        )
    # The search registers its winner from the parent run (a refit on every row) or from the
    # best trial itself: either run id may be a version's source.
    sources = ", ".join(f"'{i}'" for i in {run.info.run_id, header.best_run_id} if i)
    try:
        header.registered = list(models.search_model_versions(f"run_id IN ({sources})"))
    except (tracking.TrackingError, ValueError):
        header.registered = []
    return header


def _validation(plan: object, params: Mapping[str, str], alerts: list[dict]) -> str:
    """The validation scheme as the search recorded it: the tabular plan's scheme (and folds),
    or a forecast's rolling-origin backtest over its horizon; then the search's own note."""
    parts = []
    if isinstance(plan, dict) and plan.get("validation"):
        scheme = str(plan["validation"])
        if plan.get("n_folds") and scheme != "holdout":
            scheme += f", {plan['n_folds']} folds"
        for key in ("time_col", "split_col"):
            if plan.get(key):
                scheme += f", {key} {plan[key]}"
        parts.append(scheme)
    elif C.PARAM_HORIZON in params:
        parts.append(f"rolling-origin backtest, horizon {params[C.PARAM_HORIZON]}")
    parts += [str(a.get("message", "")) for a in alerts if a.get("kind") == "validation"]
    return "; ".join(parts)
