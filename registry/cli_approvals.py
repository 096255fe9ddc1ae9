"""``automl models request | approve | reject | cancel | requests | protect | unprotect |
gate-reports``: transition requests, protected targets and stored gate reports from the shell."""

from __future__ import annotations

import argparse

from registry import approvals, gate_store, protection
from registry.gates import render_table


def register_approval_commands(sub: argparse._SubParsersAction) -> None:
    """Add the transition-request subcommands under ``automl models``."""
    p = sub.add_parser("request", help="ask for an alias or stage to move to a version")
    p.add_argument("name")
    p.add_argument("version", type=int)
    p.add_argument("--to", required=True, help="alias or stage, e.g. production")
    p.add_argument("--comment", default=None)
    p.add_argument("--as", dest="user", default=None, help="who (default: your login)")
    p.set_defaults(handler=_request)
    for verb in ("approve", "reject"):
        p = sub.add_parser(verb, help=f"{verb} a pending transition request")
        p.add_argument("request_id", type=int)
        p.add_argument("--comment", default=None)
        p.add_argument("--as", dest="user", default=None, help="who (default: your login)")
        p.set_defaults(handler=_approve if verb == "approve" else _reject)
    p = sub.add_parser("cancel", help="withdraw your own pending transition request")
    p.add_argument("request_id", type=int)
    p.add_argument("--as", dest="user", default=None, help="who (default: your login)")
    p.set_defaults(handler=_cancel)
    for verb in ("protect", "unprotect"):
        p = sub.add_parser(verb, help=f"{verb} aliases/stages of a model ('*': every model)")
        p.add_argument("name")
        p.add_argument("targets", nargs="+", metavar="TARGET", help="e.g. production Production")
        p.set_defaults(handler=_protect if verb == "protect" else _unprotect)
    p = sub.add_parser("gate-reports", help="stored promotion gate reports of a model/version")
    p.add_argument("name")
    p.add_argument("version", nargs="?", type=int, default=None)
    p.set_defaults(handler=_gate_reports)
    p = sub.add_parser("requests", help="list a model's transition requests")
    p.add_argument("name")
    p.add_argument("--status", default=None, choices=[s.value for s in approvals.RequestStatus])
    p.set_defaults(handler=_requests)


def _request(args: argparse.Namespace) -> int:
    req = approvals.request_transition(
        args.name, args.version, args.to, args.comment, user=args.user
    )
    print(f"request {req.id}: {args.name} {args.to} -> version {req.version} (pending)")
    return 0


def _approve(args: argparse.Namespace) -> int:
    req = approvals.approve_transition_request(args.request_id, args.comment, user=args.user)
    print(f"request {req.id} approved by {req.decided_by}: {req.target} -> version {req.version}")
    return 0


def _reject(args: argparse.Namespace) -> int:
    req = approvals.reject_transition_request(args.request_id, args.comment, user=args.user)
    print(f"request {req.id} rejected by {req.decided_by}")
    return 0


REQUEST_COLUMNS = (
    "ID",
    "VERSION",
    "TO",
    "STATUS",
    "REQUESTED_BY",
    "COMMENT",
    "DECIDED_BY",
    "DECISION",
)


def _requests(args: argparse.Namespace) -> int:
    print("\t".join(REQUEST_COLUMNS))
    for r in approvals.list_transition_requests(args.name, args.status):
        row = (r.id, r.version, r.target, r.status.value, r.requested_by, r.request_comment)
        decided = (r.decided_by, r.decision_comment)
        print("\t".join("-" if v is None else str(v) for v in (*row, *decided)))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    req = approvals.cancel_transition_request(args.request_id, user=args.user)
    print(f"request {req.id} cancelled by {req.decided_by}")
    return 0


def _protect(args: argparse.Namespace) -> int:
    protection.protect(args.name, args.targets)
    print(f"protected {', '.join(args.targets)} of {args.name}")
    return 0


def _unprotect(args: argparse.Namespace) -> int:
    protection.unprotect(args.name, args.targets)
    left = protection.list_protected(args.name)
    print(f"unprotected {', '.join(args.targets)} of {args.name}; still protected: {left or '-'}")
    return 0


def _gate_reports(args: argparse.Namespace) -> int:
    for report in gate_store.get_gate_reports(args.name, args.version):
        verdict = "passed" if report.passed else "FAILED"
        print(
            f"report {report.id}: version {report.version} -> {report.target} {verdict} "
            f"(baseline {report.baseline_version}, by {report.user})"
        )
        print(render_table(report.checks))
        print()
    return 0
