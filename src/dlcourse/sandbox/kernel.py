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
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, Unicode

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
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
    }
    for name, value in parent.items():
        if name in ENVIRONMENT_ALLOWED or name.startswith(ENVIRONMENT_ALLOWED_PREFIXES):
            env[name] = value
    return env


def read_small_file(path: str, limit: int = 64 * 1024) -> bytes | None:
    """The bytes of ``path`` if it is a regular file of at most ``limit``
    bytes (never following a link, never blocking on a FIFO), else None."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        return os.read(fd, limit)
    finally:
        os.close(fd)


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


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start confined."""

    course_root = Unicode(
        "", help="Course folder to hide from the kernel (except the notebook's folder)."
    ).tag(config=True)
    limits = Dict(
        KERNEL_LIMITS,
        help="Resource limits of the kernel: cpu_seconds, memory_bytes, processes, file_bytes, open_files.",
    ).tag(config=True)

    _ipc_dir: str | None = None

    async def _async_pre_start_kernel(self, **kw):
        root_user = os.geteuid() == 0 and sys.platform.startswith("linux")
        cwd = os.path.realpath(kw.get("cwd") or os.getcwd())
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
        return launcher + list(kernel_cmd), kw

    def _check_report(self) -> None:
        global _warned
        if _warned:
            return
        path = os.path.join(self._ipc_dir, "report.json") if self._ipc_dir else None
        missing = ["network", "file system", "process namespace"]
        if path:
            # the kernel could replace the report with a link or a FIFO
            data = read_small_file(path)
            if data is not None:
                missing = json.loads(data).get("missing", [])
        if missing:
            _warned = True
            log.warning(
                "KERNEL SANDBOX IS WEAKER THAN CONFIGURED: could not apply %s", ", ".join(missing)
            )

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            self._check_report()
        except (OSError, ValueError):
            pass
        await super()._async_cleanup_resources(restart=restart)
        if self._ipc_dir and not restart:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)
            self._ipc_dir = None
