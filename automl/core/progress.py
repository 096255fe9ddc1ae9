"""The search's progress display: a tqdm bar in scripts, a widget in notebooks.

Same fields as before: elapsed time against the budget (the bar), trials done and running, and
the best validation score with its model family.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm.auto import tqdm

from automl.core.budget import Budget


class SearchProgress:
    """A bar over the search's time budget, from its start (a counter when there is no timeout)."""

    def __init__(
        self, budget: Budget, metric: str, enabled: bool = True, stream: TextIO | None = None
    ) -> None:
        budget_s = budget.timeout_s
        self.metric = metric
        self.started = budget.started
        self._bar = None
        if enabled:
            self._bar = tqdm(
                total=round(budget_s, 1) if budget_s else None,
                desc="automl",
                unit="s",
                file=stream or sys.stderr,
                bar_format="{desc} |{bar:20}| {n:.0f}s / {total:.0f}s{postfix}"
                if budget_s
                else "{desc} {n:.0f}s{postfix}",
                mininterval=0.5,
                leave=True,
            )

    def _show(self, done: int, running: int, best: float | None, best_model: str | None) -> None:
        bar = self._bar
        elapsed = time.monotonic() - self.started
        bar.n = min(elapsed, bar.total) if bar.total else elapsed
        best_text = (
            f", best val_{self.metric}={best:.5g} ({best_model})" if best is not None else ""
        )
        bar.set_postfix_str(f"trials done {done}, running {running}{best_text}", refresh=False)
        bar.refresh()

    def update(self, done: int, running: int, best: float | None, best_model: str | None) -> None:
        if self._bar is None:
            return
        now = time.monotonic()
        if now - self._bar.last_print_t < self._bar.mininterval:
            return
        self._show(done, running, best, best_model)

    def close(self, done: int, best: float | None, best_model: str | None) -> None:
        if self._bar is None:
            return
        self._show(done, 0, best, best_model)
        self._bar.close()
