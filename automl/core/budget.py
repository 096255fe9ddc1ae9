"""The time and trial budget of one search: the one place that does deadline arithmetic.

A :class:`Budget` is built once, from the user's ``timeout_minutes`` / ``max_trials`` and the
moment the call started. The search loop asks it whether to stop, how long is left, whether a
trial of some expected length still fits, and how many training rows the budget affords.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

DEFAULT_TIMEOUT_MINUTES = 5.0
# Seconds kept back from the search for stopping workers, registering and summarising.
RESERVE_MIN_S, RESERVE_SHARE = 0.5, 0.015
# The promised slack past the budget, max(2 %, 5 s), less the wrap-up after it: only a search
# with no finished trial yet may use it; the refit of the winner ends by the deadline.
GRACE_MIN_S, GRACE_SHARE, WRAP_UP_S = 5.0, 0.02, 1.5
# No trial starts in the last second before its deadline: it would only be killed. Stopping the
# running trials for the refit takes about this long too.
MIN_START_S = 1.0
# Trials learn from at most this many rows, and at least from this many whatever the budget;
# in between, this many rows per second of budget.
MAX_ROWS, MIN_ROWS, ROWS_PER_SECOND = 1_000_000, 20_000, 1_500


@dataclass(frozen=True)
class Budget:
    """Time (``timeout_s``, None: unlimited) and trial count of one search, from ``started``."""

    timeout_s: float | None
    max_trials: int | None
    started: float = field(default_factory=time.monotonic)
    # True when the user gave neither limit and DEFAULT_TIMEOUT_MINUTES applies.
    defaulted: bool = False

    @classmethod
    def from_arguments(
        cls, timeout_minutes: float | None, max_trials: int | None, started: float | None = None
    ) -> Budget:
        """The budget the user asked for; with neither limit, :data:`DEFAULT_TIMEOUT_MINUTES`."""
        defaulted = timeout_minutes is None and max_trials is None
        if defaulted:
            timeout_minutes = DEFAULT_TIMEOUT_MINUTES
        timeout_s = None if timeout_minutes is None else float(timeout_minutes) * 60.0
        started = time.monotonic() if started is None else started
        return cls(timeout_s, max_trials, started, defaulted)

    @property
    def deadline(self) -> float:
        """When the search stops trials (monotonic clock): the end less the wrap-up reserve."""
        if self.timeout_s is None:
            return float("inf")
        reserve = max(RESERVE_MIN_S, RESERVE_SHARE * self.timeout_s)
        return self.started + self.timeout_s - reserve

    @property
    def grace_deadline(self) -> float:
        """The promised end, max(2 %, 5 s) past the budget, less the time to wrap up."""
        if self.timeout_s is None:
            return float("inf")
        grace = max(GRACE_MIN_S, GRACE_SHARE * self.timeout_s)
        return self.started + self.timeout_s + grace - WRAP_UP_S

    def grace_deadline_wall(self) -> float | None:
        """The grace deadline on the wall clock (``time.time()``), for processes elsewhere (a
        Dask worker's own hard stop); None without a timeout."""
        if self.timeout_s is None:
            return None
        return time.time() + (self.grace_deadline - time.monotonic())

    @staticmethod
    def refit_reserve(refit_seconds: float) -> float:
        """Seconds kept back for refitting the winner (plus stopping the running trials)."""
        return refit_seconds + MIN_START_S if refit_seconds else 0.0

    def stop_at(self, keep_back: float = 0.0, have_result: bool = True) -> float:
        """When the loop ends: the deadline less ``keep_back``, or the grace deadline when no
        trial has finished yet (so that even a tiny budget yields one model)."""
        return self.deadline - keep_back if have_result else self.grace_deadline

    def time_left(self, keep_back: float = 0.0, now: float | None = None) -> float:
        """Seconds until the deadline less ``keep_back`` (inf without a timeout)."""
        now = time.monotonic() if now is None else now
        return self.deadline - keep_back - now

    def fits(self, expected_s: float, keep_back: float = 0.0, now: float | None = None) -> bool:
        """Whether a task expected to take ``expected_s`` can start now and finish a second
        before the deadline less ``keep_back``."""
        return self.time_left(keep_back, now) > expected_s + MIN_START_S

    def can_start(self, keep_back: float = 0.0, now: float | None = None) -> bool:
        """Whether any new trial may start (the last second before the deadline is not used)."""
        return self.time_left(keep_back, now) > MIN_START_S

    def trials_left(self, started_trials: int) -> bool:
        """Whether ``max_trials`` allows another trial after ``started_trials``."""
        return self.max_trials is None or started_trials < self.max_trials

    @property
    def max_train_rows(self) -> int:
        """How many training rows trials may use: enough to learn, few enough to finish."""
        if self.timeout_s is None:
            return MAX_ROWS
        return int(min(MAX_ROWS, max(MIN_ROWS, self.timeout_s * ROWS_PER_SECOND)))
