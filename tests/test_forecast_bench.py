"""The forecasting benchmark's statsforecast cache: re-time some models, keep the others."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import forecast_bench


def _fake_statsforecast(calls: list[list[str]], value: float):
    """A stand-in for the statsforecast subprocess: constant forecasts, 1 s per model."""

    def run(frame, h, m, freq, n_jobs, work, out, models):
        calls.append(list(models))
        ds = pd.date_range("2020-01-01", periods=h, freq=freq)
        fc = pd.DataFrame({"unique_id": "a", "ds": ds, **{k: value for k in models}})
        fc.to_csv(f"{out}.csv", index=False)
        Path(f"{out}.json").write_text(json.dumps({k: 1.0 for k in models}))

    return run


def test_statsforecast_models_rerun_only_those_and_keep_the_cached_rest(tmp_path, monkeypatch):
    calls: list[list[str]] = []
    cache = tmp_path / "sf_cache"
    args = (pd.DataFrame(), 3, 12, "MS", 1, tmp_path, cache)
    monkeypatch.setattr(forecast_bench, "_statsforecast_subprocess", _fake_statsforecast(calls, 1))
    first = forecast_bench.run_statsforecast(*args, reuse=False)
    assert calls == [list(forecast_bench.SF_MODELS)]
    assert np.allclose(first["AutoARIMA"][0]["a"], 1.0)

    monkeypatch.setattr(forecast_bench, "_statsforecast_subprocess", _fake_statsforecast(calls, 2))
    again = forecast_bench.run_statsforecast(*args, reuse=False, models=("AutoETS",))
    assert calls[-1] == ["AutoETS"]
    assert np.allclose(again["AutoETS"][0]["a"], 2.0)  # re-run
    assert np.allclose(again["AutoARIMA"][0]["a"], 1.0)  # from the cache

    forecast_bench.run_statsforecast(*args, reuse=True)
    assert len(calls) == 2  # everything cached: nothing runs
    with pytest.raises(SystemExit, match="not cached"):
        forecast_bench.run_statsforecast(*args[:-1], tmp_path / "empty", False, ("AutoETS",))
