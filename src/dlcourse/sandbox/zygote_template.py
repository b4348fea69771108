"""A warm process that forks each grading's sandbox zygote.

A grading's sandbox zygote (:mod:`dlcourse.sandbox.zygote`) is a fresh
``python -I`` that imports numpy, the worker's code and, for a notebook that
imports it, torch and what torch's first optimiser imports: about 0.3 CPU
seconds, and 3.8 with torch, for every submission graded. A *template* pays
that once per long-lived process that grades (the graders' server of
:mod:`dlcourse.graders_server`, the batch's nbgrader fork server): it is
started the same way (a fresh ``python -I`` in ``/``, with exactly the
sandbox's environment, never forked from a grader), makes the same imports,
and then only forks, one zygote per request; each forked zygote serves one
grading exactly as a zygote started anew does (:func:`zygote._serve`).

The rule of the zygote holds: what its sandboxes inherit is library code and
nothing of any grading. A template reads nothing but its requests, and a
request is a single word and one descriptor, a fresh socket: the forked
zygote's connection to the grader that asked, over which it says it is ready
(with its pid) and then takes that grader's requests; the template never
sees one. So nothing of one student's grading is in the memory the next
student's zygote is forked from.

Lifetimes: the template dies with the process that started it (parent-death
signal) and ends when its socket closes. A forked zygote is not tied to the
template (a template that dies takes no running grading with it): it ends
when its grader's end of its socket closes (the grader closed it, or died),
and its sandboxes die with it (their parent-death signal), as before. Its
grader holds a pidfd for it, so closing the zygote also kills it and waits
for it, as for one started anew. The template reaps its children (SIGCHLD
ignored). The graders' server, which runs one grading at a time, kills what
is left of a grading's zygotes before the next one starts
(:func:`dlcourse.graders_server._end_leftovers`).

What the sandboxes of all gradings forked from one template share, as the
sandboxes of one grading always did: the template's string-hash secret and
its memory layout (library addresses); each child still draws its own
random state (Python's at fork, numpy's reseeded), namespaces, user and
limits. Neither lets one sandbox reach another: a child cannot talk to any
other process than its grader.

A grader finds the templates of the process it was forked from in this
module (:func:`fork_zygote`); the request's socket is the only thing it
sends, so gradings running side by side (a batch's workers) share a template
without seeing each other's answers.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import resource
import select
import signal
import socket
import stat
import subprocess
import sys

from dlcourse.sandbox.zygote import (
    MAX_MESSAGE,
    Zygote,
    ZygoteError,
    _preloadable,
    start_warm_process,
)

REQUEST = b"zygote"
TEMPLATE_SWITCH = "DLCOURSE_ZYGOTE_TEMPLATE"

# started by this process, or by the process it was forked from
_templates: list[Template] = []


class ZygoteProcess:
    """What :class:`Zygote` needs of ``subprocess.Popen`` (``pid``, ``poll``,
    ``kill``, ``wait``) for a zygote that is not this process's child: a
    pidfd, which signals and waits without racing a reused pid."""

    def __init__(self, pid: int, pidfd: int):
        self.pid = pid
        self.returncode: int | None = None
        self._pidfd: int | None = pidfd

    def poll(self) -> int | None:
        return self.wait(0, raise_timeout=False)

    def wait(self, timeout: float | None = None, raise_timeout: bool = True) -> int | None:
        if self.returncode is None and self._pidfd is not None:
            ready, _, _ = select.select([self._pidfd], [], [], timeout)
            if ready:
                # not our child: its status is its parent's (the template's)
                self.returncode = -signal.SIGKILL
                self._release()
        if self.returncode is None and raise_timeout:
            raise subprocess.TimeoutExpired("sandbox zygote", timeout)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None and self._pidfd is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)

    def _release(self) -> None:
        fd, self._pidfd = self._pidfd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __del__(self):
        self._release()


class Template:
    """The handle on one template, started with ``env`` (the sandbox's
    environment) and ``preload`` (module names, of
    :data:`dlcourse.sandbox.zygote.PRELOADABLE`)."""

    def __init__(self, env: dict, preload=()):
        self.env = dict(env)
        self.preload = _preloadable(preload)
        self.owner = os.getpid()
        self.sock: socket.socket | None
        self.proc, self.sock = start_warm_process(
            "dlcourse.sandbox.zygote_template", [json.dumps(self.preload)], self.env
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def matches(self, env: dict, preload) -> bool:
        return self.env == dict(env) and self.preload == _preloadable(preload)

    def alive(self) -> bool:
        """Whether it runs (known only to the process that started it; in
        the others a dead template shows as a fork that fails)."""
        if self.sock is None:
            return False
        return os.getpid() != self.owner or self.proc.poll() is None

    def fork(self, start_timeout: float = 60.0) -> Zygote:
        """A new zygote, ready (waits for the template's own start, up to
        ``start_timeout``), with this process's address-space limit and
        error output. Raises ZygoteError when the template cannot; this
        process then asks it no more (a wedged template would cost every
        later grading the wait)."""
        if self.sock is None:
            raise ZygoteError("the zygote template is closed")
        try:
            return self._fork(start_timeout)
        except BaseException:
            if os.getpid() != self.owner:
                self.sock.close()  # this process's copy only
                self.sock = None
            raise

    def _fork(self, start_timeout: float) -> Zygote:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            try:
                # never blocks: a template that stopped reading fails the
                # request at once (its queue full) instead of hanging it
                # (sendmsg: socket.send_fds drops its flags in Python 3.11)
                rights = array.array("i", [theirs.fileno(), 2])
                self.sock.sendmsg(
                    [REQUEST],
                    [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)],
                    socket.MSG_DONTWAIT,
                )
            except OSError as exc:
                raise ZygoteError(f"the zygote template failed ({exc})") from None
            finally:
                # from now on only the forked zygote holds that end: the
                # template closes its copy once it has forked, or dies
                theirs.close()
            ready, _, _ = select.select([ours], [], [], start_timeout)
            try:
                said = json.loads(ours.recv(MAX_MESSAGE) or b"{}") if ready else {}
                pid = said["pid"] if said.get("ready") is True else None
            except (OSError, ValueError, AttributeError, KeyError):
                pid = None
            if not isinstance(pid, int):
                raise ZygoteError("the zygote template did not fork a zygote")
            pidfd = os.pidfd_open(pid)
            # the pidfd is the zygote's if its end of the socket is still
            # open now: a zygote that died before the pidfd was opened (its
            # pid perhaps reused since) has hung up, and would be refused here
            try:
                ours.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                alive = False  # hung up (b""), or said something unasked
            except BlockingIOError:
                alive = True
            except OSError:
                alive = False
            if not alive:
                os.close(pidfd)
                raise ZygoteError("the forked zygote ended at once")
            # what a zygote started by this process inherits from it; the
            # template's is the long-lived process's (the sandboxes set
            # their own, this bounds the zygote and their outer processes)
            with contextlib.suppress(OSError):
                limit = resource.getrlimit(resource.RLIMIT_AS)
                resource.prlimit(pid, resource.RLIMIT_AS, limit)
        except BaseException:
            ours.close()
            raise
        zygote = Zygote(self.env, preload=self.preload, start_timeout=start_timeout)
        zygote.adopt(ours, ZygoteProcess(pid, pidfd))
        return zygote

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()
        if os.getpid() == self.owner:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait()


def ensure_template(env: dict, preload=()) -> Template | None:
    """In a long-lived grading process, before it forks a grader: the running
    template for ``env`` and ``preload``, started now if there is none (it
    gets ready in the background; the first fork waits for it). None when
    zygotes are turned off (``DLCOURSE_SANDBOX_ZYGOTE=0``), templates are
    (``DLCOURSE_ZYGOTE_TEMPLATE=0``: each grading starts its zygote anew), or
    it cannot start."""
    if "0" in (os.environ.get(name, "1") for name in ("DLCOURSE_SANDBOX_ZYGOTE", TEMPLATE_SWITCH)):
        return None
    for template in list(_templates):
        if template.owner != os.getpid():
            continue
        if not template.alive():
            template.close()
            _templates.remove(template)
        elif template.matches(env, preload):
            return template
    try:
        template = Template(env, preload)
    except OSError:
        return None
    _templates.append(template)
    return template


def fork_zygote(env: dict, preload, start_timeout: float = 60.0) -> Zygote | None:
    """A zygote forked from a template this process has (started here or
    inherited) for ``env`` and ``preload``; None when there is none or it
    cannot fork (the caller then starts a zygote anew)."""
    if os.environ.get(TEMPLATE_SWITCH, "1") == "0":
        return None
    for template in _templates:
        if template.sock is not None and template.matches(env, preload):
            try:
                return template.fork(start_timeout)
            except (ZygoteError, OSError):
                return None
    return None


def template_pids() -> set[int]:
    """The pids of the running templates this process started (one that
    died is forgotten here: its pid may be another process's by now)."""
    for template in list(_templates):
        if template.owner == os.getpid() and not template.alive():
            template.close()
            _templates.remove(template)
    return {t.pid for t in _templates if t.owner == os.getpid()}


def close_templates() -> None:
    """End the templates this process started; forget inherited ones."""
    while _templates:
        template = _templates.pop()
        if template.owner == os.getpid():
            template.close()


def preload_for(root, assignment: str) -> list[str] | None:
    """The modules the zygotes of ``assignment``'s graders preload: the
    :data:`PRELOADABLE` ones its reference notebook
    (``ROOT/source/A/A.ipynb``) imports, as :class:`GradingSession` asks for
    them; None when it cannot be read."""
    from dlcourse.sandbox.zygote import imported_modules
    from dlcourse.submission import load_notebook

    path = os.path.join(str(root), "source", assignment, f"{assignment}.ipynb")
    try:
        return _preloadable(imported_modules(load_notebook(path)))
    except Exception:  # noqa: BLE001 - then the graders start their zygote anew
        return None


# -- the template's side -----------------------------------------------------


def _serve(sock: socket.socket) -> None:
    """Fork a zygote per request. Returns when the socket closes."""
    while True:
        try:
            # room for one more than a request has: more is refused too
            message, fds, _, _ = socket.recv_fds(sock, 64, 3)
        except OSError:
            return
        if not message and not fds:
            return
        if message != REQUEST or len(fds) != 2 or not _is_socket(fds[0]):
            for fd in fds:
                os.close(fd)
            continue
        try:
            pid = os.fork()
        except OSError:  # the grader sees its socket hang up
            pid = None
        if pid == 0:
            _become_zygote(sock, *fds)
        for fd in fds:
            os.close(fd)


def _is_socket(fd: int) -> bool:
    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        return False


def _become_zygote(template_sock: socket.socket, fd: int, stderr_fd: int) -> None:
    """In the forked child: a zygote serving the grader at the other end of
    ``fd``, its error output into ``stderr_fd`` (the grader's). Never
    returns."""
    try:
        from dlcourse.sandbox import zygote

        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        # the template's socket is closed below with every other descriptor:
        # the zygote holds no way to ask for more zygotes
        template_sock.detach()
        os.dup2(stderr_fd, 2)
        if fd != 3:
            os.dup2(fd, 3, inheritable=False)
        os.closerange(4, os.sysconf("SC_OPEN_MAX"))
        sock = socket.socket(fileno=3)
        sock.send(json.dumps({"ready": True, "pid": os.getpid()}).encode())
        zygote._serve(sock)
    finally:
        os._exit(0)


def main() -> None:
    from dlcourse.sandbox import zygote

    sock = zygote.connect_to_starter()
    zygote.warm(json.loads(sys.argv[2]))
    # the forked zygotes are reaped by the kernel (their graders learn of
    # their end from their socket and pidfd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    _serve(sock)


if __name__ == "__main__":
    main()
