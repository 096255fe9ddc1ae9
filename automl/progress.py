"""A one-line progress display for the search: elapsed and remaining budget, trials, best score."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class SearchProgress:
    """Redraws one status line on a terminal (or prints sparse lines when not a TTY)."""

    def __init__(
        self,
        budget_s: float | None,
        metric: str,
        enabled: bool = True,
        stream: TextIO | None = None,
        started: float | None = None,
    ) -> None:
        self.budget_s = budget_s
        self.metric = metric
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.started = time.monotonic() if started is None else started
        self._last_draw = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, done: int, running: int, best: float | None, best_model: str | None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        interval = 0.2 if self._tty else 10.0
        if now - self._last_draw < interval:
            return
        self._last_draw = now
        self._draw(self._line(now, done, running, best, best_model))

    def _line(
        self, now: float, done: int, running: int, best: float | None, best_model: str | None
    ) -> str:
        elapsed = now - self.started
        if self.budget_s:
            width = 20
            filled = min(width, int(width * elapsed / self.budget_s))
            bar = "#" * filled + "-" * (width - filled)
            timing = f"[{bar}] {elapsed:5.1f}s / {self.budget_s:.0f}s"
        else:
            timing = f"{elapsed:5.1f}s"
        best_text = f"best val_{self.metric}={best:.5g} ({best_model})" if best is not None else ""
        return f"automl {timing} | trials done {done}, running {running} | {best_text}"

    def _draw(self, line: str) -> None:
        if self._tty:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self, done: int, best: float | None, best_model: str | None) -> None:
        if not self.enabled:
            return
        self._draw(self._line(time.monotonic(), done, 0, best, best_model))
        if self._tty:
            self.stream.write("\n")
        self.stream.flush()
