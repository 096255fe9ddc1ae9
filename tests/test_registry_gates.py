"""Promotion gates through the public API (``automl.promotion.promote``, ``automl models
promote``) on real models logged in a real store (SQLite and PostgreSQL): each gate passing and
failing, the report stored on the version and in its history, nothing moved on failure, the
protected-target request, a baseline that moves while the checks run, and a model registered by
a real ``automl.classify`` run checked against the training snapshot that run recorded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from registry_fixtures import race, training_frame
from sklearn.dummy import DummyClassifier
from sklearn.metrics import accuracy_score
from sklearn.tree import DecisionTreeClassifier

import automl
import registry
import tracking
from automl.promotion import (
    DriftGate,
    GateFailedError,
    LatencyGate,
    MetricGate,
    MetricThreshold,
    PromotionOutcome,
    SchemaGate,
    log_training_snapshot,
    promote,
)
from registry import approvals, gate_store, protection
from tracking.exceptions import InvalidInputError

pytest_plugins = ["registry_fixtures"]


def _log(model: object, X: pd.DataFrame, snapshot: pd.DataFrame | None = None) -> str:
    with tracking.start_run() as run:
        info = tracking.log_model(model, artifact_path="model", input_example=X.head(3))
    if snapshot is not None:
        log_training_snapshot(run.info.run_id, snapshot)
    return info.model_uri


def _labelled(n: int, seed: int) -> pd.DataFrame:
    X, y = training_frame(n=n, seed=seed)
    return X.assign(label=y)


@pytest.fixture
def model(store: str) -> str:
    """Model ``m``: v1 a depth-2 tree (on ``production``), v2 a depth-3 tree, v3 a constant
    classifier, each logged with its training snapshot. The approvals, protection and gate
    tables are emptied (PostgreSQL reuses schemas between tests)."""
    X, y = training_frame(n=200, seed=0)
    for estimator in (
        DecisionTreeClassifier(max_depth=2, random_state=0),
        DecisionTreeClassifier(max_depth=3, random_state=0),
        DummyClassifier(strategy="constant", constant="no"),
    ):
        registry.register_model(_log(estimator.fit(X, y), X, X.assign(label=y)), "m")
    engine = registry.get_client().store.engine
    registry.get_gate_reports("m")  # creates the gate, approvals and protection tables
    registry.list_protected("m")
    with engine.begin() as conn:
        for table in (gate_store.reports_table, approvals.requests_table, protection.protected):
            conn.execute(sa.delete(table))
    registry.set_registered_model_alias("m", "production", 1)
    return store


def _accuracy(version: int, data: pd.DataFrame) -> float:
    loaded = registry.load_model(f"models:/m/{version}")
    return accuracy_score(data["label"], loaded.predict(data.drop(columns="label")))


def test_metric_gate_passes_moves_and_records_the_report(model: str) -> None:
    recent = _labelled(300, seed=7)
    gate = MetricGate(recent, "label", "accuracy", MetricThreshold(threshold=0.5, margin=0.05))
    result = promote("m", 2, "production", [gate], user="alice")
    assert result.outcome is PromotionOutcome.MOVED
    assert registry.get_model_version_by_alias("m", "production").version == 2
    checks = {c.check: c for c in result.report.checks}
    assert checks["accuracy"].value == pytest.approx(_accuracy(2, recent))
    against = checks["accuracy vs production (v1) (margin 0.05)"]
    assert against.threshold == pytest.approx(_accuracy(1, recent) - 0.05)
    assert result.report.baseline_version == 1 and result.report.passed
    stored = registry.get_gate_reports("m", 2)
    assert [r.id for r in stored] == [result.report.id] and stored[0].checks == result.report.checks
    history = registry.get_model_version_history("m", 2)
    events = [(e.event, e.user) for e in history]
    assert ("gates_passed", "alice") in events and ("alias_set", "alice") in events
    passed = next(e for e in history if e.event == "gates_passed")
    assert f"2/2 checks passed (report {result.report.id})" in (passed.comment or "")


def test_metric_gate_failure_refuses_the_move_and_keeps_the_figures(model: str) -> None:
    recent = _labelled(300, seed=7)
    gate = MetricGate(recent, "label", "accuracy", MetricThreshold(margin=0.05))
    before = registry.get_model_version("m", 3)
    with pytest.raises(GateFailedError) as caught:
        promote("m", 3, "production", [gate], user="alice")
    message = str(caught.value)
    assert "1 of 1 checks failed" in message
    assert f"measured {_accuracy(3, recent):.4g}" in message
    assert f"limit >= {_accuracy(1, recent) - 0.05:.4g}" in message
    assert registry.get_model_version_by_alias("m", "production").version == 1
    after = registry.get_model_version("m", 3)
    assert (after.tags, after.aliases, after.current_stage) == (
        before.tags,
        before.aliases,
        before.current_stage,
    )
    report = registry.get_gate_reports("m", 3)[0]
    assert not report.passed and report.checks == caught.value.report.checks
    events = [e.event for e in registry.get_model_version_history("m", 3)]
    assert "gates_failed" in events and "alias_set" not in events
    assert "FAIL" in caught.value.report.table()


def test_drift_gate_flags_a_shifted_column_against_the_training_snapshot(model: str) -> None:
    recent = training_frame(n=300, seed=11)[0]
    same = promote("m", 2, "production", [DriftGate(recent)])
    assert {c.check for c in same.report.checks} == {"psi[a]", "ks[a]", "psi[b]", "ks[b]"}
    assert same.report.passed
    shifted = recent.assign(a=recent["a"] + 3.0)
    with pytest.raises(GateFailedError) as caught:
        promote("m", 3, "production", [DriftGate(shifted)])
    failed = {c.check: c for c in caught.value.report.failed}
    assert set(failed) == {"psi[a]", "ks[a]"}
    assert failed["psi[a]"].value > 0.2 and failed["ks[a]"].value > 0.2
    assert "training snapshot of run" in failed["psi[a]"].detail
    assert registry.get_model_version_by_alias("m", "production").version == 2


def test_latency_gate_measures_the_loaded_model(model: str) -> None:
    rows = training_frame(n=50, seed=3)[0]
    loose = LatencyGate(rows, max_p99_single_row_ms=60_000, max_p99_batch_ms=60_000, n_calls=20)
    result = promote("m", 2, "staging", [loose])
    assert result.outcome is PromotionOutcome.MOVED
    assert all(c.value > 0 for c in result.report.checks)
    tight = LatencyGate(rows, max_p99_single_row_ms=1e-6, n_calls=20)
    with pytest.raises(GateFailedError, match=r"p99 single-row predict \(ms\): measured"):
        promote("m", 3, "staging", [tight])
    assert registry.get_model_version_by_alias("m", "staging").version == 2


def test_schema_gate_refuses_a_new_required_column_without_the_flag(model: str) -> None:
    X, y = training_frame(n=200, seed=0)
    wider = X.assign(c=np.arange(len(X), dtype="float64"))
    v4 = registry.register_model(_log(DecisionTreeClassifier().fit(wider, y), wider), "m")
    with pytest.raises(GateFailedError, match="required columns added: measured 1") as caught:
        promote("m", v4.version, "production", [SchemaGate()])
    added = next(c for c in caught.value.report.checks if c.check == "required columns added")
    assert "c" in added.detail and "allow_new_columns" in added.detail
    result = promote("m", v4.version, "production", [SchemaGate(allow_new_columns=True)])
    assert result.outcome is PromotionOutcome.MOVED
    assert registry.get_model_version_by_alias("m", "production").version == v4.version


def test_stage_target_and_every_gate_in_one_call(model: str) -> None:
    recent = _labelled(200, seed=5)
    gates = [
        MetricGate(recent, "label", "roc_auc", MetricThreshold(threshold=0.6)),
        DriftGate(recent.drop(columns="label")),
        LatencyGate(recent.drop(columns="label"), max_p99_batch_ms=60_000, n_calls=10),
        SchemaGate(),
    ]
    result = promote("m", 2, "Production", gates, comment="weekly retrain")
    kinds = {c.gate.value for c in result.report.checks}
    assert kinds == {"metric", "drift", "latency", "schema"}
    assert registry.get_model_version("m", 2).current_stage == "Production"
    stage = [e for e in registry.get_model_version_history("m", 2) if e.event == "stage_transition"]
    assert stage[-1].comment == "weekly retrain"


def test_protected_target_passing_gates_opens_a_request(model: str) -> None:
    registry.protect("m", ["production"])
    result = promote("m", 2, "production", [SchemaGate()], user="alice")
    assert result.outcome is PromotionOutcome.REQUESTED and result.request is not None
    assert result.request.status is registry.RequestStatus.PENDING
    assert registry.get_model_version_by_alias("m", "production").version == 1
    registry.approve_transition_request(result.request.id, "checked", user="bob")
    assert registry.get_model_version_by_alias("m", "production").version == 2
    events = [e.event for e in registry.get_model_version_history("m", 2)]
    assert events[-4:] == [
        "gates_passed",
        "transition_requested",
        "alias_set",
        "transition_approved",
    ]


def test_passing_gates_cannot_take_a_version_out_of_a_protected_stage(model: str) -> None:
    """Promoting a Production version to Staging moves Production too: with Production
    protected, passing gates open a request instead of moving it."""
    registry.transition_model_version_stage("m", 2, "Production")
    registry.protect("m", ["Production"])
    result = promote("m", 2, "Staging", [SchemaGate()], user="alice")
    assert result.outcome is PromotionOutcome.REQUESTED and result.request is not None
    assert registry.get_model_version("m", 2).current_stage == "Production"
    registry.approve_transition_request(result.request.id, user="bob")
    assert registry.get_model_version("m", 2).current_stage == "Staging"


class _MovesTheTarget:
    """A gate that moves ``production`` while the checks run (another user's promotion)."""

    def run(self, ctx):  # noqa: ANN001, ANN201 - the Gate protocol
        registry.set_registered_model_alias("m", "production", 3)
        return [automl.promotion.CheckResult.note("schema", "noop", None, "")]


def test_target_moved_while_checking_stores_nothing(model: str) -> None:
    with pytest.raises(registry.StaleRequestError, match="while the checks ran"):
        promote("m", 2, "production", [_MovesTheTarget()])
    assert registry.get_gate_reports("m") == []
    assert registry.get_model_version_by_alias("m", "production").version == 3


def test_bad_arguments_are_refused_before_anything_is_stored(model: str) -> None:
    recent = _labelled(50, seed=1)
    with pytest.raises(InvalidInputError, match="target_col: column 'y'"):
        MetricGate(recent, "y", "accuracy", MetricThreshold(margin=0.1))
    with pytest.raises(InvalidInputError, match="greater_is_better"):
        MetricGate(recent, "label", "log_loss", MetricThreshold(margin=0.1, greater_is_better=True))
    with pytest.raises(InvalidInputError, match="checks: give at least one gate"):
        promote("m", 2, "production", [])
    with pytest.raises(InvalidInputError, match="alias"):
        promote("m", 2, "latest", [SchemaGate()])
    with pytest.raises(InvalidInputError, match="data: missing column"):
        promote("m", 2, "production", [DriftGate(recent[["a"]])])
    assert registry.get_gate_reports("m") == []
    assert registry.get_model_version_by_alias("m", "production").version == 1


def test_cli_promote_prints_the_table_and_exits_nonzero_on_failure(
    model: str, tmp_path, capsys: pytest.CaptureFixture
) -> None:
    from automl.cli import main

    path = tmp_path / "recent.csv"
    _labelled(200, seed=9).to_csv(path, index=False)
    common = ["--tracking-uri", model, "models", "promote", "m"]
    data = ["--data", str(path), "--target-col", "label"]
    code = main([*common, "3", *data, "--metric", "accuracy", "--margin", "0.05", "--as", "ci"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "FAIL" in out and "accuracy vs production (v1)" in out
    assert "checks failed" in err
    assert registry.get_model_version_by_alias("m", "production").version == 1
    code = main(
        [*common, "2", *data, "--metric", "accuracy", "--margin", "0.05", "--drift", "--schema"]
        + ["--max-p99-ms", "60000", "--latency-calls", "10", "--as", "ci"]
    )
    out, _ = capsys.readouterr()
    assert code == 0, out
    assert "psi[a]" in out and "p99 single-row predict (ms)" in out
    assert "production -> version 2" in out
    assert registry.get_model_version_by_alias("m", "production").version == 2


def test_gates_on_a_model_registered_by_automl_classify(local_fluent: str) -> None:
    """A real search registers its winner with the training snapshot on its parent run; the
    drift gate finds that snapshot and the latency gate times the loaded pipeline."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    frame["y"] = np.where(frame["a"] + 0.3 * frame["b"] > 0, "yes", "no")
    summary = automl.classify(
        frame, target_col="y", max_trials=2, timeout_minutes=0.5, verbose=False, n_jobs=1
    )
    version = summary.registered_model_version
    features = frame.drop(columns="y")
    gates = [
        DriftGate(features),
        LatencyGate(features, max_p99_single_row_ms=60_000, n_calls=10),
        MetricGate(frame, "y", "f1", MetricThreshold(threshold=0.5)),
    ]
    result = promote(version.name, version.version, "production", gates)
    assert result.outcome is PromotionOutcome.MOVED
    drift = [c for c in result.report.checks if c.gate.value == "drift"]
    assert {c.check for c in drift} == {"psi[a]", "ks[a]", "psi[b]", "ks[b]"}
    assert all(c.value == pytest.approx(0.0, abs=0.05) for c in drift)  # same rows as trained on
    with pytest.raises(GateFailedError, match=r"psi\[b\]"):
        promote(version.name, version.version, "champion", [DriftGate(features.assign(b=-5.0))])


def test_cli_gate_reports_lists_the_stored_tables(
    model: str, capsys: pytest.CaptureFixture
) -> None:
    from automl.cli import main

    with pytest.raises(GateFailedError):
        promote("m", 3, "production", [LatencyGate(_labelled(20, 1), max_p99_batch_ms=1e-6)])
    promote("m", 2, "production", [SchemaGate()], user="carol")
    code = main(["--tracking-uri", model, "models", "gate-reports", "m"])
    out = capsys.readouterr().out
    assert code == 0
    assert "version 3 -> production FAILED (baseline 1" in out
    assert "version 2 -> production passed (baseline 1, by carol)" in out
    assert "p99 batch predict of 100 rows (ms)" in out and "required columns added" in out


def test_metric_threshold_directions_and_drift_statistics_by_hand() -> None:
    from automl.promotion import ks_statistic, population_stability_index
    from registry.gates import metric_checks

    lower = MetricThreshold(min_relative_change=0.05, margin=0.02, greater_is_better=False)
    good = {c.check: c for c in metric_checks("rmse", 0.94, 1.0, lower)}
    assert good["rmse vs baseline (min_relative_change 0.05)"].threshold == pytest.approx(0.95)
    assert good["rmse vs baseline (margin 0.02)"].threshold == pytest.approx(1.02)
    assert all(c.passed for c in good.values())
    bad = metric_checks("rmse", 0.97, 1.0, lower)
    assert [c.passed for c in bad] == [True, False]  # within the margin, not 5% better
    higher = metric_checks("auc", 0.80, 0.90, MetricThreshold(threshold=0.7, min_absolute_change=0))
    assert [(c.threshold, c.passed) for c in higher] == [(0.7, True), (0.9, False)]
    with pytest.raises(InvalidInputError, match="margin: must be a number >= 0"):
        MetricThreshold(margin=-0.1)
    reference = pd.Series(["x"] * 50 + ["y"] * 50)
    current = pd.Series(["x"] * 90 + ["y"] * 10)
    expected = 0.4 * np.log(0.9 / 0.5) + (-0.4) * np.log(0.1 / 0.5)
    assert population_stability_index(reference, current) == pytest.approx(expected)
    assert population_stability_index(reference, reference) == pytest.approx(0.0)
    ks, pvalue = ks_statistic(pd.Series(np.arange(100.0)), pd.Series(np.arange(50.0, 150.0)))
    assert ks == pytest.approx(0.5) and pvalue < 1e-5


class _WaitsForTheOther:
    """A gate that returns only once both promoting processes have read their baseline."""

    def __init__(self, barrier: object) -> None:
        self.barrier = barrier

    def run(self, ctx):  # noqa: ANN001, ANN201 - the Gate protocol
        self.barrier.wait()  # type: ignore[attr-defined]
        return [automl.promotion.CheckResult.note("schema", "waited", None, "")]


def _promote(version: int, barrier: object) -> None:
    promote("m", version, "production", [_WaitsForTheOther(barrier)], user=f"p{version}")


def test_concurrent_promotions_leave_one_winner(model: str) -> None:
    """Two processes promote v2 and v3 against the same baseline (v1) at once: one moves the
    alias, the other is refused as stale and stores nothing."""
    results = race(_promote, [2, 3])
    winners = [v for v, text in results.items() if text == "won"]
    assert len(winners) == 1, results
    loser = 5 - winners[0]
    assert "while the checks ran" in results[loser]
    assert registry.get_model_version_by_alias("m", "production").version == winners[0]
    assert [r.version for r in registry.get_gate_reports("m")] == winners
    assert [e.event for e in registry.get_model_version_history("m", loser)] == ["registered"]
