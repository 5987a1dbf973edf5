"""Progress lines on stderr for commands that may run for a while.

Quick commands stay quiet: nothing is shown before ``delay`` seconds have passed.
On a terminal one line is redrawn in place; in a log (CI) a line is added every
``log_interval`` seconds so the output stays short.
"""

import sys
import time
from collections.abc import Callable
from typing import TextIO


class ProgressPrinter:
    """Call with ``(done, total)`` rows; prints rows, percentage and rows/s."""

    def __init__(
        self,
        verb: str,
        stream: TextIO | None = None,
        delay: float = 1.5,
        tty_interval: float = 0.5,
        log_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verb = verb
        self._stream = stream or sys.stderr
        self._is_tty = self._stream.isatty()
        self._interval = tty_interval if self._is_tty else log_interval
        self._clock = clock
        self._started = clock()
        self._next_print = self._started + delay
        self._line_open = False

    def __call__(self, done: int, total: int) -> None:
        now = self._clock()
        if now < self._next_print:
            return
        self._next_print = now + self._interval
        elapsed = now - self._started
        rate = done / elapsed if elapsed > 0 else 0.0
        percent = 100.0 * done / total if total else 100.0
        line = (
            f"{self._verb} {done:,} / {total:,} rows"
            f" ({percent:.0f}%, {rate:,.0f} rows/s)"
        )
        if self._is_tty:
            self._stream.write(f"\r{line}\x1b[K")
            self._line_open = True
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def finish(self) -> None:
        """End a line redrawn in place, so the next message starts on its own."""
        if self._line_open:
            self._stream.write("\n")
            self._stream.flush()
            self._line_open = False
