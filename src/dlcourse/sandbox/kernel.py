"""A Jupyter kernel that starts confined.

``SandboxedKernelManager`` starts the kernel through
:mod:`dlcourse.sandbox.launch`, so a student's notebook runs with the same
confinement as the hidden graders' sandboxes (own network, PID and mount
namespaces, the course folder hidden except the notebook's own folder, a
read-only file system elsewhere, limits on CPU time, memory, processes and
file size). nbgrader's execution uses it through
:class:`dlcourse.nbgrader_ext.sandboxed_kernel.SandboxedExecute`; graders that
need an executed notebook use it through :mod:`dlcourse.execution`. This
module imports no nbgrader.

The kernel has no network, so it talks to its client over Unix sockets
(ZeroMQ ``ipc`` transport) in a short-lived folder under ``/run/dlcourse``
that both sides can reach. Without root the kernel runs with the resource
limits only, over TCP, and the log says so once.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, DottedObjectName, Type, Unicode

from dlcourse.sandbox.harvest import read_small_file
from dlcourse.sandbox.hiding import paths_to_hide

log = logging.getLogger("dlcourse.sandbox")

KERNEL_LIMITS = {
    "cpu_seconds": 1800,
    "memory_bytes": 8 * 1024**3,
    "processes": 128,
    "file_bytes": 256 * 1024**2,
    "open_files": 1024,
}
_warned = False


_created: list[str] = []

# What the kernel inherits of the grading process's environment: nothing but
# these (the instructor's secrets, paths and tokens stay outside), plus what
# the launcher's config sets.
ENVIRONMENT_ALLOWED = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "DLCOURSE_FASHION_MNIST",
)
ENVIRONMENT_ALLOWED_PREFIXES = ("OPENBLAS_CORE",)


def kernel_environment(parent) -> dict[str, str]:
    """The environment a confined kernel starts with: a fixed PATH and HOME,
    and the allowed variables of ``parent`` (a mapping), nothing else."""
    env = {
        "PATH": os.pathsep.join(
            [os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
    }
    for name, value in parent.items():
        if name in ENVIRONMENT_ALLOWED or name.startswith(ENVIRONMENT_ALLOWED_PREFIXES):
            env[name] = value
    return env


def _report_missing(data: bytes | None) -> list[str]:
    """What the launcher's report says it could not apply. The report is
    read before any student code runs, and still checked for its shape: an
    unreadable one counts as a sandbox that could not be confirmed."""
    unreadable = ["confirmation (the sandbox's report is missing or unreadable)"]
    if data is None:
        return unreadable
    try:
        report = json.loads(data)
    except (ValueError, RecursionError):
        return unreadable
    missing = report.get("missing") if isinstance(report, dict) else None
    if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
        return unreadable
    return [m[:200] for m in missing[:20]]


def orderly_kernel_command(command: list[str]) -> list[str]:
    """``command`` with ipykernel's program replaced by
    :mod:`dlcourse.kernel_app` (the same kernel, without ipykernel's shutdown
    hang) where it is ``python -m ipykernel_launcher`` of this environment:
    the one whose packages include this library. Environments are told apart
    by the folder of their interpreter's path, never its target: every
    virtual environment's python links to the same base interpreter.

    The program runs with ``-P`` (Python 3.11 on), so that the notebook's
    folder is not searched for it (see :mod:`dlcourse.kernel_app`)."""
    ours = os.path.dirname(os.path.abspath(sys.executable))
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    for i in range(1, len(command) - 1):
        if command[i : i + 2] == ["-m", "ipykernel_launcher"]:
            if os.path.dirname(os.path.abspath(command[0])) == ours:
                program = [*safe_path, "-m", "dlcourse.kernel_app"]
                return [*command[:i], *program, *command[i + 2 :]]
            break
    return command


class OrderlyKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run :mod:`dlcourse.kernel_app` (see
    :func:`orderly_kernel_command`) and whose end is looked for every 10 ms."""

    async def _async_pre_start_kernel(self, **kw):
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        return orderly_kernel_command(list(kernel_cmd)), kw

    async def _async_finish_shutdown(self, waittime=None, pollinterval=0.1, restart=False):
        # a kernel ends some tens of ms after its shutdown reply: looking
        # every 0.1 s (jupyter_client's pace) lost 50 ms a grading on average
        await super()._async_finish_shutdown(waittime, min(pollinterval, 0.01), restart)


# how long jupyter_client waits for an IOPub message while a kernel starts
IOPUB_QUIET = 0.2


class SandboxedKernelClient(AsyncKernelClient):
    """The client of a sandboxed kernel: seals the kernel's socket folder as
    soon as the kernel answers (see :meth:`SandboxedKernelManager.seal`)."""

    async def wait_for_ready(self, timeout=None):
        await self._until_ready(timeout)
        manager = self.parent
        if isinstance(manager, SandboxedKernelManager):
            manager.seal()

    async def _until_ready(self, timeout: float | None) -> None:
        """jupyter_client's ``wait_for_ready`` for a kernel this process
        started, but for its last step: it reads the IOPub messages of the
        kernel_info exchange up to the kernel's "idle" status for it, where
        jupyter_client reads until 0.2 s pass without any (0.2 s of every
        kernel's start). As there, a kernel that dies or stays silent past
        ``timeout`` raises RuntimeError, and a reply that comes before IOPub
        is connected is asked for again."""
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            asked = self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                msg = None
            if msg is not None and msg["msg_type"] == "kernel_info_reply":
                last = await self._iopub_until_idle(msg["parent_header"].get("msg_id", asked))
                if last is not None:  # IOPub is connected
                    self._handle_kernel_info_reply(msg)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _iopub_until_idle(self, request: str) -> dict | None:
        """IOPub messages read until the "idle" status of ``request``, or
        the kernel's welcome (ipykernel 7 sends it once this client is
        subscribed: the statuses of a request it answered before are lost,
        and those of one it answers after are left for nbclient, which skips
        any message not about its cell), or 0.2 s without any; the last one
        read, None when none came."""
        last = None
        while True:
            try:
                last = await self.iopub_channel.get_msg(timeout=IOPUB_QUIET)
            except Empty:
                return last
            if last.get("msg_type") == "iopub_welcome":
                return last
            if (
                last.get("msg_type") == "status"
                and last.get("content", {}).get("execution_state") == "idle"
                and last.get("parent_header", {}).get("msg_id") == request
            ):
                return last


def font_list_folder_of_kernels() -> str | None:
    """The folder of matplotlib's font list every confined kernel is given a
    copy of (see :mod:`dlcourse.sandbox.font_cache`), built on first use;
    None where it cannot be."""
    from dlcourse.sandbox.font_cache import font_list_folder

    folder = font_list_folder(_ipc_base() / "fonts")
    return str(folder) if folder else None


def _ipc_base() -> Path:
    for base in (Path("/run/dlcourse"), Path.home() / ".cache" / "dlcourse" / "ipc"):
        try:
            base.mkdir(parents=True, exist_ok=True)
            return base
        except OSError:
            continue
    return Path(tempfile.gettempdir())


@atexit.register
def _remove_leftovers() -> None:
    """nbgrader gives up on a notebook whose kernel died without cleaning up
    the kernel manager: remove this process's socket folders at exit."""
    for folder in _created:
        shutil.rmtree(folder, ignore_errors=True)


class SandboxedKernelManager(OrderlyKernelManager):
    """A kernel manager whose kernels start confined."""

    course_root = Unicode(
        "", help="Course folder to hide from the kernel (except the notebook's folder)."
    ).tag(config=True)
    limits = Dict(
        KERNEL_LIMITS,
        help="Resource limits of the kernel: cpu_seconds, memory_bytes, processes, file_bytes, open_files.",
    ).tag(config=True)

    client_class = DottedObjectName("dlcourse.sandbox.kernel.SandboxedKernelClient")
    client_factory = Type(SandboxedKernelClient, klass=AsyncKernelClient)

    _ipc_dir: str | None = None
    _sealed = False
    _zygote_request: tuple | None = None  # (zygote, request)
    # what the launcher could not apply (None: no report read, no sandbox)
    missing: list[str] | None = None

    async def _async_pre_start_kernel(self, **kw):
        root_user = os.geteuid() == 0 and sys.platform.startswith("linux")
        cwd = os.path.realpath(kw.get("cwd") or os.getcwd())
        self._sealed, self.missing = False, None
        if not root_user:
            self.missing = ["network", "file system", "process namespace"]
        if root_user:
            self._ipc_dir = tempfile.mkdtemp(prefix="k", dir=_ipc_base())
            _created.append(self._ipc_dir)
            self.transport = "ipc"
            self.ip = os.path.join(self._ipc_dir, "s")
            # the kernel's /tmp is private: its connection file lives here too
            self.connection_file = os.path.join(self._ipc_dir, "kernel.json")
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        root = self.course_root or cwd
        config = {
            "hidden_paths": paths_to_hide(root, keep=[cwd]) if self.course_root else [],
            "limits": dict(self.limits),
            "writable": [cwd] + ([self._ipc_dir] if self._ipc_dir else []),
            "workdir": cwd,
            "report": os.path.join(self._ipc_dir, "report.json") if self._ipc_dir else None,
            # matplotlib's font list, copied into the kernel's private /tmp
            # (see dlcourse.sandbox.font_cache); None without root
            "font_lists": font_list_folder_of_kernels() if root_user else None,
            "env": {
                "IPYTHONDIR": "/tmp/ipython",
                "MPLCONFIGDIR": "/tmp/matplotlib",
                # caches (fontconfig's among them) in the private /tmp: HOME
                # is the grading user's, which the kernel cannot write
                "XDG_CACHE_HOME": "/tmp/.cache",
                # figures are shown in the notebook, as in Jupyter (the graders
                # look for them, the feedback shows them)
                "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            },
        }
        # -I: the launcher runs as root before confinement, so nothing may be
        # imported from its working folder, PYTHONPATH or the user's site; it
        # starts in / and moves into the notebook's folder itself
        launcher = [sys.executable, "-I", "-m", "dlcourse.sandbox.launch", json.dumps(config), "--"]
        kw["cwd"] = "/"
        kw["env"] = kernel_environment(kw.get("env") or os.environ)
        self._zygote_request = self._zygote_request_for(config, list(kernel_cmd), kw["env"])
        return launcher + list(kernel_cmd), kw

    def _zygote_request_for(self, config: dict, kernel_cmd: list[str], env: dict):
        """The kernel zygote of this process (see
        :mod:`dlcourse.sandbox.kernel_zygote`) and what it needs to fork this
        kernel, as ``(zygote, request)``; or None where the kernel must start
        the plain way: no zygote, not our kernel program, or hidden paths that
        the kernel's root would still show (only the launcher may hold those)."""
        from dlcourse.sandbox import filesystem, kernel_zygote

        zygote = kernel_zygote.current()
        if zygote is None or not self._ipc_dir:
            return None
        program = ["-P", "-m", "dlcourse.kernel_app"]
        ours = os.path.dirname(os.path.abspath(sys.executable))
        if kernel_cmd[1:4] != program or os.path.dirname(os.path.abspath(kernel_cmd[0])) != ours:
            return None
        if filesystem.visible_in_allow_list(config["hidden_paths"], config["writable"], env):
            return None
        return zygote, {
            "sandbox": {**config, "hidden_paths": []},
            "args": kernel_cmd[4:],
            "environ": env,
        }

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        forked, self._zygote_request = self._zygote_request, None
        if forked is not None:
            zygote, request = forked
            try:
                process = zygote.spawn(request)
            except OSError as exc:
                log.info("kernel zygote: %s; starting the kernel the plain way", exc)
            else:
                # what LocalProvisioner.launch_kernel records; no process
                # group: signals go to the kernel through its pidfd
                provisioner = self.provisioner
                provisioner.process = process
                provisioner.pid, provisioner.pgid = process.pid, None
                provisioner.cwd = kw.get("cwd")
                self._reconcile_connection_info(provisioner.connection_info)
                return
        await super()._async_launch_kernel(kernel_cmd, **kw)

    def seal(self) -> None:
        """Called once the kernel answers, before any cell runs: read the
        launcher's report, then give the socket folder back to root, read-only
        for the kernel. From then on the kernel cannot swap a socket for a
        link (which the client, as root, would follow when it reconnects) nor
        rewrite the report."""
        if self._sealed or not self._ipc_dir:
            return
        self._sealed = True
        self.missing = _report_missing(read_small_file(os.path.join(self._ipc_dir, "report.json")))
        try:
            folder = os.open(self._ipc_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError as exc:
            log.error("could not seal the kernel's socket folder: %s", exc)
            return
        try:
            os.fchown(folder, 0, 0)
            os.fchmod(folder, 0o755)
            for name in os.listdir(folder):
                os.chown(name, 0, 0, dir_fd=folder, follow_symlinks=False)
        except OSError as exc:
            log.error("could not seal the kernel's socket folder: %s", exc)
        finally:
            os.close(folder)

    def _check_report(self) -> None:
        global _warned
        if _warned or self.missing is None:
            return
        if self.missing:
            _warned = True
            log.warning(
                "KERNEL SANDBOX IS WEAKER THAN CONFIGURED: could not apply %s",
                ", ".join(self.missing),
            )

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        self._check_report()
        await super()._async_cleanup_resources(restart=restart)
        if self._ipc_dir and not restart:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)
            self._ipc_dir = None
