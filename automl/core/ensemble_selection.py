"""Greedy ensemble selection over stored validation predictions (Caruana et al., ICML 2004).

Each round adds, with replacement, the member whose inclusion most lowers the loss of the
averaged prediction; weights are the members' shares of the rounds. The search never fits a
model: it reads the out-of-fold / validation predictions the trials already produced, so it
costs milliseconds beside the search. Ties go to the lower candidate index, so a given set of
predictions always gives the same ensemble.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

LossFn = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class EnsembleSelection:
    """The result: candidate indices with their weights, and the loss after each round."""

    members: tuple[int, ...]
    weights: tuple[float, ...]
    loss: float
    best_single_loss: float
    trajectory: tuple[float, ...]

    @property
    def beats_best_single(self) -> bool:
        """Whether the blend is strictly better on validation than its best candidate alone."""
        return len(self.members) > 1 and self.loss < self.best_single_loss


def select_ensemble(
    predictions: Sequence[np.ndarray], loss: LossFn, rounds: int = 25, stop_at: float | None = None
) -> EnsembleSelection:
    """Pick weights for ``predictions`` (same shape each) that minimise ``loss`` of their mean.

    ``loss`` maps one blended prediction to a number where lower is better (negate a score).
    ``stop_at`` (monotonic clock) ends the selection after the round running then: the search
    selects after its loop, in the time its budget keeps back, and a slow loss on many rows
    must not outlast it. The first round always runs.
    """
    if not predictions:
        raise ValueError("predictions: no candidate predictions to ensemble")
    if rounds < 1:
        raise ValueError(f"rounds={rounds!r}: must be a positive number of rounds")
    stack = np.stack([np.asarray(p, dtype="float64") for p in predictions])
    singles = np.array([loss(p) for p in stack])
    counts = np.zeros(len(stack), dtype="int64")
    total = np.zeros_like(stack[0])
    trajectory: list[float] = []
    snapshots: list[np.ndarray] = []
    for size in range(1, rounds + 1):
        if size > 1 and stop_at is not None and time.monotonic() >= stop_at:
            break
        scores = np.array([loss((total + p) / size) for p in stack])
        best = int(np.argmin(np.where(np.isfinite(scores), scores, np.inf)))
        counts[best] += 1
        total += stack[best]
        trajectory.append(float(scores[best]))
        snapshots.append(counts.copy())
    # Keep the ensemble of the best round, not the last: later rounds can only overfit further.
    best_round = int(np.argmin(trajectory))
    counts = snapshots[best_round]
    members = tuple(int(i) for i in np.flatnonzero(counts))
    weights = tuple(float(counts[i] / counts.sum()) for i in members)
    finite = singles[np.isfinite(singles)]
    return EnsembleSelection(
        members=members,
        weights=weights,
        loss=trajectory[best_round],
        best_single_loss=float(finite.min()) if finite.size else float("inf"),
        trajectory=tuple(trajectory),
    )


def blend(predictions: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The weighted mean of member predictions (probabilities or values)."""
    out = np.zeros_like(np.asarray(predictions[0], dtype="float64"))
    for p, w in zip(predictions, weights, strict=True):
        out += w * np.asarray(p, dtype="float64")
    return out
