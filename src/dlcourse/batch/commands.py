"""Running one nbgrader command for the batch: in a process of its own, or
as a child of a batch worker's fork server (:mod:`dlcourse.nbgrader_forks`),
which has nbgrader imported already. Either way the whole process group is
killed at the timeout, so no kernel is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

# the longest one student's grading may take, all cells together
STUDENT_TIMEOUT = 3600.0


def nbgrader_env() -> dict:
    """The environment of nbgrader commands: this one, with this Python's bin/
    first on PATH (nbgrader runs alembic from PATH)."""
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}


def run_nbgrader(
    root: Path,
    args: list[str],
    log: Path | None = None,
    timeout: float = STUDENT_TIMEOUT,
    servers: ForkServers | None = None,
) -> tuple[int, str]:
    """Run nbgrader in ``root``; returns (exit status, its output). With
    ``servers`` (and a ``log``) the command is a child of this worker's fork
    server; without, or when the server fails, a process of its own."""
    server = servers.get() if servers is not None and log is not None else None
    if server is not None:
        from dlcourse.nbgrader_forks import ForkServerError

        try:
            return server.run(args, root, log, timeout)
        except ForkServerError:
            pass  # a process of its own, as without a server
    from dlcourse.startup import nbgrader_command

    proc = subprocess.Popen(
        nbgrader_command(*args),
        cwd=root,
        env=nbgrader_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        output += f"\n[dlcourse] nbgrader did not finish within {timeout:.0f} s and was stopped\n"
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(output)
    return proc.returncode, output


class ForkServers:
    """One nbgrader fork server per worker thread (see
    :mod:`dlcourse.nbgrader_forks`), started on first use, all closed at the
    end of the batch. A server that cannot start or dies is replaced once;
    after that the worker starts a process per student."""

    def __init__(self):
        self.local = threading.local()
        self.started: list = []
        self.lock = threading.Lock()

    def get(self):
        from dlcourse.nbgrader_forks import ForkServer, ForkServerError

        server = getattr(self.local, "server", None)
        if server is not None and server.alive:
            return server
        if getattr(self.local, "starts", 0) >= 2:
            return None
        self.local.starts = getattr(self.local, "starts", 0) + 1
        try:
            server = ForkServer(env=nbgrader_env())
        except (ForkServerError, OSError):
            return None
        self.local.server = server
        with self.lock:
            self.started.append(server)
        return server

    def close(self) -> None:
        with self.lock:
            for server in self.started:
                server.close()
            self.started.clear()
