"""Drift gate: each feature of a recent dataset against the training snapshot of the candidate's
run, by population stability index (every column) and two-sample Kolmogorov-Smirnov statistic
(numeric columns).

The snapshot is the ``data/training_data.parquet`` artifact automl's search logs on its parent
run (looked up on the version's run, then its parent); models logged by hand get one with
:func:`log_training_snapshot`, or pass ``reference=`` to the gate.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

import tracking
from automl.promotion import constants
from automl.promotion.checks import require_frame
from automl.promotion.context import PromotionContext
from registry.gates import AT_MOST, CheckResult, GateKind
from tracking.exceptions import InvalidInputError, ResourceNotFoundError


def population_stability_index(
    reference: pd.Series, current: pd.Series, bins: int = constants.PSI_BINS
) -> float:
    """PSI = sum((cur - ref) * ln(cur / ref)) over bins: reference quantile bins for numbers,
    categories otherwise; missing values are a bin of their own, empty bins count as 1e-4."""
    if _numeric(reference) and _numeric(current):
        ref = pd.to_numeric(reference, errors="coerce").astype("float64")
        cur = pd.to_numeric(current, errors="coerce").astype("float64")
        edges = np.unique(np.nanquantile(ref.to_numpy(), np.linspace(0, 1, bins + 1)))
        inner = edges[1:-1]
        ref_bins = np.where(ref.isna(), -1, np.searchsorted(inner, ref, side="right"))
        cur_bins = np.where(cur.isna(), -1, np.searchsorted(inner, cur, side="right"))
        ref_keys, cur_keys = pd.Series(ref_bins), pd.Series(cur_bins)
    else:
        ref_keys = reference.astype("object").where(reference.notna(), "<missing>").astype(str)
        cur_keys = current.astype("object").where(current.notna(), "<missing>").astype(str)
    ref_share = ref_keys.value_counts(normalize=True)
    cur_share = cur_keys.value_counts(normalize=True)
    keys = ref_share.index.union(cur_share.index)
    e = np.maximum(ref_share.reindex(keys, fill_value=0.0).to_numpy(), constants.PSI_EPSILON)
    a = np.maximum(cur_share.reindex(keys, fill_value=0.0).to_numpy(), constants.PSI_EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def ks_statistic(reference: pd.Series, current: pd.Series) -> tuple[float, float]:
    """Two-sample KS statistic and p-value of the non-missing values."""
    ref = pd.to_numeric(reference, errors="coerce").dropna().to_numpy(dtype="float64")
    cur = pd.to_numeric(current, errors="coerce").dropna().to_numpy(dtype="float64")
    if len(ref) == 0 or len(cur) == 0:
        return float("nan"), float("nan")
    result = stats.ks_2samp(ref, cur)
    return float(result.statistic), float(result.pvalue)


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def log_training_snapshot(
    run_id: str, frame: pd.DataFrame, *, tracking_uri: str | None = None
) -> None:
    """Record ``frame`` as the training snapshot of ``run_id`` (what the drift gate compares
    recent data with), as automl's search does for its runs."""
    require_frame(frame, "frame")
    client = tracking.TrackingClient(tracking_uri)
    folder, name = os.path.split(constants.SNAPSHOT_ARTIFACT)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name)
        frame.to_parquet(path, index=False)
        client.log_artifact(run_id, path, folder)


def training_snapshot(client: tracking.TrackingClient, run_id: str) -> pd.DataFrame | None:
    """The snapshot logged on ``run_id`` or on its parent run, or None."""
    seen = set()
    current: str | None = run_id
    while current is not None and current not in seen:
        seen.add(current)
        try:
            path = client.download_artifacts(current, constants.SNAPSHOT_ARTIFACT)
        except (ResourceNotFoundError, FileNotFoundError, OSError):
            path = None
        if path is not None and os.path.exists(path):
            return pd.read_parquet(path)
        current = client.get_run(current).info.parent_run_id
    return None


@dataclass(frozen=True)
class DriftGate:
    """PSI and KS of each column of ``data`` against ``reference`` (default: the candidate's
    training snapshot); fails a column whose PSI is above ``max_psi`` or whose KS statistic is
    above ``max_ks``. ``columns`` default: the candidate's input columns."""

    data: pd.DataFrame
    reference: pd.DataFrame | None = None
    columns: Sequence[str] | None = None
    max_psi: float = constants.DEFAULT_MAX_PSI
    max_ks: float = constants.DEFAULT_MAX_KS
    bins: int = constants.PSI_BINS

    def __post_init__(self) -> None:
        require_frame(self.data, "data")
        if self.reference is not None:
            require_frame(self.reference, "reference")
        for name in ("max_psi", "max_ks"):
            if not getattr(self, name) > 0:
                raise InvalidInputError(f"{name}: must be a number > 0")
        if not isinstance(self.bins, int) or self.bins < 2:
            raise InvalidInputError(f"bins: must be an integer >= 2, got {self.bins!r}")

    def run(self, ctx: PromotionContext) -> list[CheckResult]:
        reference = self.reference
        source = "reference"
        if reference is None:
            runs = tracking.TrackingClient(ctx.client.tracking_uri)
            reference = training_snapshot(runs, ctx.candidate.run_id)
            source = f"training snapshot of run {ctx.candidate.run_id}"
            if reference is None:
                raise InvalidInputError(
                    f"reference: version {ctx.candidate.version} of {ctx.name!r} has no training "
                    f"snapshot ({constants.SNAPSHOT_ARTIFACT}) on run {ctx.candidate.run_id} or "
                    "its parent; pass reference= or log one with log_training_snapshot()"
                )
        columns = self._columns(ctx, reference)
        out: list[CheckResult] = []
        for col in columns:
            ref, cur = reference[col], self.data[col]
            psi = population_stability_index(ref, cur, self.bins)
            out.append(
                CheckResult.compare(
                    GateKind.DRIFT, f"psi[{col}]", psi, self.max_psi, AT_MOST, f"vs {source}"
                )
            )
            if _numeric(ref) and _numeric(cur):
                ks, pvalue = ks_statistic(ref, cur)
                out.append(
                    CheckResult.compare(
                        GateKind.DRIFT,
                        f"ks[{col}]",
                        ks,
                        self.max_ks,
                        AT_MOST,
                        f"p-value {pvalue:.3g}",
                    )
                )
        return out

    def _columns(self, ctx: PromotionContext, reference: pd.DataFrame) -> list[str]:
        if self.columns is not None:
            wanted = list(self.columns)
        else:
            schema = ctx.input_schema(ctx.candidate)
            wanted = (
                [c["name"] for c in schema]
                if schema is not None
                else [c for c in self.data.columns if c in reference.columns]
            )
        for frame, argument in ((self.data, "data"), (reference, "reference")):
            missing = [c for c in wanted if c not in frame.columns]
            if missing:
                raise InvalidInputError(
                    f"{argument}: missing column(s) {missing} that the drift gate compares; "
                    "pass columns= to choose others"
                )
        if not wanted:
            raise InvalidInputError("columns: no column to compare between data and reference")
        return wanted
