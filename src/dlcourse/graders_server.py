"""A warm process that forks the hidden graders' process for every notebook
a long-lived caller grades.

The batch hands each submission's graders a spare forked from its nbgrader
fork server (:mod:`dlcourse.graders_zygote`). Everything else that grades
many notebooks in one process (stock ``nbgrader autograde`` of a whole
class, one HiddenGraders preprocessor call per student; ``dlcourse
gradescope``; the course's own test suite) started a fresh ``python -m
dlcourse.startup pytest ...`` each time and paid Python's, pytest's,
numpy's and torch's imports again: about 2.5 s a notebook.

This server is started once per calling process, on its first grading
without a spare. It imports what a spare has imported
(:data:`dlcourse.graders_zygote.PRELOAD`), freezes it for the garbage
collector, and then, per request, forks a :class:`~dlcourse.graders_zygote.Spare`
and hands it the command: the spare becomes the graders' process exactly as
in the batch (its own process, the caller's environment of that moment, the
address-space limit, the course folder, its output in a file, killed at the
timeout), and is used once. The server runs no grader and no student code
and reads nothing of the course; it dies with the thread that started it
(PR_SET_PDEATHSIG) and ends when its caller closes its input. A server that
fails is dropped and the grading runs as a fresh process, as before.

    code, timed_out = run_in_server(argv, cwd=root, memory_bytes=8 * 2**30,
                                    output=log_path, timeout=900, env=env)
    # None: no server; run a fresh process
"""

from __future__ import annotations

import atexit
import os
import threading

from dlcourse.graders_zygote import spare_request
from dlcourse.nbgrader_forks import ForkServerError, ServerProcess, answer, preload

START_TIMEOUT = 120.0

_lock = threading.Lock()
_server: GradersServer | None = None


class GradersServer(ServerProcess):
    """The caller's side: starts the server, sends it one command at a time."""

    what = "the graders' server"

    def __init__(self, env: dict[str, str]):
        super().__init__("dlcourse.graders_server", [], env, START_TIMEOUT)

    def run(
        self,
        argv: list[str],
        cwd: str,
        memory_bytes: int | None,
        output: str,
        timeout: float,
        env: dict[str, str],
        preload: list[str] | None = None,
    ) -> tuple[int, bool]:
        """As :meth:`dlcourse.graders_zygote.Spare.run`, in a spare of the
        server; ``preload``: what the graders' sandbox zygote preloads
        (:func:`dlcourse.sandbox.zygote_template.preload_for`), None if
        unknown (the graders then start their zygote anew)."""
        request = spare_request(argv, cwd, memory_bytes, output, env)
        if preload is not None:
            request["preload"] = list(preload)
        reply = self.ask({**request, "timeout": float(timeout)}, timeout)
        return int(reply["code"]), bool(reply["timed_out"])


def run_in_server(
    argv: list[str],
    cwd: str,
    memory_bytes: int | None,
    output: str,
    timeout: float,
    env: dict[str, str],
    preload: list[str] | None = None,
) -> tuple[int, bool] | None:
    """Run the graders' ``pytest ARGV`` in a spare of this process's server
    (started on first use); None when there is no working server (the
    caller then starts a fresh process). ``preload``: as for
    :meth:`GradersServer.run`."""
    global _server
    if os.environ.get("DLCOURSE_GRADERS_SERVER") == "0":
        return None
    with _lock:  # one grading at a time per server
        try:
            if _server is None or not _server.alive:
                _server = GradersServer(env)
            return _server.run(argv, cwd, memory_bytes, output, timeout, env, preload)
        except (ForkServerError, OSError, ValueError, KeyError):
            if _server is not None:
                _server.close()
            _server = None
            return None


@atexit.register
def _close() -> None:
    if _server is not None:
        _server.close()


# --------------------------------------------------------------- the server
def serve() -> None:
    from dlcourse.graders_zygote import PRELOAD, Spare
    from dlcourse.sandbox.confine import die_with_parent
    from dlcourse.sandbox.session import worker_environment
    from dlcourse.sandbox.zygote_template import TEMPLATE_SWITCH, ensure_template
    from dlcourse.startup import skip_slow_unused_imports

    die_with_parent()
    # what a grading leaves behind (a process its graders started and did
    # not end, a sandbox launcher of a graders' process killed at its
    # timeout) is handed to this process, not to init, and ended below
    # before the next grading (another student's) starts
    _become_subreaper()
    skip_slow_unused_imports()
    preload(PRELOAD)

    def grade(request: dict, replies: int) -> dict:
        preload = request.pop("preload", None)
        switch = (request.get("env") or {}).get(TEMPLATE_SWITCH, "1")
        if isinstance(preload, list) and all(isinstance(n, str) for n in preload) and switch != "0":
            # the spare inherits it: its graders fork their sandbox zygote
            # from it instead of starting one (see dlcourse.sandbox.zygote_template)
            ensure_template(worker_environment(), preload)
        spare = Spare(close=(replies,), die_with_parent=True)
        code, timed_out = spare.send(request, request["timeout"])
        _end_leftovers()
        return {"code": code, "timed_out": timed_out}

    answer(grade)


PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    """Orphans of this process's descendants become its children
    (PR_SET_CHILD_SUBREAPER; not inherited by the spares)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl child_subreaper: {os.strerror(err)}")


def _end_leftovers(within: float = 10.0) -> None:
    """Kill and reap every child of this server but its zygote templates,
    and every child of those: after a grading, only what it left behind (its
    spare is reaped; orphans of its processes come here, the subreaper, and
    so do theirs as each dies; the zygotes its graders had forked are the
    templates' children, and their sandboxes die with them)."""
    import signal
    import time

    from dlcourse.sandbox.zygote_template import template_pids

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid = 0
        if pid:
            continue
        templates = template_pids()
        # this server's own children stay until it reaps them (their pids
        # cannot be reused meanwhile); the templates' are reaped by the
        # kernel as they end, so each is signalled through a pidfd opened
        # while it is still seen as a template's child
        own = [p for p in _children((os.getpid(),)) if p not in templates]
        theirs = _children(templates)
        if not own and not theirs:
            return
        for child in own:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for child in theirs:
            _kill_if_child_of(child, templates)
        time.sleep(0.01)


def _kill_if_child_of(pid: int, parents: set[int]) -> None:
    """SIGKILL ``pid`` if, once a pidfd for it is open, its parent is one of
    ``parents`` (so the pidfd is that child's, not a later process's that
    got its pid)."""
    import signal

    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return  # gone
    try:
        if _parent(pid) in parents:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(pidfd)


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _children(parents) -> list[int]:
    """The children of the processes ``parents`` (pids in /proc whose parent
    is one of them)."""
    parents = set(parents)
    if not parents:
        return []
    return [int(n) for n in os.listdir("/proc") if n.isdigit() and _parent(int(n)) in parents]


if __name__ == "__main__":
    serve()
