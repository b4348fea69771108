"""A warm process that forks the confined kernel of each graded notebook.

A graded notebook's kernel is started by its launcher
(:mod:`dlcourse.sandbox.launch`), which confines itself and then execs
``python -m dlcourse.kernel_app``: a Python start and ipykernel's imports
(jupyter_client, zmq, asyncio, IPython: about 0.35 s here) plus numpy's
(0.12 s), for every notebook. The nbgrader fork server
(:mod:`dlcourse.nbgrader_forks`) starts one kernel zygote, which pays them
once per batch worker; each autograde it forks then has its kernel forked
from the zygote instead of exec'd.

The zygote is started like the launcher: a fresh ``python -I`` in ``/``
with exactly the kernel's environment (never forked from nbgrader, whose
memory holds the course's configuration and database). It imports the
kernel's code and numpy, checks once that a confined child can build its
allow-list root, and then only forks. It never reads a request: each child
reads its own configuration from a pipe after the fork, so no student's
paths or settings stay in the memory the later kernels are forked from.
The child then does what the launcher does (:func:`launch.confine_kernel`:
its own namespaces, cgroups, allow-list root, user and limits, nothing
shared with any other child) and runs :func:`dlcourse.kernel_app.main`.

Only a kernel whose configuration holds nothing it must not see is forked:
the hidden paths the allow-list root would still show (a course kept under
/usr, say) are covered by the launcher, whose memory the exec'd kernel
does not inherit, so such kernels start the plain way; and a child that
cannot build the allow-list root stops rather than fall back to covering
paths it was not given. Any failure of the zygote also means the plain
way.

A request (one ``SOCK_SEQPACKET`` message on the socket the fork server's
children inherit) passes descriptors only: a socket for the answer (the
child's pid and a pidfd, through which the client signals it without
racing a reused pid), the configuration pipe, the kernel's output and
error output, the write end of a status pipe (the zygote reaps the child
and writes its wait status there) and the read end of a lifeline pipe. A
kernel forked here is not the client's child: when the client dies (an
autograde killed at its timeout), the lifeline hangs up and the child's
outer process kills the kernel (:func:`confine.enter`). A kernel does not
die with the zygote; should the zygote die, the client learns the kernel's
end from its pidfd.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import sys

from dlcourse.sandbox.zygote import (
    Children,
    ForkedProcess,
    ZygoteError,
    connect_to_starter,
    start_warm_process,
)

MAX_CONFIG = 60_000  # written before the fork: below a pipe's 64 KiB
REQUEST = b"kernel"
ANSWER_SECONDS = 10.0

# set in the nbgrader fork server, inherited by the children it forks
_server: KernelZygote | None = None


# -- the client's side -------------------------------------------------------


class KernelProcess(ForkedProcess):
    """What jupyter_client's provisioner needs of ``subprocess.Popen`` for a
    kernel forked by the zygote: ``poll``/``wait`` (the status pipe),
    ``send_signal``/``kill``/``terminate`` (a pidfd)."""

    def __init__(self, pid: int, status_fd: int, pidfd: int, lifeline: int):
        super().__init__(pid, None, None, status_fd)
        self.stderr = None
        self._pidfd = pidfd
        self._lifeline = lifeline

    def _collect(self, timeout):
        if self.returncode is not None:
            return
        if self.zygote_died:
            # no status will come: the pidfd says whether the kernel ended
            ready, _, _ = select.select([self._pidfd], [], [], timeout)
            if ready:
                self.returncode = -signal.SIGKILL
                self._release()
            return
        super()._collect(timeout)
        if self.zygote_died:
            self.returncode = None
            self._collect(timeout)
        elif self.returncode is not None:
            self._release()

    def _release(self) -> None:
        for name in ("_pidfd", "_lifeline"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                with contextlib.suppress(OSError):
                    os.close(fd)

    def send_signal(self, signum: int) -> None:
        if self.poll() is None and self._pidfd is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def __del__(self):
        self._release()
        super().__del__()


class KernelZygote:
    """The fork server's handle on its kernel zygote, started with ``env``
    (the kernel's environment)."""

    def __init__(self, env: dict):
        self.env = dict(env)
        self.ready = False
        self.owner = os.getpid()
        self.forked = 0  # kernels forked for this process
        self.proc, self.sock = start_warm_process("dlcourse.sandbox.kernel_zygote", [], self.env)

    def check_ready(self, timeout: float = 0.0) -> bool:
        """Whether the zygote said it is ready and can confine. Read once,
        by the process that started it (the fork server, before each fork):
        a child that read it would take it from all the later ones."""
        if not self.ready and self.sock is not None and os.getpid() == self.owner:
            ready, _, _ = select.select([self.sock], [], [], timeout)
            if ready:
                try:
                    said = json.loads(self.sock.recv(4096) or b"{}")
                except (OSError, ValueError):
                    said = {}
                if said.get("ready") and said.get("allow_list") is True:
                    self.ready = True
                else:
                    self.close()
        return self.ready

    def spawn(self, config: dict) -> KernelProcess:
        """A kernel for ``config`` (``sandbox``: the launcher's configuration;
        ``args``: kernel_app's arguments; ``environ``: the kernel's
        environment, which must be this zygote's). Its output goes to this
        process's. Raises ZygoteError when the zygote cannot fork one."""
        if not self.ready or self.sock is None:
            raise ZygoteError("the kernel zygote is not ready")
        if config.get("environ") != self.env:
            raise ZygoteError("the kernel's environment is not the zygote's")
        data = json.dumps(config).encode()
        if len(data) > MAX_CONFIG:
            raise ZygoteError("configuration too large for the kernel zygote")
        answer, answer_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config_r, config_w = os.pipe()
        status_r, status_w = os.pipe()
        life_r, life_w = os.pipe()
        keep = False
        try:
            os.write(config_w, data)
            os.close(config_w)
            config_w = None
            theirs = [answer_theirs.fileno(), config_r, 1, 2, status_w, life_r]
            try:
                socket.send_fds(self.sock, [REQUEST], theirs)
            except OSError as exc:
                raise ZygoteError(f"the kernel zygote failed ({exc})") from None
            for fd in (config_r, status_w, life_r):
                os.close(fd)
            config_r = status_w = life_r = None
            answer_theirs.close()
            ready, _, _ = select.select([answer], [], [], ANSWER_SECONDS)
            if not ready:
                raise ZygoteError("the kernel zygote did not answer")
            try:
                message, fds, _, _ = socket.recv_fds(answer, 4096, 1)
                pid = json.loads(message)["pid"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ZygoteError(f"the kernel zygote failed ({exc})") from None
            if len(fds) != 1 or not isinstance(pid, int):
                for fd in fds:
                    os.close(fd)
                raise ZygoteError("the kernel zygote could not fork")
            os.set_inheritable(fds[0], False)
            keep = True
            self.forked += 1
            return KernelProcess(pid, status_r, fds[0], life_w)
        finally:
            answer.close()
            answer_theirs.close()
            for fd in (config_r, config_w, status_w, life_r):
                if fd is not None:
                    os.close(fd)
            if not keep:
                # a child forked after all reads a lifeline already hung up
                os.close(status_r)
                os.close(life_w)

    def close(self) -> None:
        sock, self.sock = self.sock, None
        self.ready = False
        if sock is not None:
            sock.close()
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()


def start_server_zygote(env: dict) -> KernelZygote | None:
    """In the nbgrader fork server: start the zygote its children use (None
    where kernels are not confined: not root, not Linux, or turned off with
    ``DLCOURSE_KERNEL_ZYGOTE=0``)."""
    global _server
    if os.environ.get("DLCOURSE_KERNEL_ZYGOTE") == "0":
        return None
    if not (os.geteuid() == 0 and sys.platform.startswith("linux")):
        return None
    _server = KernelZygote(env)
    return _server


def current() -> KernelZygote | None:
    """The zygote this process may fork its kernel from, if one is ready."""
    if _server is None or not _server.check_ready():
        return None
    # only the process that started it can wait for it (in a forked child
    # Popen.poll takes "not my child" for an exit); elsewhere a dead zygote
    # shows when spawn fails
    if _server.owner == os.getpid() and _server.proc.poll() is not None:
        return None
    return _server


# -- the zygote's side -------------------------------------------------------


def confined(report: dict) -> bool:
    """Whether confine.enter's ``report`` says the kernel's file system and
    user are what a forked kernel needs (no fallback of any kind)."""
    return "file system" in report.get("applied", ()) and not any(
        m.startswith(("namespaces", "allow-list")) for m in report.get("missing", ())
    )


def _probe() -> bool:
    """Whether a child confined as a kernel is (allow-list root included)."""
    from dlcourse.sandbox import confine

    pid = os.fork()
    if pid == 0:
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            report = confine.enter(limits={"cpu_seconds": 10}, deny_list_fallback=False)
            os._exit(0 if confined(report) else 71)
        finally:
            os._exit(70)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _serve(sock: socket.socket) -> None:
    """Fork a kernel per request; report each one's end on its status pipe.
    Returns when the fork server's end of the socket closes."""
    children = Children()
    while True:
        if not children.wait_for(sock):
            continue
        try:
            message, fds, _, _ = socket.recv_fds(sock, 64, 6)
        except OSError:
            return
        if not message and not fds:
            return
        if message != REQUEST or len(fds) != 6:
            for fd in fds:
                os.close(fd)
            continue
        answer, status_w = fds[0], fds[4]
        try:
            pid = os.fork()
        except OSError:
            for fd in fds:
                os.close(fd)
            continue
        if pid == 0:
            # nothing of the siblings stays reachable (from the frames)
            children.forget()
            # The child closes this descriptor (closerange) and the kernel
            # reuses its number; the socket object, still held by these
            # frames, would close that number again when they unwind at the
            # kernel's exit, before the exit handlers: one of zmq's own
            # descriptors, and zmq aborts the kernel in its context's end.
            # Detached, the object owns nothing. It is the zygote's only
            # object that owns a descriptor (test_kernel_zygote).
            sock.detach()
            _become_kernel(*fds)  # returns only into the kernel's normal exit
            raise SystemExit(0)
        for fd in fds[1:4] + fds[5:]:
            os.close(fd)
        children.add(pid, status_w)
        reply = socket.socket(fileno=answer)
        try:
            pidfd = os.pidfd_open(pid)
            try:
                socket.send_fds(reply, [json.dumps({"pid": pid}).encode()], [pidfd])
            finally:
                os.close(pidfd)
        except OSError:
            pass  # the client is gone: its lifeline has hung up, the kernel dies
        finally:
            reply.close()


def _become_kernel(answer, config_r, out, err, _status, lifeline) -> None:
    """In the forked child: read the configuration, confine as the launcher
    does, then be the kernel. Returns when the kernel has ended (the caller
    leaves Python normally, exit handlers and all); exits 70 if the kernel
    could not be set up."""
    try:
        os.setsid()
        # no death signal tied to the zygote: a zygote that dies (the
        # machine's doing) must not take running kernels, and a cell's
        # points, with it; the lifeline ties the kernel to its client
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        data = b""
        while len(data) <= MAX_CONFIG:
            chunk = os.read(config_r, MAX_CONFIG + 1)
            if not chunk:
                break
            data += chunk
        os.dup2(lifeline, 3, inheritable=False)
        # the zygote's socket, the other children's pipes, the wakeup pipe
        os.closerange(4, os.sysconf("SC_OPEN_MAX"))
        config = json.loads(data)
        os.environ.clear()
        os.environ.update(config["environ"])
        from dlcourse.sandbox.launch import confine_kernel

        report = confine_kernel(config["sandbox"], deny_list_fallback=False, lifeline=3)
        if not confined(report):
            os._exit(71)
        _settle_matplotlib()
        # what a new process would have drawn: numpy's global generator is
        # seeded from the OS at import, here the zygote's
        import numpy.random

        numpy.random.seed()
        from dlcourse import kernel_app

        sys.argv = [kernel_app.__file__, *config["args"]]
    except BaseException:  # noqa: BLE001 - the client sees the kernel die
        with contextlib.suppress(Exception):
            import traceback

            traceback.print_exc()
        os._exit(70)
    kernel_app.main()


def _preload_matplotlib() -> None:
    """Import pyplot, which every notebook of the course imports (0.46 s of
    each kernel's CPU: 5.5 of 78 CPU-s in a py-spy profile of a batch of 12
    submissions), the way a kernel's import would see the machine, minus
    what belongs to one kernel: with the course's font list from the folder
    only root writes (:mod:`dlcourse.sandbox.font_cache`, which every kernel
    is given a copy of anyway) as matplotlib's configuration folder, no
    backend named, and in ``/``, so no ``matplotlibrc`` of anyone's is read
    (a kernel's import read one in the notebook's folder; now none is).
    The backend is left unresolved: the inline backend's module, which hooks
    itself into the IPython shell when it is imported, is first imported by
    the kernel, at its first figure, as before. Each child then reads its
    own environment again (:func:`_settle_matplotlib`). Without the font
    list (no root) or if the import fails, nothing of matplotlib stays and
    each kernel imports it itself."""
    from dlcourse.sandbox.kernel import font_list_folder_of_kernels

    folder = font_list_folder_of_kernels()
    if folder is None:
        return
    # the kernel's HOME and caches are its private /tmp, here the machine's:
    # should matplotlib have to rebuild the list, fontconfig and the font
    # scan look only in the root-owned folder (as font_cache's build does)
    names = ("MPLCONFIGDIR", "MPLBACKEND", "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")
    saved = {name: os.environ.pop(name, None) for name in names + ("XDG_DATA_HOME",)}
    os.environ.update({name: folder for name in names if name != "MPLBACKEND"})
    try:
        import matplotlib.pyplot  # noqa: F401
    except Exception:  # noqa: BLE001 - each kernel imports it, and reports
        for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
            del sys.modules[name]
    finally:
        for name in saved:
            os.environ.pop(name, None)
        os.environ.update({k: v for k, v in saved.items() if v is not None})


def _settle_matplotlib() -> None:
    """In a forked kernel, once its environment is set: what matplotlib's
    import reads of the environment, read from the kernel's (its private
    configuration folder, ``MPLBACKEND``), as if the kernel had imported it."""
    import functools

    mpl = sys.modules.get("matplotlib")
    if mpl is None:
        return
    for name in ("get_configdir", "get_cachedir"):
        # remembered at the zygote's import: the font list's folder
        setattr(mpl, name, functools.cache(getattr(mpl, name).__wrapped__))
    # the two paths matplotlib's modules compute from them at their import
    style = sys.modules.get("matplotlib.style")
    if style is not None:
        # one list, also style.core's; the folder does not exist yet in the
        # kernel's new /tmp, as it did not at the zygote's import
        style.USER_LIBRARY_PATHS[:] = [os.path.join(mpl.get_configdir(), "stylelib")]
    texmanager = sys.modules.get("matplotlib.texmanager")
    if texmanager is not None:
        from pathlib import Path

        texmanager.TexManager._cache_dir = Path(mpl.get_cachedir(), "tex.cache")
    if os.environ.get("MPLBACKEND"):
        mpl.rcParams["backend"] = os.environ["MPLBACKEND"]


def main() -> None:
    sock = connect_to_starter()
    if os.environ.get("DLCOURSE_KERNEL_DEBUGGER", "0") != "1":
        # as dlcourse.kernel_app does before it imports ipykernel: ipykernel
        # decides at import whether its kernels get the debugger (the child
        # makes debugpy importable again once its kernel is set up)
        sys.modules["debugpy"] = None
    # what every kernel imports (ipykernel_launcher's imports) and what
    # every notebook of the course does, numpy
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import numpy.random  # noqa: F401

    from dlcourse import kernel_app  # noqa: F401
    from dlcourse.sandbox import filesystem, font_cache, launch  # noqa: F401

    _preload_matplotlib()
    allow_list = _probe()
    gc.freeze()
    sock.send(json.dumps({"ready": True, "allow_list": allow_list}).encode())
    _serve(sock)


if __name__ == "__main__":
    main()
