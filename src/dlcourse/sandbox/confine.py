"""Confining the current process before it runs student code.

Runs inside the freshly started sandbox process, before anything of the
student's is read. As root (as CI and most grading hosts are) it gives the
process:

- its own network namespace with no interfaces up: every connection fails;
- its own PID namespace (this process forks; the child is PID 1 there and the
  whole namespace dies with it, so nothing the student forks outlives it);
- its own mount namespace with a new root holding only what Python needs,
  read-only, and small private /tmp, /var/tmp and /dev/shm (see
  :mod:`dlcourse.sandbox.filesystem`): the course, other students' folders
  and the rest of the machine do not exist in there;
- no capabilities, and ``no_new_privs``;
- resource limits: CPU seconds, address space, processes, file size, open
  files, no core dumps.

Without root only the resource limits apply; the process reports what it
could not apply and the parent says so once, loudly.
"""

from __future__ import annotations

import ctypes
import os
import resource

from dlcourse.sandbox import filesystem

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
CAP_LAST_CAP = 63

DEFAULT_LIMITS = {
    "cpu_seconds": 120,
    "memory_bytes": 4 * 1024**3,
    "processes": 64,
    "file_bytes": 64 * 1024**2,
    "open_files": 256,
}


class ConfineError(OSError):
    pass


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise ConfineError(errno, f"{what}: {os.strerror(errno)}")


def _drop_capabilities(libc) -> None:
    for cap in range(CAP_LAST_CAP + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # unknown caps just fail

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (Data * 2)()
    _check(libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


PIDS_CGROUP_ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup")


def _current_pids_cgroup() -> str | None:
    """This process's pids cgroup folder, or None where there is none."""
    try:
        with open("/proc/self/cgroup") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for base in PIDS_CGROUP_ROOTS:
            v1 = "pids" in controllers.split(",") and base.endswith("/pids")
            v2 = controllers == "" and not base.endswith("/pids")
            folder = base + path.rstrip("/")
            if (v1 or v2) and os.path.exists(os.path.join(folder, "cgroup.procs")):
                if v2 and not os.path.exists(os.path.join(folder, "cgroup.controllers")):
                    continue
                return folder
    return None


def pids_cgroup_of(launcher_pid: int) -> str | None:
    """Where the sandbox started by ``launcher_pid`` keeps its process count."""
    current = _current_pids_cgroup()
    return None if current is None else os.path.join(current, f"dlcourse-{launcher_pid}")


def remove_pids_cgroup(launcher_pid: int, wait: float = 3.0) -> None:
    """Remove a sandbox's cgroup once its processes are gone (best effort)."""
    import time

    folder = pids_cgroup_of(launcher_pid)
    if folder is None or not os.path.isdir(folder):
        return
    deadline = time.monotonic() + wait
    while True:
        try:
            os.rmdir(folder)
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)


def _enter_pids_cgroup(limit: int) -> str:
    """Create a pids cgroup capped at ``limit`` tasks (threads included) and
    move this process into it; its children stay there."""
    current = _current_pids_cgroup()
    if current is None:
        raise ConfineError(0, "no pids cgroup")
    folder = os.path.join(current, f"dlcourse-{os.getpid()}")
    try:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "pids.max"), "w") as fh:
            fh.write(str(int(limit)))
        with open(os.path.join(folder, "cgroup.procs"), "w") as fh:
            fh.write(str(os.getpid()))
    except OSError as exc:
        raise ConfineError(exc.errno or 0, f"pids cgroup: {exc.strerror}") from None
    return current


def _leave_pids_cgroup(current: str) -> None:
    with open(os.path.join(current, "cgroup.procs"), "w") as fh:
        fh.write(str(os.getpid()))


def _own_process_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _set_rlimits(limits: dict, applied: list, missing: list, base_processes: int) -> None:
    table = [
        ("cpu_seconds", resource.RLIMIT_CPU, "CPU time"),
        ("memory_bytes", resource.RLIMIT_AS, "memory"),
        ("file_bytes", resource.RLIMIT_FSIZE, "file size"),
        ("open_files", resource.RLIMIT_NOFILE, "open files"),
    ]
    for key, which, label in table:
        value = int(limits[key])
        try:
            resource.setrlimit(which, (value, value))
            applied.append(label)
        except (ValueError, OSError) as exc:
            missing.append(f"{label} ({exc})")
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass
    if "processes" in applied or any(m.startswith("processes") for m in missing):
        return
    # RLIMIT_NPROC counts every process of this uid on the machine, so the
    # budget is added to what the uid already runs
    try:
        value = base_processes + int(limits["processes"])
        resource.setrlimit(resource.RLIMIT_NPROC, (value, value))
        applied.append("processes")
    except (ValueError, OSError) as exc:
        missing.append(f"processes ({exc})")


def _forward_signals(child: int) -> None:
    """Pass interrupts on to the confined child (Jupyter interrupts a kernel
    by signalling the process it started, which is this one)."""
    import signal

    def forward(signum, _frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(signum, forward)


def enter(
    hidden_paths=(),
    limits=None,
    tmp_bytes: int = 256 * 1024**2,
    writable=(),
    workdir: str | None = None,
    allow_list: bool = True,
) -> dict:
    """Confine this process. Returns ``{"applied": [...], "missing": [...]}``.

    ``writable``: folders that stay writable (everything else but the private
    temporary folders becomes read-only); ``workdir``: folder to start in
    (default: a fresh ``/tmp/work``); ``allow_list=False``: the older view of
    the real root with ``hidden_paths`` covered (the fallback; for tests).

    In the root case this forks: the caller's original process waits for the
    confined child and exits with its status, and only the child returns.
    """
    limits = {**DEFAULT_LIMITS, **(limits or {})}
    applied: list[str] = []
    missing: list[str] = []
    base_processes = _own_process_count()
    if os.geteuid() == 0 and os.uname().sysname == "Linux":
        libc = _libc()
        try:
            # root is exempt from RLIMIT_NPROC: a pids cgroup counts instead
            try:
                outer_cgroup = _enter_pids_cgroup(limits["processes"])
            except ConfineError as exc:
                outer_cgroup = None
                missing.append(f"processes ({exc})")
            _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID), "unshare")
            pid = os.fork()
            if pid:
                # the outer process: stays outside the PID namespace and the
                # cgroup only to hand back the exit status and clean up
                if outer_cgroup:
                    _leave_pids_cgroup(outer_cgroup)
                _forward_signals(pid)
                while True:
                    try:
                        _, status = os.waitpid(pid, 0)
                        break
                    except InterruptedError:
                        continue
                remove_pids_cgroup(os.getpid())
                os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
            if outer_cgroup:
                applied.append("processes")
            _check(libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0), "pdeathsig")
            applied += ["network", "process namespace"]
            filesystem._mount(libc, "none", "/", None, filesystem.MS_REC | MS_PRIVATE)
            try:
                if not allow_list:
                    raise filesystem.FileSystemError(0, "not asked for")
                filesystem.allow_list_root(libc, hidden_paths, writable, tmp_bytes)
            except filesystem.FileSystemError as exc:
                missing.append(f"allow-list file system ({exc}; the course is hidden instead)")
                filesystem.deny_list_root(libc, hidden_paths, writable, tmp_bytes)
            applied.append("file system")
            if workdir is None:
                os.makedirs("/tmp/work", exist_ok=True)
            os.chdir(workdir or "/tmp/work")
            _set_rlimits(limits, applied, missing, base_processes)
            _drop_capabilities(libc)
            applied.append("capabilities")
        except (ConfineError, filesystem.FileSystemError) as exc:
            missing.append(f"namespaces ({exc})")
            _set_rlimits(limits, applied, missing, base_processes)
    else:
        missing += ["network", "file system", "process namespace"]
        _set_rlimits(limits, applied, missing, base_processes)
    return {"applied": applied, "missing": missing}
