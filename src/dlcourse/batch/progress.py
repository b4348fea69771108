"""The batch's progress line, whichever engine grades."""

from __future__ import annotations

import sys
import threading
import time


class Progress:
    """One line on a terminal: done/total, the current student, rate, time left.
    Silent when the stream is not a terminal."""

    def __init__(self, total: int, stream=None):
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.active = self.stream.isatty()
        self.lock = threading.Lock()

    def update(self, student: str) -> None:
        with self.lock:
            self.done += 1
            if not self.active:
                return
            elapsed = time.monotonic() - self.start
            rate = self.done / elapsed if elapsed > 0 else 0.0
            left = (self.total - self.done) / rate if rate else 0.0
            width = 24
            filled = int(width * self.done / max(self.total, 1))
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(
                f"\r[{bar}] {self.done}/{self.total}  {student[:20]:20s}  "
                f"{rate * 60:5.1f}/min  about {left / 60:4.1f} min left "
            )
            if self.done == self.total:
                self.stream.write("\n")
            self.stream.flush()
