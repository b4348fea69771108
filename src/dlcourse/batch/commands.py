"""Running one nbgrader command for the batch: in a process of its own, or
as a child of a batch worker's fork server (:mod:`dlcourse.nbgrader_forks`),
which has nbgrader imported already. Either way the whole process group is
killed at the timeout, so no kernel is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
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
    ``servers`` the command is a child of one of their fork servers (its
    output goes to ``log``, or to a temporary file); without, or when the
    server fails, a process of its own."""
    if servers is not None and log is None:
        # a forked command writes its output to a file
        with tempfile.TemporaryDirectory(prefix="dlcourse-nbgrader-") as tmp:
            return run_nbgrader(root, args, Path(tmp) / "nbgrader.log", timeout, servers)
    server = servers.get() if servers is not None else None
    if server is not None:
        from dlcourse.nbgrader_forks import ForkServerError

        try:
            result = server.run(args, root, log, timeout)
        except ForkServerError:
            result = None  # a process of its own, as without a server
        except BaseException:
            # interrupted (Ctrl-C): the server, closing, stops the command
            server.close()
            raise
        finally:
            servers.put(server)  # a dead or closed one is dropped
        if servers.closed and (result is None or result[0] == -signal.SIGKILL):
            # the batch ended while the command ran: its server stopped it,
            # and it is not started again
            code, output = result if result is not None else (1, "")
            return (
                code,
                output + "\n[dlcourse] the batch ended while nbgrader ran; it was stopped\n",
            )
        if result is not None:
            return result
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
    """The nbgrader fork servers (see :mod:`dlcourse.nbgrader_forks`) of a
    batch: a pool, so that the pre-flight's, the gradebook's and the workers'
    commands all start from servers already warm. A command takes an idle
    server (one is started when none is idle), so no two commands share one
    at a time, and gives it back when it ends. A server that died is
    replaced; after two were lost (died, or could not start), commands run
    as processes of their own. All are closed at the end of the batch."""

    def __init__(self):
        self.idle: list = []
        self.started: list = []
        self.lost = 0
        self.closed = False
        self.lock = threading.Lock()
        self.starting: list[threading.Thread] = []

    def start_one(self) -> threading.Thread:
        """Start a server in the background and keep it idle, so that it is
        ready when a command asks (the pre-flight's second grading starts
        while its generate_assignment runs). Returns the starting thread."""

        def start() -> None:
            server = self.get()
            if server is not None:
                self.put(server)

        thread = threading.Thread(target=start, daemon=True)
        thread.start()
        with self.lock:
            self.starting.append(thread)
        return thread

    def get(self):
        """An idle server of this pool, or a new one; None when servers are
        not to be started any more."""
        from dlcourse.nbgrader_forks import ForkServer, ForkServerError

        with self.lock:
            if self.closed:
                return None
            while self.idle:
                server = self.idle.pop()
                if server.alive:
                    return server
                self._drop(server)
            if self.lost >= 2:
                return None
        try:
            server = ForkServer(env=nbgrader_env())
        except (ForkServerError, OSError):
            with self.lock:
                self.lost += 1
            return None
        with self.lock:
            if not self.closed:
                self.started.append(server)
                return server
        server.close()  # started while the batch ended
        return None

    def put(self, server) -> None:
        """Give back a server taken with :meth:`get`, for the next command."""
        with self.lock:
            if server not in self.started:
                return
            if server.alive:
                self.idle.append(server)
            else:
                self._drop(server)

    def _drop(self, server) -> None:
        """Forget a server that died (the lock held)."""
        server.close()
        self.started.remove(server)
        self.lost += 1

    def keep_at_most(self, count: int) -> None:
        """Close idle servers beyond ``count`` (the pre-flight grades two
        notebooks at once; a batch of one worker needs one server)."""
        with self.lock:
            while len(self.idle) > count:
                server = self.idle.pop(0)
                self.started.remove(server)
                server.close()

    def close(self) -> None:
        """Close every server, those still starting included: a batch that
        stops early (a refused course, Ctrl-C) leaves none behind."""
        with self.lock:
            self.closed = True
            for server in self.started:
                server.close()
            self.started.clear()
            self.idle.clear()
            starting, self.starting = self.starting, []
        for thread in starting:
            # a server that comes up now is closed by its thread (see get)
            thread.join(timeout=60)
