"""What one sandbox shares with the machine and with the next sandbox:
nothing of System V or POSIX IPC, no keyring, no uid (each runs as a user of
its own, never root), and its temporary folders count against its memory."""

import ctypes
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from dlcourse.sandbox import Cell, Sandbox
from dlcourse.sandbox.confine import SANDBOX_HOSTNAME

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root (CI runs as root)"),
    pytest.mark.usefixtures("sandbox_start"),
]

O_RDWR, O_CREAT = 0o2, 0o100
IPC_CREAT = 0o1000
ENOENT, ENOKEY = 2, 126
# add_key, keyctl
KEY_SYSCALLS = {"x86_64": (248, 250), "aarch64": (217, 219), "riscv64": (217, 219)}
KEYCTL_SEARCH = 10
KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING = -3, -4


def run(box, code):
    box.run([Cell("answer", code)])


# student code: publish a System V segment, a POSIX queue and keys, or look
# for them; ``key``, ``queue`` and ``tag`` are filled in
PUBLISH = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
segment = libc.shmget({key}, 1024 * 1024, {create} | 0o666)
address = libc.shmat(segment, None, 0)
ctypes.memset(address, 7, 1024 * 1024)
queue = libc.mq_open({queue!r}, {o_create} | {o_rdwr}, 0o666, None)
keys = []
if {syscalls!r}:
    add_key = {syscalls!r}[0]
    for ring in (-3, -4):  # session, user keyring
        made = libc.syscall(add_key, b"user", {tag!r}, b"secret", 6, ring)
        keys.append(made if made >= 0 else -ctypes.get_errno())
published = [segment, queue]
ipc_namespace = os.readlink("/proc/self/ns/ipc")
"""

LOOK = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def found(result):
    return result if result >= 0 else -ctypes.get_errno()
segment = found(libc.shmget({key}, 0, 0))
queue = found(libc.mq_open({queue!r}, {o_rdwr}))
keys = []
if {syscalls!r}:
    keyctl = {syscalls!r}[1]
    keys = [found(libc.syscall(keyctl, 10, ring, b"user", {tag!r}, 0)) for ring in (-3, -4)]
seen = [segment, queue, keys]
"""


def _host_segments() -> set[int]:
    with open("/proc/sysvipc/shm") as fh:
        return {int(line.split()[0]) for line in fh.readlines()[1:]}


def _holders_of(namespace: str) -> list[int]:
    holders = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink(f"/proc/{pid}/ns/ipc") == namespace:
                    holders.append(int(pid))
            except OSError:
                pass
    return holders


def test_ipc_and_keys_of_one_sandbox_do_not_reach_the_next_or_the_host():
    names = {
        "key": int.from_bytes(os.urandom(3), "big") + 1,
        "queue": f"/dlcourse-{uuid.uuid4().hex}".encode(),
        "tag": f"dlcourse-{uuid.uuid4().hex}".encode(),
        "syscalls": KEY_SYSCALLS.get(platform.machine(), ()),
        "create": IPC_CREAT,
        "o_create": O_CREAT,
        "o_rdwr": O_RDWR,
    }
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        with Sandbox(call_timeout=10) as first:
            run(first, PUBLISH.format(**names))
            segment, queue = first.get("published")
            assert segment >= 0 and queue >= 0  # the student could make them
            namespace = first.get("ipc_namespace")
            assert namespace != os.readlink("/proc/self/ns/ipc")
            # not on the host while the sandbox runs
            assert names["key"] not in _host_segments()
        with Sandbox(call_timeout=10) as second:
            run(second, LOOK.format(**names))
            segment, queue, keys = second.get("seen")
        assert segment == -ENOENT and queue == -ENOENT
        # keys: refused in the sandbox, and none found by the next one
        assert all(k < 0 for k in keys)
        # nothing left on the host, and the namespace (with whatever it held:
        # the segment, the queue) is gone with the sandbox's processes
        assert names["key"] not in _host_segments()
        assert libc.mq_open(names["queue"], O_RDWR) == -1 and ctypes.get_errno() == ENOENT
        deadline = time.monotonic() + 5
        while _holders_of(namespace) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _holders_of(namespace) == []
        if names["syscalls"]:
            keyctl = names["syscalls"][1]
            for ring in (KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING):
                found = libc.syscall(keyctl, KEYCTL_SEARCH, ring, b"user", names["tag"], 0)
                assert found == -1 and ctypes.get_errno() == ENOKEY
    finally:
        # only where the sandbox leaked them onto the host (a failed run)
        libc.mq_unlink(names["queue"])
        found = libc.shmget(names["key"], 0, 0)
        if found >= 0:
            libc.shmctl(found, 0, None)  # IPC_RMID


IDENTITY = """
import os, socket
def attempt(f):
    try:
        return f()
    except OSError as e:
        return type(e).__name__
who = [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups()]
spaces = {n: os.readlink('/proc/self/ns/' + n) for n in ('ipc', 'uts', 'cgroup', 'mnt', 'net', 'pid')}
renamed = attempt(lambda: socket.sethostname('dlcourse-student'))
hostname = socket.gethostname()
"""


def test_each_sandbox_runs_as_a_user_of_its_own():
    host_name = socket.gethostname()
    host_spaces = {
        n: os.readlink(f"/proc/self/ns/{n}") for n in ("ipc", "uts", "cgroup", "mnt", "net", "pid")
    }
    uids = []
    for _ in range(2):
        with Sandbox(call_timeout=10) as box:
            run(box, IDENTITY)
            uid, euid, gid, egid, groups = box.get("who")
            assert uid == euid == gid == egid == box.report["uid"] and groups == []
            assert "separate user" in box.report["applied"]
            uids.append(uid)
            spaces = box.get("spaces")
            assert all(spaces[n] != host_spaces[n] for n in host_spaces), spaces
            assert box.get("renamed") == "PermissionError"
            # a name of its own: the host's says which machine graded
            assert box.get("hostname") == SANDBOX_HOSTNAME != host_name
    assert 0 not in uids and 65534 not in uids
    assert uids[0] != uids[1]
    assert socket.gethostname() == host_name


@pytest.fixture
def data_folder():
    """A data folder the sandbox sees read-only, outside /tmp and homes."""
    folder = Path("/var/lib") / f"dlcourse-test-{uuid.uuid4().hex}"
    folder.mkdir()
    (folder / "train.idx").write_text("pixels")
    (folder / "root-only").write_text("SECRET")
    os.chmod(folder / "root-only", 0o600)
    yield folder
    shutil.rmtree(folder)


def test_files_only_root_may_read_stay_closed(data_folder):
    with Sandbox(call_timeout=10, env={"DLCOURSE_FASHION_MNIST": str(data_folder)}) as box:
        run(
            box,
            "def read(p):\n    try:\n        return open(p).read()\n    except OSError as e:\n        return type(e).__name__\n"
            "import torch, numpy\n"
            "imported = float(torch.ones(2).sum()) + float(numpy.ones(2).sum())\n",
        )
        assert box.get("read")(str(data_folder / "train.idx")) == "pixels"
        assert box.get("read")(str(data_folder / "root-only")) == "PermissionError"
        assert box.get("read")("/etc/shadow") == "PermissionError"
        assert box.get("imported") == 4.0


# runs confine.enter directly, with writable folders (as the kernel's
# launcher does) and a small temporary-folder size
HARNESS = """
import json, sys
from dlcourse.sandbox import confine
config = json.loads(sys.argv[1])
report = confine.enter(**config["enter"])
exec(config["code"])
"""

FOLDERS_PROBE = """
import os, json
def attempt(f):
    try:
        return f()
    except OSError as e:
        return type(e).__name__
def fill(path, chunks, size=8 * 1024**2):
    written = 0
    try:
        with open(path, "wb") as fh:
            for _ in range(chunks):
                fh.write(b"x" * size)
                fh.flush()
                written += size
    except OSError as e:
        return type(e).__name__
    return written
work, sockets = config["enter"]["writable"]
found = {
    "connection_file": attempt(lambda: open(os.path.join(sockets, "kernel.json")).read()),
    "socket": attempt(lambda: __import__("socket").socket(1).bind(os.path.join(sockets, "s"))),
    "uid": os.getuid(),
    "cwd": os.getcwd(),
    "new": attempt(lambda: open(os.path.join(work, "new.txt"), "w").write("kept")),
    "existing": attempt(lambda: open(os.path.join(work, "sub", "old.txt"), "a").write("+")),
    "hard_link": attempt(lambda: open(os.path.join(work, "hard")).read()),
    "owners": {p: os.stat(p).st_uid for p in ("/tmp", "/var/tmp", "/dev/shm", work)},
    "sizes": {p: os.statvfs(p).f_blocks * os.statvfs(p).f_frsize for p in ("/tmp", "/dev/shm")},
    "tmp": attempt(lambda: open("/tmp/t", "w").write("t")),
    "var_tmp": attempt(lambda: open("/var/tmp/t", "w").write("t")),
    "shm_over": fill("/dev/shm/big", 3),
}
print(json.dumps({"report": report, "found": found}))
"""


def _confined(enter: dict, code: str, before: str = "") -> subprocess.CompletedProcess:
    """Runs ``code`` in a process confined by ``enter``; ``before``: code run
    first, unconfined (to change the machine confine sees)."""
    config = json.dumps({"enter": enter, "code": code})
    return subprocess.run(
        [sys.executable, "-c", before + HARNESS, config], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def folders():
    """Two writable folders as the kernel's launcher gets them (a notebook
    folder and a socket folder holding the connection file, both made by
    mkdtemp: mode 0700, root's) and, on the same file system beside them, a
    root-only file the first links to (symbolically and hard)."""
    base = Path("/var/lib") / f"dlcourse-test-{uuid.uuid4().hex}"
    work, sockets, outside = base / "work", base / "sockets", base / "outside"
    (work / "sub").mkdir(parents=True)
    sockets.mkdir()
    outside.mkdir()
    (work / "sub" / "old.txt").write_text("old")
    os.chmod(work / "sub" / "old.txt", 0o600)
    (sockets / "kernel.json").write_text("{}")
    for path, mode in ((work, 0o700), (sockets, 0o700), (sockets / "kernel.json", 0o600)):
        os.chmod(path, mode)
    secret = outside / "secret"
    secret.write_text("SECRET")
    os.chmod(secret, 0o600)
    (work / "soft").symlink_to(secret)
    os.link(secret, work / "hard")
    yield work, sockets, secret
    shutil.rmtree(base)


def test_writable_folders_and_tmp_belong_to_the_sandbox_user(folders):
    work, sockets, secret = folders
    enter = {
        "writable": [str(work), str(sockets)],
        "workdir": str(work),
        "tmp_bytes": 16 * 1024**2,
    }
    done = _confined(enter, FOLDERS_PROBE)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    found, uid = result["found"], result["report"]["uid"]
    assert found["uid"] == uid != 0 and found["cwd"] == str(work)
    assert found["connection_file"] == "{}" and found["socket"] is None
    assert found["new"] == 4 and found["existing"] == 1
    assert (work / "new.txt").read_text() == "kept"
    assert (work / "sub" / "old.txt").read_text() == "old+"
    assert set(found["owners"].values()) == {uid}
    assert found["tmp"] == found["var_tmp"] == 1
    # /dev/shm holds 16 MiB: the third 8 MiB chunk does not fit
    assert found["sizes"] == {"/tmp": 16 * 1024**2, "/dev/shm": 16 * 1024**2}
    assert found["shm_over"] == "OSError"
    # the links were not followed: what they point to still belongs to root
    assert found["hard_link"] == "PermissionError"
    assert os.stat(secret).st_uid == 0 and os.lstat(work / "soft").st_uid == uid


KEYRING_PROBE = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
add_key, keyctl = config["syscalls"]
tag = config["tag"].encode()
def result(n):
    return n if n >= 0 else -ctypes.get_errno()
# the user's, the user session and the persistent keyring (KEYCTL_GET_PERSISTENT)
rings = [-4, -5, libc.syscall(keyctl, 22, -1, -3)]
if config["add"]:
    found = [result(libc.syscall(add_key, b"user", tag, b"secret", 6, r)) for r in rings]
else:
    found = [result(libc.syscall(keyctl, 10, r, b"user", tag, 0)) for r in rings]
print(found)
"""


# a machine whose kernel refuses the seccomp filter: the sandbox empties its
# user's keyrings instead
WITHOUT_FILTER = """
from dlcourse.sandbox import confine
def refuse(libc):
    raise confine.ConfineError(0, "no seccomp on this machine")
confine._block_keyrings = refuse
"""


@pytest.mark.skipif(platform.machine() not in KEY_SYSCALLS, reason="system call numbers")
@pytest.mark.parametrize("keys", ["refused", "emptied"])
def test_a_later_sandbox_with_the_same_uid_finds_no_keys(keys):
    # uids come from launcher pids, which the system reuses; a user's
    # keyrings outlive all its processes
    uid = 1_999_000_000 + int.from_bytes(os.urandom(2), "big")
    tag = f"dlcourse-{uuid.uuid4().hex}"
    found = []
    for add in (True, False):
        code = f"config.update(add={add}, tag={tag!r}, syscalls={KEY_SYSCALLS[platform.machine()]!r})\n"
        done = _confined(
            {"uid": uid}, code + KEYRING_PROBE, before=WITHOUT_FILTER if keys == "emptied" else ""
        )
        assert done.returncode == 0, done.stderr
        found.append(eval(done.stdout))  # a list of three numbers
    # without the filter the first sandbox did put its keys there
    assert all((n >= 0) == (keys == "emptied") for n in found[0]), found
    assert all(n < 0 for n in found[1]), found


def _key_users() -> set[int]:
    """The uids the kernel keeps key state for (/proc/key-users)."""
    with open("/proc/key-users") as fh:
        return {int(line.split(":")[0]) for line in fh if line.strip()}


@pytest.mark.skipif(not os.path.exists("/proc/key-users"), reason="no key accounting to read")
def test_a_sandbox_leaves_no_key_state_for_its_uid_in_the_kernel():
    # a user's keyrings, once made, stay until the kernel shuts down, and
    # its key garbage collector walks every key whenever one is freed: a
    # grading host that kept two keys per sandbox uid got slower the longer
    # it ran
    uids = [1_998_000_000 + int.from_bytes(os.urandom(3), "big") for _ in range(3)]
    for uid in uids:
        done = _confined({"uid": uid}, "print('ran')")
        assert done.returncode == 0 and done.stdout.split() == ["ran"], done.stderr
    # the sandbox's own session keyring is freed by the kernel's collector,
    # which runs after the process has gone
    deadline = time.monotonic() + 10
    while set(uids) & _key_users() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not set(uids) & _key_users()


MEMORY_PROBE = """
chunk = b"x" * (16 * 1024**2)
written = 0
print("started", flush=True)
for folder in ("/dev/shm", "/tmp", "/var/tmp"):
    for i in range(12):
        try:
            with open(f"{folder}/fill{i}", "wb") as fh:
                fh.write(chunk)
        except OSError:
            break
        written += len(chunk)
        print(written // 1024**2, flush=True)
"""


def test_temporary_folders_count_against_the_memory_limit():
    # each folder could hold 192 MiB (576 in all), the memory limit is 256
    enter = {
        "limits": {"memory_bytes": 256 * 1024**2, "file_bytes": 1024**3},
        "tmp_bytes": 192 * 1024**2,
    }
    done = _confined(enter, MEMORY_PROBE)
    lines = done.stdout.split()
    assert lines[:1] == ["started"], done.stderr[-2000:]
    # stopped by the memory cgroup (the writer is killed) or, without one, by
    # tmpfs sizes taken off the budget: either way short of 256 MiB in all
    written = int(lines[-1]) if len(lines) > 1 else 0
    assert written < 256, (done.returncode, lines)


def test_the_host_cgroup_tree_is_not_shown():
    # it lists every other sandbox's cgroup and processes (cgroup v1: whole)
    with Sandbox(call_timeout=10) as box:
        run(
            box,
            "import os\nlisted = os.listdir('/sys/fs/cgroup') if os.path.isdir('/sys/fs/cgroup') else []\n",
        )
        assert box.get("listed") == []


# student code: threads and a forked process, all waiting
SPREAD = """
import os, threading, time
release = threading.Event()
for _ in range(3):
    threading.Thread(target=release.wait, daemon=True).start()
forked = os.fork()
if forked == 0:
    time.sleep(60)
    os._exit(0)
"""


def _cgroups_of_task(path: Path) -> dict[str, str]:
    """controller -> cgroup path, from a /proc/<pid>/task/<tid>/cgroup file"""
    found = {}
    for line in path.read_text().splitlines():
        _, controllers, where = line.split(":", 2)
        for controller in controllers.split(","):
            found[controller] = where
    return found


def test_every_thread_and_process_of_a_sandbox_is_in_its_cgroups():
    # a sandbox joins its cgroups one thread at a time (fast on cgroup v1);
    # a thread or process outside them would escape the memory and process
    # limits
    with Sandbox(call_timeout=10) as box:
        run(box, SPREAD)
        worker = box._find_worker_pid()
        assert worker is not None
        pids = [
            worker,
            *(int(p) for p in Path(f"/proc/{worker}/task/{worker}/children").read_text().split()),
        ]
        assert len(pids) == 2
        tasks = [t for pid in pids for t in Path(f"/proc/{pid}/task").iterdir()]
        assert len(tasks) >= 5  # the worker, its 3 threads, the forked process
        expected = f"/dlcourse-{box.proc.pid}"
        controllers = ["pids", "memory"] if "memory cgroup" in box.report["applied"] else ["pids"]
        assert "processes" in box.report["applied"]
        for task in tasks:
            groups = _cgroups_of_task(task / "cgroup")
            for controller in controllers:
                assert groups[controller].endswith(expected), (task, controller, groups)


@pytest.mark.parametrize("proc", ["readable", "unreadable"])
def test_a_process_with_threads_joins_its_cgroup_whole(proc):
    # the move by thread (cgroup v1's tasks file) falls back to moving the
    # whole process when it has more than one thread, or when /proc cannot
    # tell how many it has
    from dlcourse.sandbox import confine

    parent = confine._cgroup_parent("pids")
    if parent is None or os.path.exists(os.path.join(parent, "cgroup.controllers")):
        pytest.skip("no cgroup v1 pids hierarchy")
    folder = Path(parent) / f"dlcourse-test-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    pid = 0
    try:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                import threading

                release = threading.Event()
                thread = threading.Thread(target=release.wait, daemon=True)
                thread.start()
                if proc == "unreadable":
                    listdir = os.listdir

                    def no_proc(path="."):
                        if str(path).startswith("/proc"):
                            raise FileNotFoundError(2, "no /proc", path)
                        return listdir(path)

                    confine.os.listdir = no_proc
                confine._join(str(folder))
                os.write(write_end, f"{thread.native_id}\n".encode())
                time.sleep(30)
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as reader:
            thread_id = int(reader.readline())
        members = {int(t) for t in (folder / "tasks").read_text().split()}
        assert {pid, thread_id} <= members
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        for _ in range(100):
            try:
                folder.rmdir()
                break
            except OSError:
                time.sleep(0.01)
