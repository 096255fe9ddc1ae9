"""``automl models promote NAME VERSION --to production ...``: run the gates from a CI pipeline.

Prints the table of every check (figure, limit, pass/fail) and exits 1 when a check fails, so a
pipeline step fails with it. Added under ``registry``'s ``models`` command (the registry's CLI
does not know about ``automl``).
"""

from __future__ import annotations

import argparse
import sys

from automl.core.inputs import load_dataset
from automl.promotion import constants
from automl.promotion.checks import Gate, LatencyGate, MetricGate, SchemaGate
from automl.promotion.drift import DriftGate
from automl.promotion.promote import promote
from registry.gate_store import PromotionOutcome
from registry.gates import GateFailedError, MetricThreshold

MODELS_COMMAND = "models"


def _models_subcommands(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    models = subparsers.choices.get(MODELS_COMMAND)
    if models is None:
        raise RuntimeError("registry.cli must be registered before automl.promotion.cli")
    for action in models._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise RuntimeError("the 'models' command has no subcommands")


def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``promote`` under ``automl models``."""
    p = _models_subcommands(subparsers).add_parser(
        "promote", help="run promotion gates, then move (or request) an alias or stage"
    )
    p.add_argument("name")
    p.add_argument("version", type=int)
    p.add_argument("--to", default=constants.DEFAULT_TARGET, help="alias or stage")
    p.add_argument("--as", dest="user", default=None, help="who (default: your login)")
    p.add_argument("--comment", default=None)
    p.add_argument("--data", default=None, help="CSV/Parquet of recent rows for the gates")
    g = p.add_argument_group("metric gate (with --metric)")
    g.add_argument("--metric", default=None, help="e.g. accuracy, roc_auc, rmse")
    g.add_argument("--target-col", default=None, help="label column of --data")
    g.add_argument("--threshold", type=float, default=None, help="absolute limit")
    g.add_argument("--margin", type=float, default=None, help="largest worsening vs the baseline")
    g.add_argument("--min-absolute-change", type=float, default=None)
    g.add_argument("--min-relative-change", type=float, default=None)
    g = p.add_argument_group("drift gate (with --drift)")
    g.add_argument("--drift", action="store_true", help="PSI and KS per column vs training data")
    g.add_argument("--reference", default=None, help="default: the run's training snapshot")
    g.add_argument("--max-psi", type=float, default=constants.DEFAULT_MAX_PSI)
    g.add_argument("--max-ks", type=float, default=constants.DEFAULT_MAX_KS)
    g = p.add_argument_group("latency gate (with --max-p99-ms and/or --max-batch-p99-ms)")
    g.add_argument("--max-p99-ms", type=float, default=None, help="single-row p99 limit")
    g.add_argument("--max-batch-p99-ms", type=float, default=None, help="batch p99 limit")
    g.add_argument("--latency-calls", type=int, default=constants.LATENCY_CALLS)
    g.add_argument("--batch-rows", type=int, default=constants.LATENCY_BATCH_ROWS)
    g = p.add_argument_group("schema gate (with --schema)")
    g.add_argument("--schema", action="store_true", help="input schema vs the baseline's")
    g.add_argument("--allow-new-columns", action="store_true")
    g.add_argument("--allow-dtype-changes", action="store_true")
    p.set_defaults(handler=_promote)


def _gates(args: argparse.Namespace) -> list[Gate]:
    data = None if args.data is None else load_dataset(args.data)

    def need_data(flag: str):
        if data is None:
            raise ValueError(f"--data: {flag} needs a CSV/Parquet file of recent rows")
        return data

    gates: list[Gate] = []
    if args.metric is not None:
        frame = need_data("--metric")
        if args.target_col is None:
            raise ValueError("--target-col: --metric needs the label column of --data")
        limits = MetricThreshold(
            threshold=args.threshold,
            min_absolute_change=args.min_absolute_change,
            min_relative_change=args.min_relative_change,
            margin=args.margin,
        )
        gates.append(MetricGate(frame, args.target_col, args.metric, limits))
    features = None
    if data is not None:
        features = (
            data.drop(columns=[args.target_col], errors="ignore") if args.target_col else data
        )
    if args.drift:
        need_data("--drift")
        reference = None if args.reference is None else load_dataset(args.reference)
        gates.append(DriftGate(features, reference, max_psi=args.max_psi, max_ks=args.max_ks))
    if args.max_p99_ms is not None or args.max_batch_p99_ms is not None:
        need_data("--max-p99-ms/--max-batch-p99-ms")
        gates.append(
            LatencyGate(
                features,
                max_p99_single_row_ms=args.max_p99_ms,
                max_p99_batch_ms=args.max_batch_p99_ms,
                n_calls=args.latency_calls,
                batch_rows=args.batch_rows,
            )
        )
    if args.schema:
        gates.append(SchemaGate(args.allow_new_columns, args.allow_dtype_changes))
    if not gates:
        raise ValueError("no gate chosen: give --metric, --drift, --max-p99-ms or --schema")
    return gates


def _promote(args: argparse.Namespace) -> int:
    gates = _gates(args)
    try:
        result = promote(
            args.name, args.version, args.to, gates, user=args.user, comment=args.comment
        )
    except GateFailedError as err:
        print(err.report.table())
        print(f"report {err.report.id}: {len(err.report.failed)} check(s) failed", file=sys.stderr)
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(result.report.table())
    if result.outcome is PromotionOutcome.REQUESTED and result.request is not None:
        print(
            f"all checks passed (report {result.report.id}); {args.to!r} is protected: "
            f"request {result.request.id} is pending approval"
        )
    else:
        print(
            f"all checks passed (report {result.report.id}): {args.name} {args.to} -> "
            f"version {args.version}"
        )
    return 0
