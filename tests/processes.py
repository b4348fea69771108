"""Whether a process still runs, for tests that check what a grading leaves
behind."""

from __future__ import annotations

import time
from pathlib import Path


def running(pid: int) -> bool:
    """``pid`` exists and is not a zombie (dead, waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def gone(pid: int, within: float) -> bool:
    """Whether ``pid`` stops running within ``within`` seconds."""
    deadline = time.monotonic() + within
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not running(pid)
