"""Train/validation/test assignment (and CV folds), materialised as columns on the data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.tabular.data import alert, normalise_split_values, parse_time_column

SPLIT_COL = "_automl_split"
FOLD_COL = "_automl_fold"
FRACTIONS = (0.6, 0.2, 0.2)
# Validation and test parts of larger data shrink towards this many rows each, but never below
# this share: selection needs a stable score, and the rest is better spent on training.
HELD_OUT_ROWS, MIN_HELD_OUT_SHARE = 5_000, 0.1


def held_out_share(n: int) -> float:
    """The share of ``n`` rows each of validation and test gets: 20 % up to 25,000 rows, then
    shrinking to 10 % (AutoGluon sizes its holdout by row count the same way)."""
    return max(MIN_HELD_OUT_SHARE, min(FRACTIONS[1], HELD_OUT_ROWS / max(n, 1)))


def _counts(n: int, share: float = FRACTIONS[1]) -> tuple[int, int, int]:
    """Rows for train/val/test out of ``n`` (``share`` each for val and test), train keeps at
    least one row."""
    n_test = int(round(n * share))
    n_val = int(round(n * share))
    while n - n_test - n_val < 1 and (n_test or n_val):
        if n_test >= n_val:
            n_test -= 1
        else:
            n_val -= 1
    return n - n_val - n_test, n_val, n_test


def _random_split(n: int, rng: np.random.Generator, share: float) -> np.ndarray:
    order = rng.permutation(n)
    n_train, n_val, _ = _counts(n, share)
    labels = np.empty(n, dtype=object)
    labels[order[:n_train]] = "train"
    labels[order[n_train : n_train + n_val]] = "val"
    labels[order[n_train + n_val :]] = "test"
    return labels


def _stratified_split(y: pd.Series, rng: np.random.Generator, share: float) -> np.ndarray:
    """The same shares within every class, so each part keeps the mix."""
    labels = np.empty(len(y), dtype=object)
    codes = pd.factorize(y.astype("object").map(str), sort=True)[0]
    for code in np.unique(codes):
        members = np.flatnonzero(codes == code)
        labels[members] = _random_split(len(members), rng, share)
    return labels


def _time_split(times: pd.Series, share: float) -> np.ndarray:
    order = np.argsort(times.to_numpy(), kind="stable")
    if times.isna().any():
        missing = times.isna().to_numpy()
        order = np.concatenate([np.flatnonzero(missing), order[~missing[order]]])
    n_train, n_val, _ = _counts(len(times), share)
    labels = np.empty(len(times), dtype=object)
    labels[order[:n_train]] = "train"
    labels[order[n_train : n_train + n_val]] = "val"
    labels[order[n_train + n_val :]] = "test"
    return labels


def assign_folds(df: pd.DataFrame, plan: Any) -> np.ndarray:
    """Fold 0..k-1 for train+val rows (stratified round-robin for classes), -1 for test rows."""
    folds = np.full(len(df), -1, dtype="int64")
    pool = np.flatnonzero(df[SPLIT_COL].to_numpy() != "test")
    rng = np.random.default_rng(plan.seed + 1)
    k = int(plan.n_folds)
    if plan.task == "classification":
        y = df[plan.target_col].astype("object").map(str).to_numpy()[pool]
        offset = 0
        for cls in sorted(set(y)):
            members = pool[y == cls]
            members = members[rng.permutation(len(members))]
            folds[members] = (np.arange(len(members)) + offset) % k
            offset += len(members)
    else:
        shuffled = pool[rng.permutation(len(pool))]
        folds[shuffled] = np.arange(len(shuffled)) % k
    return folds


def assign_split(
    df: pd.DataFrame, plan: Any, time_col: str | None = None, split_col: str | None = None
) -> pd.DataFrame:
    """Copy of ``df`` with ``_automl_split`` (train/val/test) and, for CV, ``_automl_fold``.

    ``split_col`` values are used as given (validate/validation mean val); ``time_col`` orders
    rows in time (oldest train, then val, newest test); otherwise a seeded random split,
    stratified by class for classification. Validation and test get 20 % each up to 25,000 rows
    and fewer beyond (:func:`held_out_share`).
    """
    time_col = time_col if time_col is not None else getattr(plan, "time_col", None)
    split_col = split_col if split_col is not None else getattr(plan, "split_col", None)
    out = df.copy()
    share = held_out_share(len(out))
    if split_col is not None:
        labels = normalise_split_values(out[split_col], split_col).to_numpy(dtype=object)
    elif time_col is not None:
        labels = _time_split(parse_time_column(out[time_col]), share)
    elif plan.task == "classification":
        labels = _stratified_split(out[plan.target_col], np.random.default_rng(plan.seed), share)
    else:
        labels = _random_split(len(out), np.random.default_rng(plan.seed), share)
    out[SPLIT_COL] = pd.Series(labels, index=out.index, dtype=object).astype("str")
    if plan.validation == "cv":
        out[FOLD_COL] = assign_folds(out, plan)
    elif FOLD_COL in out.columns:
        out = out.drop(columns=FOLD_COL)
    return out


def _allocate(sizes: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` over groups in proportion to ``sizes`` (largest remainder, >= 1 each)."""
    exact = sizes * total / sizes.sum()
    quotas = np.minimum(np.maximum(np.floor(exact).astype(int), 1), sizes)
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    i = 0
    while quotas.sum() < total and i < 10 * len(sizes):
        j = order[i % len(sizes)]
        if quotas[j] < sizes[j]:
            quotas[j] += 1
        i += 1
    return quotas


def _sample_rows(
    plan: Any, df: pd.DataFrame, rows: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` of the positions ``rows`` of ``df``, stratified by class for classification."""
    if plan.task != "classification":
        return rng.choice(rows, size=n, replace=False)
    y = df[plan.target_col].astype("object").map(str).to_numpy()[rows]
    classes = sorted(set(y))
    quotas = _allocate(np.array([(y == cls).sum() for cls in classes]), n)
    return np.concatenate(
        [
            rng.choice(rows[y == cls], size=int(k), replace=False)
            for cls, k in zip(classes, quotas, strict=True)
        ]
    )


def training_rows(plan: Any, train: pd.DataFrame, n: int | None) -> pd.DataFrame:
    """The ``n`` training rows a low-fidelity trial learns from (all when ``n`` is None or not
    smaller): a seeded sample, stratified by class for classification, in their order."""
    if n is None or n >= len(train):
        return train
    rng = np.random.default_rng(plan.seed + 3)
    keep = np.sort(_sample_rows(plan, train, np.arange(len(train)), int(n), rng))
    return train.iloc[keep]


def sample_for_budget(
    df: pd.DataFrame, plan: Any, max_rows: int | None
) -> tuple[pd.DataFrame, list[dict]]:
    """Keep at most ``max_rows`` training rows (stratified for classification); val/test stay.

    For CV the sampled pool is train+val (folds are kept). Returns ``(df, alerts)``.
    """
    if max_rows is None:
        return df, []
    train_parts = ("train", "val") if plan.validation == "cv" else ("train",)
    is_train = df[SPLIT_COL].isin(train_parts).to_numpy()
    n_train = int(is_train.sum())
    if n_train <= max_rows:
        return df, []
    rng = np.random.default_rng(plan.seed + 2)
    keep = _sample_rows(plan, df, np.flatnonzero(is_train), max_rows, rng)
    mask = ~is_train
    mask[keep] = True
    sampled = df.loc[mask].reset_index(drop=True)
    kept = int(mask.sum() - (~is_train).sum())
    message = (
        f"training on a sample of {kept} of {n_train} training rows "
        f"({'stratified by class' if plan.task == 'classification' else 'random'}) to fit the "
        "time/memory budget; validation and test rows are all kept"
    )
    return sampled, [alert("sampling", message)]
