"""A warm process that forks one fresh sandbox per graded cell.

Starting a sandbox the plain way execs Python, imports this library and numpy
(about 0.2 s) and, where the notebook imports torch, torch (about 2 s more):
once per graded cell. A zygote pays that once per grading. It is started
like a worker (``python -I`` with the sandbox's environment), imports the
worker's code, numpy and the modules it is asked to preload, and then only
forks: each child becomes exactly what :mod:`dlcourse.sandbox.worker` is
when started on its own, and confines itself the same way (namespaces, the
allow-list root, cgroups, limits, its own user: :func:`confine.enter`) before
it reads anything of the student's. Nothing of the confinement is shared:
every child makes its own namespaces and cgroups, and gets its own copy of
the zygote's memory. Student code never runs in the zygote, which holds
nothing but library code: it is started from scratch, never forked from a
grader (whose memory holds the hidden tests).

The grader talks to it over a Unix socket (``SOCK_SEQPACKET``: one message
per request). A request carries the child's configuration and, as passed
descriptors, the request pipe, the reply pipe, a file for its error output
and the write end of a status pipe. The zygote is the child's parent: it
reaps it and writes its wait status (4 bytes) to the status pipe, which is
how the grader learns that it ended and how (:class:`ForkedProcess`). Every
child dies with the zygote (``PR_SET_PDEATHSIG``), and the zygote exits when
the grader's end of the socket closes.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import logging
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading

log = logging.getLogger("dlcourse.sandbox")

# modules a zygote may be asked to import before it forks: libraries of the
# grading environment whose import is slow and has no side effect outside the
# process (matplotlib, say, writes a font cache under HOME: it stays lazy in
# the worker instead); with torch, what its first optimiser imports (see
# _import_torch_dynamo)
PRELOADABLE = frozenset({"torch"})
MAX_MESSAGE = 1 << 20
STATUS = struct.Struct("i")


# -- the grader's side ------------------------------------------------------


def imported_modules(notebook) -> set[str]:
    """Top-level names of the modules a reference notebook (a
    :class:`dlcourse.submission.Notebook`, the instructor's) imports, by
    reading its code; cells that do not parse are skipped."""
    import ast

    names: set[str] = set()
    for code in [*notebook.setup.values(), *notebook.answers.values()]:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


class ForkedProcess:
    """What :class:`dlcourse.sandbox.Sandbox` needs of ``subprocess.Popen``
    (``pid``, ``stdin``, ``stdout``, ``poll``, ``wait``, ``returncode``) for
    a sandbox the zygote forked. Its exit status arrives on the status pipe;
    an empty read means the zygote died, and its children with it."""

    def __init__(self, pid: int, stdin, stdout, status_fd: int):
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.returncode: int | None = None
        # the zygote ended without reporting this child's end: the child died
        # with it (the machine's doing, never the student's)
        self.zygote_died = False
        self._status = status_fd

    def _collect(self, timeout: float | None) -> None:
        if self.returncode is not None:
            return
        ready, _, _ = select.select([self._status], [], [], timeout)
        if not ready:
            return
        data = b""
        while len(data) < STATUS.size:
            chunk = os.read(self._status, STATUS.size - len(data))
            if not chunk:
                break
            data += chunk
        os.close(self._status)
        if len(data) == STATUS.size:
            self.returncode = os.waitstatus_to_exitcode(STATUS.unpack(data)[0])
        else:
            self.returncode = -signal.SIGKILL
            self.zygote_died = True

    def poll(self) -> int | None:
        self._collect(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._collect(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired("sandbox", timeout)
        return self.returncode

    def __del__(self):
        if self.returncode is None:
            with contextlib.suppress(OSError):
                os.close(self._status)


def _preloadable(preload) -> list[str]:
    """The modules of ``preload`` a zygote imports, in order."""
    return sorted(set(preload) & PRELOADABLE)


def start_warm_process(module: str, args: list[str], env: dict, stderr=subprocess.DEVNULL):
    """Start ``python -I -m MODULE FD *ARGS PID``: a zygote-like process
    (this one, a kernel zygote, a template) with ``env``, FD its end of a new
    ``SOCK_SEQPACKET`` socket pair, PID this process's (see
    :func:`connect_to_starter`). Returns the ``Popen`` and this process's end."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-m", module, str(theirs.fileno()), *args, str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            # not the starter's folder (the course's): what the imports record
            # of their working folder (torch._dynamo's debug folder, say) the
            # children could read
            cwd="/",
            pass_fds=[theirs.fileno()],
            start_new_session=True,
        )
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return proc, ours


def connect_to_starter() -> socket.socket:
    """In a process started by :func:`start_warm_process`, first thing: die
    with the process that started it (and now, if that already died), and
    its socket to it."""
    from dlcourse.sandbox import confine

    confine.die_with_parent()
    if os.getppid() != int(sys.argv[-1]):
        os._exit(0)  # it died before that was set
    return socket.socket(fileno=int(sys.argv[1]))


class ZygoteError(OSError):
    """The zygote could not fork a sandbox: start one the plain way."""


# zygotes retired after a failure (see Zygote._retire), kept here so that
# their sockets stay open: each ends with the grader's process
_RETIRED: list = []


class Zygote:
    """The grader's handle on one zygote process. ``env``: the environment
    every sandbox it forks gets (that of :meth:`Sandbox.start`);
    ``preload``: module names, of :data:`PRELOADABLE`."""

    def __init__(self, env: dict, preload=(), start_timeout: float = 60.0):
        self.env = dict(env)
        self.preload = _preloadable(preload)
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._ready = False
        self._retired = False
        self._lock = threading.Lock()

    def started_for(self, env: dict, preload) -> bool:
        """Whether this zygote is what ``Zygote(env, preload)`` would be."""
        return self.env == dict(env) and self.preload == _preloadable(preload)

    def start(self, stderr=None) -> None:
        """Start the process; it gets ready in the background (first
        :meth:`spawn` waits for it). ``stderr``: where its own error output
        goes (``subprocess.DEVNULL``; default: this process's)."""
        self.proc, self._sock = start_warm_process(
            "dlcourse.sandbox.zygote", [json.dumps(self.preload)], self.env, stderr
        )

    def _await_ready(self) -> None:
        if self._retired or self._sock is None:
            raise ZygoteError("the zygote is not running")
        if self._ready:
            return
        ready, _, _ = select.select([self._sock], [], [], self.start_timeout)
        message = self._sock.recv(MAX_MESSAGE) if ready else b""
        if message != b"ready":
            self.close()
            raise ZygoteError("the zygote did not start")
        self._ready = True

    def spawn(self, config: dict, stderr_fd: int) -> ForkedProcess:
        """A new sandbox worker for ``config`` (the JSON the worker takes),
        as a :class:`ForkedProcess` whose ``stdin``/``stdout`` are the
        request and reply pipes. Raises ZygoteError when the zygote cannot."""
        with self._lock:
            self._await_ready()
            pipes: list[int] = []
            try:
                for _ in range(3):
                    pipes += os.pipe()
            except OSError:  # out of descriptors: leak none
                for fd in pipes:
                    os.close(fd)
                raise
            request_r, request_w, reply_r, reply_w, status_r, status_w = pipes
            theirs = [request_r, reply_w, stderr_fd, status_w]
            try:
                message = json.dumps({"config": config}).encode()
                if len(message) > MAX_MESSAGE:
                    raise ZygoteError("configuration too large for the zygote")
                try:
                    socket.send_fds(self._sock, [message], theirs)
                except OSError as exc:
                    if exc.errno != errno.EMSGSIZE:  # else nothing was sent
                        self._retire()
                    raise ZygoteError(f"the zygote failed ({exc})") from None
                try:
                    ready, _, _ = select.select([self._sock], [], [], self.start_timeout)
                    answer = json.loads(self._sock.recv(MAX_MESSAGE) or b"{}") if ready else {}
                    if not isinstance(answer, dict):
                        raise ValueError("not an answer")
                except (OSError, ValueError) as exc:
                    self._retire()
                    raise ZygoteError(f"the zygote failed ({exc})") from None
                if not isinstance(answer.get("pid"), int):
                    if "error" not in answer:  # no answer in time: a late one
                        self._retire()  # would be taken for the next request
                    raise ZygoteError(
                        f"the zygote could not fork ({answer.get('error', 'no answer')})"
                    )
            except BaseException:
                for fd in (request_w, reply_r, status_r):
                    os.close(fd)
                raise
            finally:
                for fd in (request_r, reply_w, status_w):
                    os.close(fd)
            return ForkedProcess(
                answer["pid"], open(request_w, "wb", 0), open(reply_r, "rb", 0), status_r
            )

    def adopt(self, sock: socket.socket, proc) -> None:
        """Take over a zygote that is ready and already serves ``sock``: one
        forked by a template (:mod:`dlcourse.sandbox.zygote_template`),
        ``proc`` its :class:`~dlcourse.sandbox.zygote_template.ZygoteProcess`."""
        self._sock, self.proc, self._ready = sock, proc, True

    def _retire(self) -> None:
        """Fork nothing more from this zygote (its answers may no longer
        match the requests) without ending it: ending it, or closing its
        socket, would kill the sandboxes it forked that are still in use,
        failing their checks for the machine's fault. :attr:`alive` is False
        from now on (the grader starts another); :meth:`close` still ends it."""
        self._retired = True
        if self.proc is not None and self.proc.poll() is None:
            _RETIRED.append(self)
        else:  # dead, and its sandboxes with it: nothing to keep
            self.close()

    @property
    def alive(self) -> bool:
        return not self._retired and self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        """End the zygote; the sandboxes it forked die with it."""
        with contextlib.suppress(ValueError):
            _RETIRED.remove(self)
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        proc, self.proc = self.proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()


# -- the zygote's side ------------------------------------------------------


class Children:
    """A zygote's forked children, each with the pipe its wait status (4
    bytes, :data:`STATUS`) is written to when it ends. Made in the zygote
    before its first fork: SIGCHLD wakes :meth:`wait_for` through a wakeup
    pipe (a handler, not SIG_IGN, which would reap without a status)."""

    def __init__(self):
        self.statuses: dict[int, int] = {}
        self._wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)

    def add(self, pid: int, status_fd: int) -> None:
        self.statuses[pid] = status_fd

    def reap(self) -> None:
        """Write the status of every child that has ended to its pipe."""
        while self.statuses:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            fd = self.statuses.pop(pid, None)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.write(fd, STATUS.pack(status))
                os.close(fd)

    def wait_for(self, sock: socket.socket) -> bool:
        """Reap, then wait until ``sock`` can be read or a child ends;
        whether ``sock`` can be read."""
        self.reap()
        ready, _, _ = select.select([sock, self._wake_r], [], [])
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_r, 4096)
        return sock in ready

    def forget(self) -> None:
        """In a forked child: none of this is its own (the descriptors are
        closed with the rest; its siblings' pids are not its business)."""
        self.statuses.clear()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)


def _serve(sock: socket.socket) -> None:
    """Fork a child per request; report each child's end on its status pipe.
    Returns when the grader's end of the socket closes."""
    children = Children()
    while True:
        if not children.wait_for(sock):
            continue
        try:
            message, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 4)
        except OSError:
            return
        if not message:
            return
        if len(fds) != 4:
            for fd in fds:
                os.close(fd)
            sock.send(json.dumps({"error": "expected four descriptors"}).encode())
            continue
        try:
            config = json.loads(message)["config"]
            zygote = os.getpid()
            pid = os.fork()
        except Exception as exc:  # noqa: BLE001 - told to the grader, who starts one itself
            for fd in fds:
                os.close(fd)
            sock.send(json.dumps({"error": str(exc)[:500]}).encode())
            continue
        if pid == 0:
            children.forget()
            _become_worker(config, zygote, *fds)
        request_r, reply_w, stderr_fd, status_w = fds
        for fd in (request_r, reply_w, stderr_fd):
            os.close(fd)
        children.add(pid, status_w)
        sock.send(json.dumps({"pid": pid}).encode())


def _become_worker(
    config: dict, zygote: int, request_r: int, reply_w: int, stderr_fd: int, _status: int
):
    """In the forked child of the zygote ``zygote`` (a pid): the descriptors
    and state of a freshly started worker, then the worker itself. Never
    returns."""
    try:
        os.setsid()
        from dlcourse.sandbox.confine import die_with_parent

        die_with_parent()
        # the zygote died before the line above (its orphans go to init or
        # to a subreaper: a graders' server)
        if os.getppid() != zygote:
            os._exit(70)
        os.dup2(request_r, 0)
        os.dup2(reply_w, 1)
        os.dup2(stderr_fd, 2)
        # the socket, the other children's status pipes, the wakeup pipe
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        sys.argv = [sys.argv[0], json.dumps(config)]
        # what a new process would have drawn: numpy's global generator is
        # seeded from the OS at import, here the zygote's (Python's random
        # reseeds itself at fork)
        import numpy.random

        numpy.random.seed()
        from dlcourse.sandbox import worker

        worker.main(config)
        os._exit(0)
    finally:
        os._exit(70)


def _import_torch_dynamo() -> None:
    """Import what torch imports when a process makes its first optimiser
    (torch._dynamo: about 1.5 s, paid by every sandbox that trains), without
    its side effect: that import creates torch's compile cache folder
    (``$TORCHINDUCTOR_CACHE_DIR``, by default ``<temp>/torchinductor_<user>``)
    and records its path in the environment. Here the path is ``/``, which
    exists, so nothing is created (the zygote is not yet confined: a folder
    made now would land on the host, as root); the environment variable is
    then put back, so that a child that compiles computes its own folder,
    inside its confinement, as a sandbox started anew does. Nothing else of
    that import touches a file, starts a thread or keeps a descriptor (strace,
    checked); it records the working folder (``debug_dir_root``), the
    zygote's: ``/``. A failure costs only the time it would have saved."""
    name = "TORCHINDUCTOR_CACHE_DIR"
    before = os.environ.get(name)
    os.environ[name] = "/"
    try:
        import torch._dynamo  # noqa: F401
    except Exception:  # noqa: BLE001 - a child that needs it imports it (and fails) itself
        pass
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def main() -> None:
    # before the imports (torch: seconds): a grader that dies meanwhile,
    # killed at a timeout or with its batch, takes this process with it
    # rather than leave it an orphan until its socket is next used
    sock = connect_to_starter()
    warm(json.loads(sys.argv[2]))
    sock.send(b"ready")
    _serve(sock)


def warm(preload) -> None:
    """Import what every child needs before it confines itself, and the
    modules of ``preload`` that are :data:`PRELOADABLE`; then freeze them."""
    for name in preload:
        if name in PRELOADABLE:
            __import__(name)
    if "torch" in sys.modules:
        _import_torch_dynamo()
    # numpy.random (17 ms) is used by most notebooks
    import numpy.random  # noqa: F401

    from dlcourse.sandbox import filesystem, wire, worker  # noqa: F401

    # the preloaded modules are the children's to read, never to collect
    # (see dlcourse.nbgrader_forks.serve)
    gc.freeze()


if __name__ == "__main__":
    main()
