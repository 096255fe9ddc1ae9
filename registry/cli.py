"""``automl models ...``: list, show, register, alias, stage and describe registered models."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
from typing import Any

from registry.cli_approvals import register_approval_commands
from registry.entities import ModelVersion, RegisteredModel
from registry.fluent import get_client


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``models`` command and its subcommands to the ``automl`` parser."""
    models = subparsers.add_parser(
        "models", help="model registry: versions, aliases, stages, descriptions"
    )
    sub = models.add_subparsers(dest="models_command", metavar="SUBCOMMAND", required=True)

    p = sub.add_parser("list", help="list registered models (or versions with --versions)")
    p.add_argument("--filter", default=None, help="e.g. \"name LIKE 'churn%%'\"")
    p.add_argument("--versions", action="store_true", help="list model versions instead")
    p.add_argument("--max-results", type=int, default=100)
    p.add_argument("--deleted", action="store_true", help="include soft-deleted entries")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=_list)

    p = sub.add_parser("show", help="a model (versions, aliases) or one version with history")
    p.add_argument("name")
    p.add_argument("version", nargs="?", default=None, help="version number, or @alias")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_show)

    p = sub.add_parser("register", help="register runs:/<run_id>/model as a new version")
    p.add_argument("model_uri")
    p.add_argument("name")
    p.add_argument("--description", default=None)
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--user", default=None)
    p.set_defaults(handler=_register)

    p = sub.add_parser("alias", help="point an alias at a version (or --delete it)")
    p.add_argument("name")
    p.add_argument("alias")
    p.add_argument("version", nargs="?", default=None)
    p.add_argument("--delete", action="store_true", help="remove the alias")
    _add_history_arguments(p)
    p.set_defaults(handler=_alias)

    p = sub.add_parser("stage", help="move a version to None/Staging/Production/Archived")
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("stage")
    p.add_argument(
        "--archive-existing",
        action="store_true",
        help="archive the other versions currently in that stage",
    )
    _add_history_arguments(p)
    p.set_defaults(handler=_stage)

    p = sub.add_parser("describe", help="set the description of a model or of one version")
    p.add_argument("name")
    p.add_argument("description")
    p.add_argument("--version", default=None, help="describe this version instead of the model")
    p.set_defaults(handler=_describe)
    register_approval_commands(sub)


def _add_history_arguments(parser: argparse.ArgumentParser) -> None:
    """``--user`` and ``--comment``: who made a move and why, kept in the version history."""
    parser.add_argument("--user", default=None, help="who (default: your login)")
    parser.add_argument("--comment", default=None)


def _time(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _print_json(value: Any) -> None:
    def plain(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return dataclasses.asdict(obj)
        if isinstance(obj, list):
            return [plain(o) for o in obj]
        return obj

    print(json.dumps(plain(value), indent=2, default=str))


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _version_row(mv: ModelVersion) -> list[str]:
    return [
        mv.name,
        str(mv.version),
        mv.current_stage,
        ",".join(mv.aliases),
        mv.run_id,
        mv.status,
        _time(mv.creation_time),
    ]


_VERSION_HEADERS = ["NAME", "VERSION", "STAGE", "ALIASES", "RUN_ID", "STATUS", "CREATED"]


def _list(args: argparse.Namespace) -> int:
    client = get_client()
    if args.versions:
        found = client.search_model_versions(
            args.filter, max_results=args.max_results, include_deleted=args.deleted
        )
        if args.json:
            _print_json(list(found))
        else:
            _table(_VERSION_HEADERS, [_version_row(v) for v in found])
        return 0
    models = client.search_registered_models(
        args.filter, max_results=args.max_results, include_deleted=args.deleted
    )
    if args.json:
        _print_json(list(models))
        return 0
    rows = []
    for m in models:
        newest = max((v.version for v in m.latest_versions), default=None)
        aliases = ",".join(f"{a}->v{v}" for a, v in m.aliases.items())
        rows.append(
            [
                m.name + (" (deleted)" if m.deleted else ""),
                "-" if newest is None else str(newest),
                aliases,
                (m.description or "").splitlines()[0] if m.description else "",
            ]
        )
    _table(["NAME", "LATEST", "ALIASES", "DESCRIPTION"], rows)
    return 0


def _show(args: argparse.Namespace) -> int:
    client = get_client()
    if args.version is None:
        model = client.get_registered_model(args.name)
        versions = client.search_model_versions(f"name = '{_quote(args.name)}'")
        if args.json:
            _print_json(
                {**dataclasses.asdict(model), "versions": [dataclasses.asdict(v) for v in versions]}
            )
            return 0
        _print_model(model)
        print()
        _table(_VERSION_HEADERS, [_version_row(v) for v in versions])
        return 0
    if args.version.startswith("@"):
        mv = client.get_model_version_by_alias(args.name, args.version[1:])
    else:
        mv = client.get_model_version(args.name, args.version)
    history = client.get_model_version_history(mv.name, mv.version)
    if args.json:
        _print_json({**dataclasses.asdict(mv), "history": [dataclasses.asdict(e) for e in history]})
        return 0
    print(f"{mv.name} version {mv.version}")
    print(f"  stage:       {mv.current_stage}")
    print(f"  aliases:     {', '.join(mv.aliases) or '-'}")
    print(f"  source:      {mv.source}")
    print(f"  status:      {mv.status}")
    print(f"  sha256:      {mv.sha256 or '-'}")
    print(f"  registered:  {_time(mv.creation_time)} by {mv.user_id or '?'}")
    print(f"  description: {mv.description or '-'}")
    for key, value in sorted(mv.tags.items()):
        print(f"  tag {key} = {value}")
    for key, value in sorted(mv.metrics.items()):
        print(f"  metric {key} = {value:.6g}")
    print("history:")
    for event in history:
        print(f"  {_time(event.timestamp)}  {event.user}: {event.describe()}")
    return 0


def _print_model(model: RegisteredModel) -> None:
    print(model.name + (" (deleted)" if model.deleted else ""))
    print(f"  description: {model.description or '-'}")
    print(f"  created:     {_time(model.creation_time)}")
    aliases = ", ".join(f"{a} -> v{v}" for a, v in model.aliases.items())
    print(f"  aliases:     {aliases or '-'}")
    for key, value in sorted(model.tags.items()):
        print(f"  tag {key} = {value}")


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _register(args: argparse.Namespace) -> int:
    tags = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--tag: expected KEY=VALUE, got {item!r}")
        tags[key] = value
    mv = get_client().register_model(
        args.model_uri, args.name, tags=tags, description=args.description, user=args.user
    )
    print(f"registered {mv.name} version {mv.version} from {mv.source}")
    return 0


def _alias(args: argparse.Namespace) -> int:
    client = get_client()
    if args.delete:
        if args.version is not None:
            raise ValueError("version: not used with --delete; drop it")
        client.delete_registered_model_alias(
            args.name, args.alias, user=args.user, comment=args.comment
        )
        print(f"removed alias {args.alias!r} of {args.name}")
        return 0
    if args.version is None:
        raise ValueError("version: give the version the alias should point to, or --delete")
    client.set_registered_model_alias(
        args.name, args.alias, args.version, user=args.user, comment=args.comment
    )
    print(f"{args.name}@{args.alias} -> version {int(args.version)}")
    return 0


def _stage(args: argparse.Namespace) -> int:
    mv = get_client().transition_model_version_stage(
        args.name,
        args.version,
        args.stage,
        archive_existing_versions=args.archive_existing,
        user=args.user,
        comment=args.comment,
    )
    print(f"{mv.name} version {mv.version} is now in stage {mv.current_stage}")
    return 0


def _describe(args: argparse.Namespace) -> int:
    client = get_client()
    if args.version is None:
        client.update_registered_model(args.name, args.description)
        print(f"updated the description of {args.name}")
    else:
        mv = client.update_model_version(args.name, args.version, args.description)
        print(f"updated the description of {mv.name} version {mv.version}")
    return 0
