"""Confining the current process before it runs student code.

Runs inside the freshly started sandbox process, before anything of the
student's is read. As root (as CI and most grading hosts are) it gives the
process:

- its own network namespace with no interfaces up: every connection fails;
- its own PID namespace (this process forks; the child is PID 1 there and the
  whole namespace dies with it, so nothing the student forks outlives it);
- its own IPC namespace: System V shared memory, semaphores and message
  queues, and POSIX message queues, are its own and die with its last
  process (a segment left behind is freed with the namespace, and no other
  sandbox ever sees it);
- its own UTS (host name) and cgroup namespaces (its cgroups appear as ``/``);
- its own mount namespace with a new root holding only what Python needs,
  read-only, and small private /tmp, /var/tmp and /dev/shm (see
  :mod:`dlcourse.sandbox.filesystem`): the course, other students' folders
  and the rest of the machine do not exist in there;
- a user and group of its own (see :func:`sandbox_uid`), no supplementary
  groups, no capabilities, ``no_new_privs``: files only root may read, under
  /etc say, are closed to it, it cannot signal or trace anything but its own
  processes, and per-user kernel state (the user keyring, the message queue
  and process counts) is not shared with the grader or another sandbox;
- no key-management system calls (a seccomp filter): the per-user keyrings
  outlive every process of their user, so a sandbox could otherwise leave
  keys for a later sandbox that gets the same uid;
- a pids cgroup (tasks, threads included) and a memory cgroup (see below);
- resource limits: CPU seconds, address space, processes, file size, open
  files, message-queue bytes, no core dumps.

How memory is counted. ``memory_bytes`` caps the address space of each
process (RLIMIT_AS). Pages of tmpfs (the private /tmp, /var/tmp, /dev/shm)
and of System V shared memory belong to no process, so RLIMIT_AS does not
see them; the kernel charges them to the memory cgroup of the process that
first touches them. Where a memory cgroup can be made (cgroup v1
``memory.limit_in_bytes`` or v2 ``memory.max``, under this process's own
cgroup), the sandbox gets one capped at ``memory_bytes``: its processes'
memory, its tmpfs files and its shared memory together stay within it (past
it the kernel kills the largest of its processes), and each tmpfs and the
System V shared-memory total (``kernel.shmmax``/``shmall`` of the new IPC
namespace) is also capped at ``tmp_bytes``. Without one, those four caps are
``min(tmp_bytes, memory_bytes / 16)`` each and are taken off the
address-space limit, so the whole stays within ``memory_bytes`` for one
process. POSIX message queues are bounded by RLIMIT_MSGQUEUE (800 KiB).

The order matters and is: unshare (mount, network, PID, IPC, UTS) and fork;
in the child: cgroups, then the cgroup namespace (a cgroup namespace is
rooted at its creator's cgroups, so it is made by the process that is
already in the sandbox's cgroups; the outer process never enters them and
so never has to leave them), the file system, the sandbox user's folders,
the limits, and last the privileges. Where the Python environment or a
writable folder lies behind a folder closed to other users, the student's
code cannot run as the sandbox user: it then runs as uid 0 without
capabilities, and the report says so. The outer process exits with the
child's status, or dies of the signal that killed it.

Without root only the resource limits apply; the process reports what it
could not apply and the parent says so once, loudly.
"""

from __future__ import annotations

import ctypes
import errno as errnos
import os
import platform
import resource
import stat

from dlcourse.sandbox import filesystem

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
SANDBOX_HOSTNAME = "sandbox"
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
CAP_LAST_CAP = 63
SIGKILL = 9

# Sandbox users are SANDBOX_UID_BASE + the launcher's pid (pids stay below
# 2**22), so two sandboxes that run at the same time never share one. The
# range 1879048192-2147483647 is left unused by systemd's uid conventions
# (below it: regular, dynamic and nspawn container users; above 2**31 some
# tools take uids for negative numbers). No file outside the sandbox's own
# folders belongs to these uids.
SANDBOX_UID_BASE = 1_900_000_000
DEFAULT_TMP_BYTES = 256 * 1024**2
MESSAGE_QUEUE_BYTES = 819200
CGROUP_ROOT = "/sys/fs/cgroup"
CGROUP_PREFIX = "dlcourse-"

DEFAULT_LIMITS = {
    "cpu_seconds": 120,
    "memory_bytes": 4 * 1024**3,
    "processes": 64,
    "file_bytes": 64 * 1024**2,
    "open_files": 256,
}

NAMESPACE_LABELS = [
    "network",
    "file system",
    "process namespace",
    "IPC namespace",
    "hostname namespace",
    "cgroup namespace",
]


class ConfineError(OSError):
    pass


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise ConfineError(errno, f"{what}: {os.strerror(errno)}")


def die_with_parent(libc=None) -> None:
    """Have the kernel SIGKILL this process when the thread that forked it
    ends (PR_SET_PDEATHSIG). Raises ConfineError when it cannot."""
    libc = libc or _libc()
    _check(libc.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "pdeathsig")


def sandbox_uid(launcher_pid: int) -> int:
    """The uid (and gid) student code runs as in the sandbox started by
    ``launcher_pid``."""
    return SANDBOX_UID_BASE + int(launcher_pid)


# cgroups -------------------------------------------------------------------


def _cgroup_parent(controller: str) -> str | None:
    """This process's cgroup folder in the hierarchy that has ``controller``
    (cgroup v1: the controller's own; v2: the unified one, when the
    controller is available there), or None."""
    try:
        with open("/proc/self/cgroup") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        path = path.rstrip("/")
        if controller in controllers.split(","):
            # v1, mounted by its name ("pids") or its joint name ("cpu,cpuacct")
            for base in {controllers, controller}:
                folder = os.path.join(CGROUP_ROOT, base) + path
                if os.path.exists(os.path.join(folder, "cgroup.procs")):
                    return folder
        elif controllers == "":
            for base in (CGROUP_ROOT, os.path.join(CGROUP_ROOT, "unified")):
                folder = base + path
                try:
                    with open(os.path.join(folder, "cgroup.controllers")) as fh:
                        if controller in fh.read().split():
                            return folder
                except OSError:
                    continue
    return None


def _cgroup_parents() -> dict[str, str]:
    found = {c: _cgroup_parent(c) for c in ("pids", "memory")}
    return {c: folder for c, folder in found.items() if folder}


def cgroups_of(launcher_pid: int) -> list[str]:
    """The cgroup folders of the sandbox started by ``launcher_pid`` (pids,
    memory), for a caller in the cgroups the launcher started in."""
    name = f"{CGROUP_PREFIX}{int(launcher_pid)}"
    return [os.path.join(parent, name) for parent in _cgroup_parents().values()]


def pids_cgroup_of(launcher_pid: int) -> str | None:
    """Where the sandbox started by ``launcher_pid`` keeps its process count."""
    parent = _cgroup_parent("pids")
    return None if parent is None else os.path.join(parent, f"{CGROUP_PREFIX}{launcher_pid}")


def remove_cgroups(launcher_pid: int, wait: float = 3.0) -> None:
    """Remove a sandbox's cgroups once its processes are gone (best effort)."""
    import time

    deadline = time.monotonic() + wait
    for folder in cgroups_of(launcher_pid):
        # the killed processes usually leave within a millisecond or two:
        # a first wait of 20 ms cost a sandbox more than its start
        pause = 0.001
        while os.path.isdir(folder):
            try:
                os.rmdir(folder)
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(pause)
                pause = min(2 * pause, 0.02)


# the grader's name for it, from when there was only the pids cgroup
remove_pids_cgroup = remove_cgroups


def _sweep_stale_cgroups(parent: str) -> None:
    """Remove empty sandbox cgroups whose launcher is gone: one killed with
    SIGKILL cannot remove its own, and nobody else may have."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        number = name[len(CGROUP_PREFIX) :]
        if name.startswith(CGROUP_PREFIX) and number.isdigit():
            if not os.path.exists(f"/proc/{number}"):
                try:
                    os.rmdir(os.path.join(parent, name))  # fails while tasks remain
                except OSError:
                    pass


def _v2(folder: str) -> bool:
    """Whether the cgroup ``folder`` is of the unified (v2) hierarchy."""
    return os.path.exists(os.path.join(folder, "cgroup.controllers"))


def _limit_files(controller: str, folder: str, limits: dict) -> list[tuple[str, str, bool]]:
    """(file, value, optional) to write in a new ``controller`` cgroup."""
    v2 = _v2(folder)
    if controller == "pids":
        return [("pids.max", str(int(limits["processes"])), False)]
    memory = str(int(limits["memory_bytes"]))
    if v2:
        return [("memory.max", memory, False), ("memory.swap.max", "0", True)]
    # memsw (memory plus swap) exists only with swap accounting
    return [("memory.limit_in_bytes", memory, False), ("memory.memsw.limit_in_bytes", memory, True)]


def _join(folder: str) -> None:
    """Move this process, which must have a single thread (it was just
    forked), into the cgroup ``folder``.

    On cgroup v1 it writes its thread to ``tasks`` rather than the process to
    ``cgroup.procs``: a whole process is moved under a lock global to the
    machine whose taking waits out an RCU grace period (10 ms here, half of a
    sandbox's start) unless another move happened just before; one thread,
    the caller itself, is moved without it. Were another thread there it
    would stay behind, outside the limits, so that is checked after the move
    (the process could only start one itself, and runs nothing else yet)."""
    if _v2(folder):
        with open(os.path.join(folder, "cgroup.procs"), "w") as fh:
            fh.write("0")  # this process (its pid here is 1, in its namespace)
        return
    with open(os.path.join(folder, "tasks"), "w") as fh:
        fh.write("0")  # the calling thread
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:  # no /proc to tell: move the whole process to be sure
        threads = 0
    if threads != 1:
        with open(os.path.join(folder, "cgroup.procs"), "w") as fh:
            fh.write("0")


def _enter_cgroups(parents: dict, launcher: int, limits: dict) -> tuple[list, list]:
    """Move this process into new pids and memory cgroups under its own,
    capped by ``limits``; its children stay there. Returns the controllers
    applied and the reasons for those that were not."""
    done, failed = [], []
    for controller in ("pids", "memory"):
        parent = parents.get(controller)
        if parent is None:
            failed.append((controller, f"no {controller} cgroup"))
            continue
        _sweep_stale_cgroups(parent)
        folder = os.path.join(parent, f"{CGROUP_PREFIX}{launcher}")
        try:
            if _v2(parent):
                # v2: a child gets a controller only once its parent hands it
                # down (refused where the parent has processes of its own)
                try:
                    with open(os.path.join(parent, "cgroup.subtree_control"), "w") as fh:
                        fh.write(f"+{controller}")
                except OSError:
                    pass
            os.makedirs(folder, exist_ok=True)
            for name, value, optional in _limit_files(controller, folder, limits):
                try:
                    with open(os.path.join(folder, name), "w") as fh:
                        fh.write(value)
                except OSError:
                    if not optional:
                        raise
            _join(folder)
            done.append(controller)
        except OSError as exc:
            failed.append((controller, f"{controller} cgroup: {exc.strerror}"))
            try:
                os.rmdir(folder)
            except OSError:
                pass
    return done, failed


# limits --------------------------------------------------------------------


def _process_count(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _own_process_count() -> int:
    return _process_count(os.getuid())


def _set_rlimits(
    limits: dict,
    applied: list,
    missing: list,
    base_processes: int | None,
    address_space: int | None = None,
) -> None:
    """``base_processes``: what the uid already runs (RLIMIT_NPROC counts
    every process of the uid on the machine), or None to leave the process
    count to a cgroup; ``address_space``: RLIMIT_AS, if not the memory limit."""
    memory = int(limits["memory_bytes"]) if address_space is None else int(address_space)
    table = [
        ("cpu_seconds", resource.RLIMIT_CPU, "CPU time", int(limits["cpu_seconds"])),
        ("memory_bytes", resource.RLIMIT_AS, "memory", memory),
        ("file_bytes", resource.RLIMIT_FSIZE, "file size", int(limits["file_bytes"])),
        ("open_files", resource.RLIMIT_NOFILE, "open files", int(limits["open_files"])),
    ]
    for _key, which, label, value in table:
        try:
            resource.setrlimit(which, (value, value))
            applied.append(label)
        except (ValueError, OSError) as exc:
            missing.append(f"{label} ({exc})")
    for which, value in (
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_MSGQUEUE, MESSAGE_QUEUE_BYTES),
    ):
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass
    if base_processes is None:
        return
    try:
        value = base_processes + int(limits["processes"])
        resource.setrlimit(resource.RLIMIT_NPROC, (value, value))
        if "processes" not in applied:
            applied.append("processes")
    except (ValueError, OSError) as exc:
        missing.append(f"processes ({exc})")


def _memory_budget(limits: dict, tmp_bytes: int, memory_cgroup: bool) -> tuple[int, int]:
    """(size of each private tmpfs and of the System V shared-memory total,
    RLIMIT_AS). See the module's docstring."""
    memory = int(limits["memory_bytes"])
    if memory_cgroup:
        return int(tmp_bytes), memory
    size = max(min(int(tmp_bytes), memory // 16), 1024**2)
    return size, max(memory - 4 * size, memory // 2)


def _limit_shared_memory(size: int) -> None:
    """Cap System V shared memory in this (new) IPC namespace at ``size``
    bytes in all (the defaults are practically unlimited)."""
    pages = max(size // os.sysconf("SC_PAGE_SIZE"), 1)
    for name, value in (("shmmax", size), ("shmall", pages)):
        with open(f"/proc/sys/kernel/{name}", "w") as fh:
            fh.write(str(value))


# privileges ----------------------------------------------------------------

# machine: (AUDIT_ARCH of its native system calls, (add_key, request_key,
# keyctl), the x32 system-call bit where there is one)
_SECCOMP_ARCHES = {
    "x86_64": (0xC000003E, (248, 249, 250), 0x40000000),
    "aarch64": (0xC00000B7, (217, 218, 219), None),
    "riscv64": (0xC00000F3, (217, 218, 219), None),
}
_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_RET_K = 0x06
_SECCOMP_MODE_FILTER = 2
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000
_KEYCTL = {"x86_64": 250, "aarch64": 219, "riscv64": 219}
_KEYCTL_JOIN_SESSION_KEYRING = 1
_KEYCTL_CLEAR = 7
_KEYCTL_GET_PERSISTENT = 22
_KEY_SPEC_SESSION_KEYRING = -3
_KEY_SPEC_USER_KEYRING = -4
_KEY_SPEC_USER_SESSION_KEYRING = -5


def _block_keyrings(libc) -> None:
    """Refuse add_key, request_key and keyctl (ENOSYS, as on a kernel without
    keys), and every system call of another ABI (x32, 32-bit), through
    which they could be reached by other numbers. Needs no_new_privs."""
    machine = platform.machine()
    if machine not in _SECCOMP_ARCHES:
        raise ConfineError(0, f"no seccomp table for {machine}")
    arch, numbers, x32_bit = _SECCOMP_ARCHES[machine]
    deny = _SECCOMP_RET_ERRNO | errnos.ENOSYS
    checks = ([(_BPF_JGE_K, x32_bit)] if x32_bit else []) + [(_BPF_JEQ_K, n) for n in numbers]
    code = [
        (_BPF_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_BPF_JEQ_K, 1, 0, arch),
        (_BPF_RET_K, 0, 0, deny),
        (_BPF_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    for i, (op, k) in enumerate(checks):
        # a match jumps over the remaining checks and the ALLOW, to the deny
        code.append((op, len(checks) - i, 0, k))
    code += [(_BPF_RET_K, 0, 0, _SECCOMP_RET_ALLOW), (_BPF_RET_K, 0, 0, deny)]

    class Instruction(ctypes.Structure):
        _fields_ = [
            ("code", ctypes.c_uint16),
            ("jt", ctypes.c_uint8),
            ("jf", ctypes.c_uint8),
            ("k", ctypes.c_uint32),
        ]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Instruction))]

    instructions = (Instruction * len(code))(*[Instruction(*i) for i in code])
    program = Program(len(code), instructions)
    _check(libc.prctl(PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0), "seccomp")


def _new_session_keyring(libc) -> bool:
    """A new, empty session keyring in place of the one this process
    inherited from the grader. It belongs to this process and dies with it.
    False where keys do not work."""
    number = _KEYCTL.get(platform.machine())
    return number is not None and libc.syscall(number, _KEYCTL_JOIN_SESSION_KEYRING, None) >= 0


def _clear_user_keyrings(libc) -> bool:
    """Empty the user's keyrings (user, user session, persistent) of what an
    earlier sandbox with this uid left. Only where the filter of :func:`_block_keyrings` cannot be
    installed: naming a user's keyrings creates them, and the kernel keeps
    them until it shuts down, so doing this in every sandbox would leave two
    keys per sandbox uid for good, and the kernel's key garbage collector
    walks every key each time a sandbox's session keyring is freed (grading
    got slower the longer the machine ran). False where keys do not work."""
    number = _KEYCTL.get(platform.machine())
    if number is None:
        return False
    rings = [_KEY_SPEC_USER_KEYRING, _KEY_SPEC_USER_SESSION_KEYRING]
    # the uid's persistent keyring too (linked into the new session keyring),
    # where the kernel has them
    persistent = libc.syscall(number, _KEYCTL_GET_PERSISTENT, -1, _KEY_SPEC_SESSION_KEYRING)
    if persistent >= 0:
        rings.append(persistent)
    elif ctypes.get_errno() != errnos.EOPNOTSUPP:
        return False
    return all(libc.syscall(number, _KEYCTL_CLEAR, ring) == 0 for ring in rings)


def _capset_none(libc) -> None:
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


def _drop_capabilities(libc) -> None:
    """No capabilities now or after any exec, and no_new_privs."""
    for cap in range(CAP_LAST_CAP + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # unknown caps just fail
    _capset_none(libc)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _become(libc, uid: int, parent_alive: int) -> None:
    """Switch to ``uid``/``uid`` with no supplementary groups and no
    capabilities. ``parent_alive``: read end of a pipe whose write end only
    the outer process holds (it hangs up when that process dies)."""
    import select

    for cap in range(CAP_LAST_CAP + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # needs CAP_SETPCAP: first
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # clears the effective and permitted sets
    _capset_none(libc)  # and the inheritable one
    if (os.getresuid(), os.getresgid(), os.getgroups()) != ((uid,) * 3, (uid,) * 3, []):
        raise ConfineError(0, "the switch to the sandbox user did not hold")
    # a change of uid clears the parent-death signal: set it again, then make
    # sure the outer process did not die in between
    die_with_parent(libc)
    poller = select.poll()
    poller.register(parent_alive, select.POLLIN)
    if poller.poll(0):
        os._exit(70)
    # and makes the process undumpable, which gives its /proc files to root
    # (its own /proc/self/environ, say, becomes unreadable to it); every
    # process of this uid is the sandbox's own
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)


# the two processes ------------------------------------------------------


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


def _kill_when_hung_up(child: int, lifeline: int) -> None:
    """Wait until ``child`` ends or the writer of ``lifeline`` hangs up (or
    writes anything); then SIGKILL the child, the first process of its PID
    namespace, which takes every process of the sandbox with it."""
    import select

    watched = os.pidfd_open(child)
    poller = select.poll()
    poller.register(lifeline, select.POLLIN)
    poller.register(watched, select.POLLIN)
    while True:
        try:
            events = poller.poll()
        except InterruptedError:
            continue
        if any(fd == lifeline for fd, _ in events):
            try:
                os.kill(child, SIGKILL)
            except ProcessLookupError:
                pass
        if events:
            break
    os.close(watched)
    os.close(lifeline)


def _outer(child: int, cgroup_folders: list, name: str, lifeline: int | None = None) -> None:
    """The outer process: stays outside the PID namespace and the cgroups
    only to hand back the exit status and clean up. It shares the child's
    mount namespace, so after the child's pivot_root it sees the sandbox's
    read-only /sys: its cgroups are removed through folder handles taken
    before. ``lifeline``: see :func:`enter`."""
    _forward_signals(child)
    if lifeline is not None:
        _kill_when_hung_up(child, lifeline)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    # the PID namespace is empty once its first process has been reaped
    for fd in cgroup_folders:
        try:
            os.rmdir(name, dir_fd=fd)
        except OSError:
            pass
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        # killed (by the memory cgroup, the CPU limit...): die of the same
        # signal, so the grader can tell which, without a core dump of root
        import signal

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        try:
            signal.signal(-code, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # SIGKILL has no handler to reset
        os.kill(os.getpid(), -code)
        code = 128 - code
    os._exit(code & 0xFF)


def _reachable(path: str, read: bool = False, itself: bool = True) -> bool:
    """Whether a user that owns nothing on the way can reach ``path`` (and
    list it, with ``read``). ``itself=False``: only the folders on the way
    (``path`` is about to be given to that user)."""
    parts = os.path.realpath(path).split("/")
    for i in range(2, len(parts) + (1 if itself else 0)):
        try:
            if not os.stat("/".join(parts[:i])).st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    if not (itself and read):
        return True
    try:
        return bool(os.stat(path).st_mode & stat.S_IROTH)
    except OSError:
        return False


def enter(
    hidden_paths=(),
    limits=None,
    tmp_bytes: int = DEFAULT_TMP_BYTES,
    writable=(),
    workdir: str | None = None,
    allow_list: bool = True,
    uid: int | None = None,
    deny_list_fallback: bool = True,
    lifeline: int | None = None,
) -> dict:
    """Confine this process. Returns ``{"applied": [...], "missing": [...]}``
    (plus ``"uid"``, the sandbox user, where there is one).

    ``writable``: folders that stay writable (everything else but the private
    temporary folders becomes read-only); they and what they hold are given
    to the sandbox user. ``workdir``: folder to start in (default: a fresh
    ``/tmp/work``); ``allow_list=False``: the older view of the real root
    with ``hidden_paths`` covered (the fallback; for tests); ``uid``: the
    sandbox user (default :func:`sandbox_uid` of this process);
    ``deny_list_fallback=False``: where the allow-list root cannot be built,
    raise ConfineError rather than cover ``hidden_paths`` on the real root
    (for a caller whose ``hidden_paths`` name only what that root would
    show); ``lifeline``: the read end of a pipe whose writer is whoever the
    sandbox works for: when it hangs up, the outer process kills the sandbox
    (a process not started by that writer does not die with it otherwise).

    In the root case this forks: the caller's original process waits for the
    confined child and exits with its status, and only the child returns.
    Raises ConfineError if the child could not give up root (it must not run
    anything then).
    """
    limits = {**DEFAULT_LIMITS, **(limits or {})}
    applied: list[str] = []
    missing: list[str] = []
    if not (os.geteuid() == 0 and os.uname().sysname == "Linux"):
        missing += [*NAMESPACE_LABELS, "separate user", "memory cgroup"]
        _set_rlimits(limits, applied, missing, _own_process_count())
        return {"applied": applied, "missing": missing}
    libc = _libc()
    launcher = os.getpid()
    uid = sandbox_uid(launcher) if uid is None else int(uid)
    base_processes = _process_count(uid)
    try:
        _check(
            libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS),
            "unshare",
        )
    except ConfineError as exc:
        missing.append(f"namespaces ({exc})")
        _set_rlimits(limits, applied, missing, _own_process_count())
        return {"applied": applied, "missing": missing}
    parents = _cgroup_parents()
    handles = []
    for folder in parents.values():
        try:
            handles.append(os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        except OSError:
            pass
    parent_alive, keep_alive = os.pipe()
    pid = os.fork()
    if pid:
        os.close(parent_alive)
        _outer(pid, handles, f"{CGROUP_PREFIX}{launcher}", lifeline)
    # the child: nothing of the outer process's handles stays with it
    for fd in (*handles, keep_alive, *([lifeline] if lifeline is not None else [])):
        os.close(fd)
    try:
        return _confine_child(
            libc,
            launcher,
            uid,
            parents,
            limits,
            tmp_bytes,
            hidden_paths,
            writable,
            workdir,
            allow_list,
            deny_list_fallback,
            base_processes,
            parent_alive,
            applied,
            missing,
        )
    finally:
        os.close(parent_alive)


def _confine_child(
    libc,
    launcher,
    uid,
    parents,
    limits,
    tmp_bytes,
    hidden_paths,
    writable,
    workdir,
    allow_list,
    deny_list_fallback,
    base_processes,
    parent_alive,
    applied,
    missing,
) -> dict:
    die_with_parent(libc)
    applied += ["network", "process namespace", "IPC namespace", "hostname namespace"]
    try:
        # the host's name says which machine graded; the sandbox gets its own
        import socket

        socket.sethostname(SANDBOX_HOSTNAME)
    except OSError as exc:
        missing.append(f"hostname ({exc.strerror})")
    cgroups, failed = _enter_cgroups(parents, launcher, limits)
    labels = {"pids": "processes", "memory": "memory cgroup"}
    applied += [labels[c] for c in cgroups]
    missing += [f"{labels[c]} ({why})" for c, why in failed if c == "memory"]
    try:
        _check(libc.unshare(CLONE_NEWCGROUP), "unshare cgroup")
        applied.append("cgroup namespace")
    except ConfineError as exc:
        missing.append(f"cgroup namespace ({exc})")
    tmp_size, address_space = _memory_budget(limits, tmp_bytes, "memory" in cgroups)
    # folders made on the way to mount points must be passable by the
    # sandbox user whatever the caller's umask
    umask = os.umask(0o022)
    try:
        filesystem._mount(libc, "none", "/", None, filesystem.MS_REC | MS_PRIVATE)
        try:
            if not allow_list:
                raise filesystem.FileSystemError(0, "not asked for")
            filesystem.allow_list_root(libc, hidden_paths, writable, tmp_size, owner=(uid, uid))
        except filesystem.FileSystemError as exc:
            if not deny_list_fallback:
                raise ConfineError(0, f"allow-list file system ({exc})") from None
            missing.append(f"allow-list file system ({exc}; the course is hidden instead)")
            filesystem.deny_list_root(libc, hidden_paths, writable, tmp_size, owner=(uid, uid))
        applied.append("file system")
    except (ConfineError, filesystem.FileSystemError) as exc:
        if not deny_list_fallback:
            raise ConfineError(0, f"file system ({exc})") from None
        missing.append(f"namespaces ({exc})")
    try:
        _limit_shared_memory(tmp_size)
    except OSError as exc:
        missing.append(f"shared memory size ({exc.strerror})")
    if workdir is None:
        workdir = "/tmp/work"
        os.makedirs(workdir, exist_ok=True)
    unreachable = [p for p in filesystem.runtime_paths() if not _reachable(p, read=True)]
    unreachable += [p for p in writable if not _reachable(p, itself=False)]
    if not any(_within(workdir, w) for w in writable):
        # the default /tmp/work is given to the sandbox user below; a folder
        # of the caller's choice must be open to it already
        if not _reachable(workdir, itself=workdir != "/tmp/work"):
            unreachable.append(workdir)
    if unreachable:
        # Python could not run, or the kernel write its files: stay uid 0
        # (capabilities dropped) and say so
        missing.append(f"separate user ({', '.join(unreachable)} closed to other users)")
    else:
        for folder in writable:
            filesystem.give_to(os.path.realpath(folder), uid, uid)
        if workdir == "/tmp/work":
            os.chown(workdir, uid, uid)
    os.umask(umask)
    os.chdir(workdir)
    _set_rlimits(limits, applied, missing, None if unreachable else base_processes, address_space)
    if "processes" not in applied:
        missing += [f"processes ({why})" for c, why in failed if c == "pids"]
    report = {"applied": applied, "missing": missing}
    # past this point a failure must stop the sandbox: it would run as root
    if unreachable:
        _drop_capabilities(libc)
    else:
        _become(libc, uid, parent_alive)
        applied.append("separate user")
        report["uid"] = uid
    applied.append("capabilities")
    # before the filter, which refuses these calls
    session = not unreachable and _new_session_keyring(libc)
    try:
        # with no key system call, no sandbox can leave a key for a later
        # one with the same uid: the user's keyrings are never made
        _block_keyrings(libc)
        applied.append("keyrings")
    except ConfineError as exc:
        if session and _clear_user_keyrings(libc):
            applied.append("keyrings")
        else:
            missing.append(f"keyrings ({exc})")
    return report


def _within(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")
