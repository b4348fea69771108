"""The time a sandbox is charged for: its own, not the machine's load.

A deadline in wall-clock seconds costs a student points when the grading
machine is busy. What a sandbox is charged instead is the larger of

- wall time minus the seconds its main process spent runnable but waiting
  for a CPU (the kernel's schedstat run-queue time): a sleeping or blocked
  student is charged, a student queued behind other gradings is not;
- the CPU time of all its processes (its pids cgroup): a student whose own
  extra processes keep the main one from a CPU is charged their work.

Used for the notebook runs of the graders (:mod:`dlcourse.execution`); the
per-call limits of :mod:`dlcourse.sandbox.session` apply the same rule.
"""

from __future__ import annotations

import os
import time

from dlcourse.sandbox import confine

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# processes of one sandbox read per measurement (a fork bomb has more; the
# main ones are first in cgroup.procs)
MAX_PROCESSES = 256


def confined_pid(launcher_pid: int) -> int:
    """The host pid of the process running the sandboxed program: the
    launcher's one confined child (as root), else the launcher itself."""
    try:
        with open(f"/proc/{launcher_pid}/task/{launcher_pid}/children") as fh:
            children = [int(c) for c in fh.read().split()]
    except (OSError, ValueError):
        children = []
    return children[0] if len(children) == 1 else launcher_pid


def waiting_seconds(pid: int | None) -> float:
    """Seconds ``pid`` has spent runnable but waiting for a CPU; 0 where
    unknown."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as fh:
            return int(fh.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def cgroup_cpu_seconds(launcher_pid: int | None) -> float:
    """CPU seconds used by the live processes of the sandbox started by
    ``launcher_pid`` (and the children they reaped); 0 where unknown."""
    if launcher_pid is None:
        return 0.0
    folder = confine.pids_cgroup_of(launcher_pid)
    try:
        with open(os.path.join(folder, "cgroup.procs")) as fh:
            pids = fh.read().split()
    except (OSError, TypeError):
        return 0.0
    ticks = 0
    for pid in pids[:MAX_PROCESSES]:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                # after the command name (which may hold spaces) in parentheses
                fields = fh.read().rsplit(b")", 1)[1].split()
            ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        except (OSError, ValueError, IndexError):
            continue
    return ticks / _CLOCK_TICKS


class Stopwatch:
    """Charged seconds since :meth:`start`, for the sandbox started by
    ``launcher_pid``."""

    def __init__(self, launcher_pid: int):
        self.launcher_pid = launcher_pid
        self.pid = confined_pid(launcher_pid)
        self.start()

    def start(self) -> None:
        self.started = time.monotonic()
        self.waited = waiting_seconds(self.pid)
        self.cpu = cgroup_cpu_seconds(self.launcher_pid)

    def wall(self) -> float:
        return time.monotonic() - self.started

    def charged(self) -> float:
        waited = waiting_seconds(self.pid) - self.waited
        cpu = cgroup_cpu_seconds(self.launcher_pid) - self.cpu
        return max(self.wall() - waited, cpu)
