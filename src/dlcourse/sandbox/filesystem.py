"""What a confined process sees of the file system.

Called by :func:`dlcourse.sandbox.confine.enter` as root, inside the
process's own (private) mount namespace, before any student code runs.

The sandbox gets a new, empty root (a small tmpfs, then ``pivot_root``)
holding only what Python needs to run:

- the operating system's read-only folders: /usr, /etc and the /bin, /lib
  links or folders beside them, /sys and the font cache in /var/cache;
- the Python environment, its base installation and this library, read-only;
- the folder named by ``$DLCOURSE_FASHION_MNIST``, read-only, when set (a
  notebook loads its data in the sandbox);
- five devices (null, zero, full, random, urandom), never the disks;
- a fresh /proc for its own PID namespace;
- private, size-limited /tmp, /var/tmp and /dev/shm, belonging to the
  sandbox user (``owner``) with mode 1777;
- the ``writable`` folders (a kernel's notebook folder and socket folder),
  without set-user-ID programs or devices (nosuid, nodev).

Everything else of the machine does not exist in there: the course with its
graders, sources and gradebook, other students' folders, users' homes, /opt,
/var, /srv, /run and copies of the course wherever an instructor keeps them.
The ``hidden_paths`` are still covered on top, for a course kept inside one
of the allowed folders (under /usr/local, say), as are the system's password
hashes and private keys.

Where ``pivot_root`` is not possible the older deny-list view is used: the
real root, read-only, with ``hidden_paths`` covered by empty unreadable
mounts. The caller reports that as a weaker sandbox. A folder on the way to
the Python environment that other users may not pass (root's home, with a
pyenv installation in it) is replaced there by an empty one holding only the
environment: the sandbox user could not have looked inside anyway.

:func:`give_to` hands the writable folders to the sandbox user.
"""

from __future__ import annotations

import ctypes
import os
import platform
import stat

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MNT_DETACH = 2

PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm")
# Top-level entries of / a Python process may need. On merged-/usr systems
# bin, sbin and lib* are links into /usr and are recreated as links.
SYSTEM_ENTRIES = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "sys")
# the system's font cache: without it fontconfig (run by matplotlib when it
# lists fonts) tries to build one, and its "No writable cache directories"
# lands on the notebook's stderr
SYSTEM_FOLDERS = ("/var/cache/fontconfig",)
DEVICES = ("null", "zero", "full", "random", "urandom")
DEVICE_LINKS = {
    "fd": "/proc/self/fd",
    "stdin": "/proc/self/fd/0",
    "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2",
}
# readable by uid 0 even without capabilities (it owns them)
SYSTEM_SECRETS = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/ssh")
HIDDEN_FILE = "/tmp/.dlcourse-hidden"
CGROUP_FOLDER = "/sys/fs/cgroup"
# data folders notebooks read (see dlcourse.data), shown read-only when set
DATA_FOLDER_VARIABLES = ("DLCOURSE_FASHION_MNIST",)
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}


class FileSystemError(OSError):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise FileSystemError(errno, f"{what}: {os.strerror(errno)}")


def _mount(libc, source, target, fstype, flags, data=None) -> None:
    enc = lambda s: s.encode() if isinstance(s, str) else s  # noqa: E731
    _check(
        libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
        f"mount {target}",
    )


def _tmpfs(libc, target: str, size: int, mode: str = "1777", owner=None) -> None:
    """A tmpfs of at most ``size`` bytes; ``owner``: (uid, gid) of its root."""
    data = f"size={size},mode={mode}"
    if owner is not None:
        data += f",uid={int(owner[0])},gid={int(owner[1])}"
    _mount(libc, "none", target, "tmpfs", MS_NOSUID | MS_NODEV, data)


def mount_points() -> list[str]:
    points = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            fields = line.split()
            # the mount point is field 5, with octal escapes for spaces
            points.append(fields[4].encode().decode("unicode_escape"))
    return points


def runtime_paths() -> list[str]:
    """Folders this Python needs to keep running: its environment, its base
    installation and this library."""
    import sys

    here = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    paths = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix), here}
    return sorted(p for p in paths if os.path.isdir(p))


def _hide(libc, path: str, empty_file: str) -> None:
    """Cover ``path`` with something empty that uid 0 without capabilities
    cannot read."""
    if os.path.isdir(path) and not os.path.islink(path):
        _mount(libc, "none", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=000")
    elif os.path.isfile(path) and not os.path.islink(path):
        _mount(libc, empty_file, path, None, MS_BIND)


def _handles(paths) -> list[tuple[int, str]]:
    """O_PATH handles on folders, taken before anything covers them (a folder
    may lie under /tmp, which the staging root covers)."""
    return [
        (os.open(os.path.realpath(p), os.O_PATH | os.O_DIRECTORY), os.path.realpath(p))
        for p in paths
    ]


def _bind_handle(libc, fd: int, target: str) -> None:
    os.makedirs(target, exist_ok=True)
    _mount(libc, f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)


def _bind_writable(libc, fd: int, target: str) -> None:
    """Like _bind_handle, and with no set-user-ID programs or devices: the
    folder holds what students and submissions put there."""
    _bind_handle(libc, fd, target)
    _mount(libc, None, target, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV)


def give_to(folder: str, uid: int, gid: int) -> None:
    """Make ``folder`` and everything in it belong to ``uid``:``gid``, as root
    and before the sandbox runs. Never follows a link (a link itself changes
    owner, not what it points to); leaves alone devices (nodev makes them
    useless in there, and they stay so wherever else they are mounted) and
    files with other hard links, which may be a root-owned file elsewhere on
    the same file system (a hard link is the same file).

    Nothing of the student's runs meanwhile (a kernel's earlier processes
    died with its PID namespace), so a folder found here is still one when
    listed. Iterative: a student's folder may nest deeper than Python's
    recursion limit, and what lies beyond PATH_MAX stays as it was."""

    def give(path: str) -> None:
        try:
            st = os.lstat(path)
            if stat.S_ISBLK(st.st_mode) or stat.S_ISCHR(st.st_mode):
                return
            if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
                return
            os.chown(path, uid, gid, follow_symlinks=False)
        except OSError:
            pass  # a read-only mount inside, say: it stays as it is

    if os.path.islink(folder) or not os.path.isdir(folder):
        return
    give(folder)
    stack = [folder]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    give(entry.path)
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            continue


def _under(path: str, folders) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _read_only_pass(libc, keep_writable: set[str]) -> None:
    for point in mount_points():
        if point in keep_writable or point.startswith("/proc/"):
            continue
        try:
            _mount(libc, None, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
        except FileSystemError:
            # some mounts keep locked flags; they are covered by the
            # read-only root or are pseudo file systems
            if point == "/":
                raise


def _pivot_root_number() -> int:
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise FileSystemError(
            0, f"pivot_root: no system call number known for {platform.machine()}"
        )
    return number


def allow_list_root(libc, hidden_paths, writable, tmp_bytes: int, owner=None) -> set[str]:
    """Build the new root and move into it. Returns the writable folders.
    ``owner``: (uid, gid) the private temporary folders belong to.

    Raises FileSystemError before the move if it cannot be built; the mount
    namespace is then as it was (the staging root is detached)."""
    system = [
        "/" + name
        for name in SYSTEM_ENTRIES
        if os.path.islink("/" + name) or os.path.isdir("/" + name)
    ]
    data = [os.environ[v] for v in DATA_FOLDER_VARIABLES if os.path.isdir(os.environ.get(v, ""))]
    runtime = [p for p in [*runtime_paths(), *data] if not _under(os.path.realpath(p), system)]
    read_only = _handles(runtime)
    writable_handles = _handles(writable)
    stage = "/tmp"
    try:
        _tmpfs(libc, stage, 16 * 1024**2, mode="755")
    except FileSystemError:
        for fd, _ in read_only + writable_handles:
            os.close(fd)
        raise
    try:
        # private folders first: the Python environment may live under /tmp
        # (a CI checkout) and is mounted on top of them below
        for path in PRIVATE_TMP:
            os.makedirs(stage + path, exist_ok=True)
            _tmpfs(libc, stage + path, tmp_bytes, owner=owner)
        os.makedirs(stage + "/proc")
        _mount(libc, "proc", stage + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        for name in DEVICES:
            if os.path.exists("/dev/" + name):
                open(f"{stage}/dev/{name}", "w").close()
                _mount(libc, "/dev/" + name, f"{stage}/dev/{name}", None, MS_BIND)
        for name, target in DEVICE_LINKS.items():
            os.symlink(target, f"{stage}/dev/{name}")
        for entry in system:
            target = stage + entry
            if os.path.islink(entry):
                os.symlink(os.readlink(entry), target)
            else:
                os.mkdir(target)
                _mount(libc, entry, target, None, MS_BIND | MS_REC)
        for path in SYSTEM_FOLDERS:
            if os.path.isdir(path):
                os.makedirs(stage + path, exist_ok=True)
                _mount(libc, path, stage + path, None, MS_BIND | MS_REC)
        # the host's cgroup tree lists every other sandbox and its processes
        # (cgroup v1 shows it whole): an empty folder instead
        if os.path.isdir(stage + CGROUP_FOLDER):
            _mount(
                libc,
                "none",
                stage + CGROUP_FOLDER,
                "tmpfs",
                MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
                "size=4k,mode=555",
            )
        for fd, path in read_only:
            _bind_handle(libc, fd, stage + path)
        exposed = set()
        for fd, path in writable_handles:
            _bind_writable(libc, fd, stage + path)
            exposed.add(path)
        open(stage + HIDDEN_FILE, "w").close()
        os.chmod(stage + HIDDEN_FILE, 0)
        for path in [*SYSTEM_SECRETS, *hidden_paths]:
            path = os.path.abspath(path)
            if os.path.lexists(stage + path) and not _under(path, exposed):
                _hide(libc, stage + path, stage + HIDDEN_FILE)
        os.chdir(stage)
        _check(libc.syscall(_pivot_root_number(), b".", b"."), "pivot_root")
    except OSError as exc:
        libc.umount2(stage.encode(), MNT_DETACH)
        raise FileSystemError(exc.errno or 0, f"allow-list root: {exc}") from None
    finally:
        for fd, _ in read_only + writable_handles:
            os.close(fd)
    # new_root and put_old the same folder: the old root is now mounted on
    # top of the new one; detached, nothing of it stays reachable
    # (pivot_root(2), NOTES). Past this point there is no going back.
    if libc.umount2(b".", MNT_DETACH) != 0:
        raise RuntimeError(f"detach the old root: {os.strerror(ctypes.get_errno())}")
    os.chdir("/")
    devices = {"/dev/" + name for name in DEVICES}
    _read_only_pass(libc, set(PRIVATE_TMP) | exposed | devices | {"/proc"})
    return exposed


def visible_in_allow_list(paths, writable, environ) -> list[str]:
    """Those of ``paths`` that could still exist in the allow-list root
    built for ``writable`` with data folders named in ``environ`` (the
    others need no covering there): each path whose name or real path lies
    in what that root shows. Errs towards keeping a path."""
    shown = ["/" + name for name in SYSTEM_ENTRIES] + list(SYSTEM_FOLDERS)
    shown += [environ[v] for v in DATA_FOLDER_VARIABLES if environ.get(v)]
    shown += [*runtime_paths(), *writable]
    shown = {os.path.abspath(p) for p in shown} | {os.path.realpath(p) for p in shown}
    return [
        p for p in paths if _under(os.path.abspath(p), shown) or _under(os.path.realpath(p), shown)
    ]


def _closed_ancestor(path: str) -> str | None:
    """The outermost folder on the way to ``path`` that users other than its
    owner may not pass, if any."""
    parts = os.path.realpath(path).split("/")
    for i in range(2, len(parts)):
        folder = "/".join(parts[:i])
        try:
            if not os.stat(folder).st_mode & stat.S_IXOTH:
                return folder
        except OSError:
            return None
    return None


def deny_list_root(libc, hidden_paths, writable, tmp_bytes: int, owner=None) -> set[str]:
    """The real root, read-only, with ``hidden_paths`` covered. Returns the
    writable folders. ``owner``: (uid, gid) the private temporary folders
    belong to; with it, folders closed to other users on the way to the
    Python environment are replaced (see the module's docstring)."""
    writable_handles = _handles(writable)
    runtime = runtime_paths()
    closed = set()
    if owner is not None:
        closed = {a for a in map(_closed_ancestor, runtime) if a and not _under(a, PRIVATE_TMP)}
        closed = {a for a in closed if not any(_under(a, b) and a != b for b in closed)}
    # the Python environment may live under /tmp (a CI checkout, say): it
    # must stay visible, read-only, under the private /tmp
    restore = _handles(p for p in runtime if _under(p, [*PRIVATE_TMP, *closed]))
    _mount(libc, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    private = set()
    for path in PRIVATE_TMP:
        if os.path.isdir(path):
            _tmpfs(libc, path, tmp_bytes, owner=owner)
            private.add(path)
    for path in sorted(closed):
        _tmpfs(libc, path, 1024**2, mode="755")
    # hidden files are covered by an empty, unreadable file, which the
    # read-only pass below also makes unwritable
    with open(HIDDEN_FILE, "w"):
        pass
    os.chmod(HIDDEN_FILE, 0)
    for path in hidden_paths:
        _hide(libc, os.path.abspath(path), HIDDEN_FILE)
    for fd, path in restore:
        _bind_handle(libc, fd, path)
        os.close(fd)
    exposed = set()
    for fd, path in writable_handles:
        # mounted back from the handle taken before anything was covered (the
        # folder may lie under a hidden path or /tmp); as a mount point of its
        # own the read-only pass leaves it be
        _bind_writable(libc, fd, path)
        os.close(fd)
        exposed.add(path)
    _read_only_pass(libc, private | exposed | {"/proc", "/dev/pts", "/dev"})
    return exposed
