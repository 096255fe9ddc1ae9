"""``automl runs list | show | search``: readable tables of the tracking store."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from typing import Any

from tracking.client import TrackingClient
from tracking.entities import Run, ViewType
from tracking.exceptions import ResourceNotFoundError
from tracking.filters import parse_filter, parse_order_by

_MAX_CELL = 40


def register_commands(subparsers: Any) -> None:
    """Add the ``runs`` command group to the ``automl`` parser."""
    runs = subparsers.add_parser("runs", help="list, show and search tracked runs")
    sub = runs.add_subparsers(dest="runs_command", metavar="SUBCOMMAND", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "-e",
            "--experiment",
            action="append",
            help="experiment name or id (repeatable; default: all active experiments)",
        )
        parser.add_argument("-n", "--max-results", type=int, default=50, help="rows to show")
        parser.add_argument(
            "--view",
            choices=["active", "deleted", "all"],
            default="active",
            help="which runs by lifecycle stage",
        )
        parser.add_argument(
            "-c",
            "--columns",
            default="",
            help="extra comma-separated columns, e.g. metrics.val_f1_score,params.family",
        )
        parser.add_argument("-o", "--order-by", action="append", help="e.g. 'metrics.rmse ASC'")

    listing = sub.add_parser("list", help="most recent runs")
    common(listing)
    listing.set_defaults(handler=_list)

    search = sub.add_parser("search", help="runs matching an MLflow-style filter")
    search.add_argument(
        "filter", help="e.g. \"metrics.val_f1_score > 0.9 and params.model = 'lgbm'\""
    )
    common(search)
    search.set_defaults(handler=_search)

    show = sub.add_parser("show", help="one run: info, params, metrics, tags, artifacts")
    show.add_argument("run_id")
    show.set_defaults(handler=_show)


def _time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _duration(run: Run) -> str:
    if run.info.end_time is None:
        return "-"
    seconds = (run.info.end_time - run.info.start_time) / 1000
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}min"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Plain-text table with aligned columns."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _experiment_ids(client: TrackingClient, wanted: list[str] | None) -> dict[str, str]:
    if not wanted:
        return {e.experiment_id: e.name for e in client.search_experiments(max_results=50_000)}
    result = {}
    for item in wanted:
        experiment = client.get_experiment_by_name(item)
        if experiment is None and item.isdigit():
            experiment = client.get_experiment(item)
        if experiment is None:
            raise ResourceNotFoundError(
                f"--experiment {item!r}: no experiment with that name or id"
            )
        result[experiment.experiment_id] = experiment.name
    return result


def _value(run: Run, column: str) -> Any:
    prefix, _, key = column.partition(".")
    source = {"metrics": run.data.metrics, "params": run.data.params, "tags": run.data.tags}
    if prefix in source:
        return source[prefix].get(key)
    return getattr(run.info, column, None)


def _referenced(filter_string: str, order_by: list[str] | None) -> list[str]:
    columns: list[str] = []

    def visit(node: Any) -> None:
        if node is None:
            return
        if hasattr(node, "items"):
            for item in node.items:
                visit(item)
            return
        ident = node.ident
        if ident.entity != "attribute":
            columns.append(f"{ident.entity}s.{ident.key}")

    visit(parse_filter(filter_string))
    for clause in parse_order_by(order_by):
        if clause.ident.entity != "attribute":
            columns.append(f"{clause.ident.entity}s.{clause.ident.key}")
    return list(dict.fromkeys(columns))


def _print_runs(args: argparse.Namespace, filter_string: str) -> int:
    client = TrackingClient()
    client.mark_dead_runs()
    experiments = _experiment_ids(client, args.experiment)
    view = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}
    runs = client.search_runs(
        list(experiments),
        filter_string,
        run_view_type=view[args.view],
        max_results=args.max_results,
        order_by=args.order_by,
    )
    extra = _referenced(filter_string, args.order_by)
    extra += [c.strip() for c in args.columns.split(",") if c.strip() and c.strip() not in extra]
    headers = ["run_id", "run_name", "experiment", "status", "started", "duration", *extra]
    rows = [
        [
            run.info.run_id,
            run.info.run_name,
            experiments.get(run.info.experiment_id, run.info.experiment_id),
            run.info.status,
            _time(run.info.start_time),
            _duration(run),
            *[_value(run, column) for column in extra],
        ]
        for run in runs
    ]
    if not rows:
        print("no runs found")
        return 0
    print(format_table(headers, rows))
    if runs.token is not None:
        print(f"(first {len(rows)} runs shown; use --max-results for more)")
    return 0


def _list(args: argparse.Namespace) -> int:
    return _print_runs(args, "")


def _search(args: argparse.Namespace) -> int:
    return _print_runs(args, args.filter)


def _show(args: argparse.Namespace) -> int:
    client = TrackingClient()
    run = client.get_run(args.run_id)
    info = run.info
    experiment = client.get_experiment(info.experiment_id)
    fields = [
        ("run_id", info.run_id),
        ("run_name", info.run_name),
        ("experiment", f"{experiment.name} (id {experiment.experiment_id})"),
        ("status", info.status),
        ("lifecycle_stage", info.lifecycle_stage),
        ("started", _time(info.start_time)),
        ("ended", _time(info.end_time)),
        ("duration", _duration(run)),
        ("parent_run_id", info.parent_run_id or "-"),
        ("artifact_uri", info.artifact_uri),
    ]
    width = max(len(name) for name, _ in fields)
    print("\n".join(f"{name.ljust(width)}  {value}" for name, value in fields))
    sections = [
        ("params", ["key", "value"], sorted(run.data.params.items())),
        ("metrics (latest)", ["key", "value"], sorted(run.data.metrics.items())),
        ("tags", ["key", "value"], sorted(run.data.tags.items())),
        (
            "artifacts",
            ["path", "size"],
            [
                (f.path + ("/" if f.is_dir else ""), "-" if f.file_size is None else f.file_size)
                for f in client.list_artifacts(info.run_id)
            ],
        ),
    ]
    for title, headers, rows in sections:
        print(f"\n{title}:")
        print(format_table(headers, rows) if rows else "  (none)")
    return 0
