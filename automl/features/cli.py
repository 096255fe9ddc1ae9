"""``automl features ...``: list tables, show one (versions, tags), lineage of a table or model."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from automl.features.lineage import model_version_features, table_lineage
from automl.features.store import FeatureStore


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``features`` command and its subcommands to the ``automl`` parser."""
    parser = subparsers.add_parser("features", help="feature tables: list, show, lineage")
    sub = parser.add_subparsers(dest="features_command", metavar="SUBCOMMAND", required=True)

    p = sub.add_parser("list", help="list feature tables")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_list)

    p = sub.add_parser("show", help="a table's keys, features, tags and versions")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_show)

    p = sub.add_parser(
        "lineage",
        help="runs and model versions that used a table, or (with --model NAME VERSION) the "
        "tables a model version was trained on",
    )
    p.add_argument("name", help="feature table, or registered model with --model")
    p.add_argument("version", nargs="?", default=None, help="model version (with --model)")
    p.add_argument("--model", action="store_true", help="NAME VERSION is a model version")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_lineage)


def _time(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000).isoformat(sep=" ", timespec="seconds")


def _list(args: argparse.Namespace) -> int:
    tables = FeatureStore().list_tables()
    if args.json:
        print(json.dumps([dataclasses.asdict(t) for t in tables], indent=2))
        return 0
    print(f"{'name':30} {'version':>7}  {'keys':24} {'timestamp':12} features")
    for t in tables:
        print(
            f"{t.name:30} {t.version:>7}  {','.join(t.primary_keys):24} "
            f"{','.join(t.timestamp_keys) or '-':12} {len(t.features)}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    store = FeatureStore()
    table = store.get_table(args.name)
    versions = store.list_versions(args.name)
    if args.json:
        data = dataclasses.asdict(table)
        data["versions"] = [dataclasses.asdict(v) for v in versions]
        print(json.dumps(data, indent=2))
        return 0
    print(f"table:       {table.name}")
    print(f"description: {table.description or ''}")
    print(f"keys:        {', '.join(table.primary_keys)}")
    print(f"timestamp:   {', '.join(table.timestamp_keys) or '-'}")
    print(f"features:    {', '.join(f'{c} ({d})' for c, d in table.features.items())}")
    print(f"tags:        {', '.join(f'{k}={v}' for k, v in table.tags.items())}")
    for v in versions:
        print(f"  v{v.version:<4} {v.mode:9} {v.num_rows:>12,} rows  {_time(v.creation_time)}")
    return 0


def _lineage(args: argparse.Namespace) -> int:
    store = FeatureStore()
    if args.model:
        if args.version is None:
            raise ValueError(
                "version: give the model version, e.g. automl features lineage --model churn 3"
            )
        spec = model_version_features(store, args.name, args.version)
        return _print_records(
            [] if spec is None else spec.lookups,
            args.json,
            f"{args.name} v{args.version} was not trained on a training set",
            lambda lk: (
                f"{lk.table_name} v{lk.table_version}  keys={','.join(lk.lookup_keys)}  "
                f"as_of={lk.timestamp_lookup_key or '-'}  features={','.join(lk.features)}"
            ),
        )

    def use_line(use: Any) -> str:
        models = ", ".join(f"{n} v{v}" for n, v in use.model_versions) or "(not registered)"
        return f"v{use.table_version}  run {use.run_id}  -> {models}"

    uses = table_lineage(store, args.name)
    return _print_records(uses, args.json, f"no run has trained on {args.name} yet", use_line)


def _print_records(items: list, as_json: bool, empty: str, line: Callable[[Any], str]) -> int:
    """Print ``items`` as JSON records or one ``line`` each (``empty`` when there are none)."""
    if as_json:
        print(json.dumps([dataclasses.asdict(item) for item in items], indent=2))
        return 0
    if not items:
        print(empty)
    for item in items:
        print(line(item))
    return 0
