"""Attacks on the sandbox zygote (src/dlcourse/sandbox/zygote.py), from
student code in one of its children and from the machine failing around it:
a child cannot reach the zygote or a later child, cannot make the grader
misread how it ended, and a zygote that cannot fork costs no running sandbox
(a student's check) anything."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from dlcourse.sandbox import Cell, Sandbox, StudentError
from dlcourse.sandbox.session import worker_environment
from dlcourse.sandbox.zygote import Zygote

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root (CI runs as root)")


@pytest.fixture
def zygote():
    started = Zygote(worker_environment())
    started.start()
    yield started
    started.close()


def _forked(box) -> bool:
    return box.proc.__class__.__name__ == "ForkedProcess"


REACH = """
import ctypes, os
zygote = {zygote}
grader = {grader}
tried = {{}}
def attempt(name, fn):
    try:
        fn()
        tried[name] = "done"
    except Exception as exc:
        tried[name] = type(exc).__name__
# the zygote and the grader are not in this sandbox's PID namespace
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
attempt("zygote /proc", lambda: open(f"/proc/{{zygote}}/mem", "rb").read(1))
attempt("grader /proc", lambda: os.listdir(f"/proc/{{grader}}/fd"))
# signal 0: whether a signal could be sent, sending none
attempt("signal zygote", lambda: os.kill(zygote, 0))
attempt("signal grader", lambda: os.kill(grader, 0))
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH = 16
tried["ptrace zygote"] = libc.ptrace(PTRACE_ATTACH, zygote, 0, 0)
tried["ptrace parent"] = libc.ptrace(PTRACE_ATTACH, os.getppid(), 0, 0)
# every descriptor this process holds, and what it is
fds = {{}}
for f in os.listdir("/proc/self/fd"):
    try:
        fds[int(f)] = os.readlink(f"/proc/self/fd/{{f}}")
    except OSError:
        pass
import json
result = json.dumps({{"tried": tried, "pids": pids, "fds": fds}})
"""


def test_a_child_cannot_reach_the_zygote_or_the_grader(zygote):
    with Sandbox(zygote=zygote) as box:
        assert _forked(box)
        code = REACH.format(zygote=zygote.proc.pid, grader=os.getpid())
        box.run([Cell("answer", code)])
        result = json.loads(box.get("result"))
    tried, pids, fds = result["tried"], result["pids"], result["fds"]
    assert max(pids) < 100, pids  # its own PID namespace: its own few processes
    for name in ("zygote /proc", "grader /proc", "signal zygote", "signal grader"):
        assert tried[name] != "done", (name, tried)
    assert tried["ptrace zygote"] == -1 and tried["ptrace parent"] == -1, tried
    # no socket (the zygote's), and pipes only the sandbox's own channel
    assert not any("socket" in target for target in fds.values()), fds
    assert sum("pipe" in target for target in fds.values()) <= 2, fds
    # the zygote still forks, unharmed
    assert zygote.alive
    with Sandbox(zygote=zygote) as again:
        again.run([Cell("answer", "x = 1")])
        assert again.get("x") == 1 and _forked(again)


LEAVE = """
import os, sys
marker = "left-by-an-earlier-child-7f3a"
for folder in ("/tmp", "/var/tmp", "/dev/shm", os.getcwd()):
    try:
        with open(os.path.join(folder, "left.txt"), "w") as fh:
            fh.write(marker)
    except OSError:
        pass
os.environ["LEFT"] = marker
import numpy
numpy.LEFT = marker
sys.modules["left_module"] = type(sys)("left_module")
secret = marker * 1000  # held in this child's memory
"""

LOOK = """
import os, sys, ctypes
found = []
for folder in ("/tmp", "/var/tmp", "/dev/shm", os.getcwd()):
    if os.path.exists(os.path.join(folder, "left.txt")):
        found.append(folder)
import numpy
found += [name for name, there in (("env", "LEFT" in os.environ),
          ("numpy", hasattr(numpy, "LEFT")), ("module", "left_module" in sys.modules)) if there]
# this process's writable memory, looked through for the earlier child's
# secret (1000 markers in a row; this cell makes one)
needle = ("left-by-an-earlier-" + "child-7f3a").encode()
copies = 0
with open("/proc/self/maps") as fh:
    regions = [line.split() for line in fh]
for region in regions:
    start, end = (int(x, 16) for x in region[0].split("-"))
    if "rw" not in region[1] or end - start > 1 << 28 or (len(region) > 5 and region[5].startswith("[v")):
        continue
    try:
        copies += ctypes.string_at(start, end - start).count(needle)
    except Exception:
        pass
if copies >= 100:
    found.append(f"{copies} copies in memory")
import json
result = json.dumps(found)
"""


def test_a_later_child_finds_nothing_an_earlier_one_left(zygote):
    with Sandbox(zygote=zygote) as first:
        first.run([Cell("answer", LEAVE)])
        assert first.get("marker") == "left-by-an-earlier-child-7f3a"
        # the probes see what the child itself left
        first.run([Cell("answer", LOOK)])
        seen = json.loads(first.get("result"))
        assert {"/tmp", "/dev/shm", "env", "numpy", "module"} <= set(seen), seen
        assert any(f.endswith("copies in memory") for f in seen), seen
        # alive at the same time, and after the first has gone
        with Sandbox(zygote=zygote) as second:
            second.run([Cell("answer", LOOK)])
            assert json.loads(second.get("result")) == []
    with Sandbox(zygote=zygote) as third:
        third.run([Cell("answer", LOOK)])
        assert json.loads(third.get("result")) == []


def test_a_child_that_exits_mid_call_is_a_crash_not_an_answer(zygote):
    # the exit status comes from the zygote's waitpid over a pipe only the
    # zygote holds (the child has no descriptor of it: see the test above);
    # a clean exit in the middle of a call is not an answer
    code = "import os\ndef leave():\n    os._exit(0)\n"
    with Sandbox(zygote=zygote, call_timeout=10) as box:
        box.run([Cell("answer", code)])
        with pytest.raises(StudentError) as ended:
            box.get("leave")()
        assert ended.value.kind == "crash", ended.value
        assert "ended" in str(ended.value)


def _pids_cgroup_for(pid: int) -> Path | None:
    root = Path("/sys/fs/cgroup/pids")
    if not (root / "cgroup.procs").exists():
        return None
    folder = root / f"dlcourse-test-zygote-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    (folder / "cgroup.procs").write_text(str(pid))
    return folder


def _remove_cgroup(folder: Path, pid: int) -> None:
    with contextlib.suppress(OSError):
        (folder.parent / "cgroup.procs").write_text(str(pid))
    for sub in sorted(folder.glob("*/"), reverse=True):
        with contextlib.suppress(OSError):
            sub.rmdir()
    with contextlib.suppress(OSError):
        folder.rmdir()


def test_a_zygote_that_cannot_fork_costs_the_running_sandboxes_nothing(zygote):
    # the fork fails (the grading's process budget is full for a moment):
    # before the fix the grader then killed the zygote, and every sandbox it
    # had forked with it: a student's next check there failed as a crash
    first = Sandbox(zygote=zygote, call_timeout=10)
    first.start()
    folder = None
    try:
        first.run([Cell("answer", "x = 1")])
        assert _forked(first)
        pid = zygote.proc.pid
        folder = _pids_cgroup_for(pid)
        if folder is None:
            pytest.skip("no cgroup v1 pids hierarchy to make a fork fail")
        (folder / "pids.max").write_text((folder / "pids.current").read_text().strip())
        with Sandbox(zygote=zygote, call_timeout=10) as second:
            second.run([Cell("answer", "y = 2")])
            assert second.get("y") == 2
            assert not _forked(second)  # started anew instead
        assert first.get("x") == 1  # still there
        (folder / "pids.max").write_text("max")
        # and the zygote forks again once it can
        with Sandbox(zygote=zygote) as third:
            third.run([Cell("answer", "z = 3")])
            assert third.get("z") == 3 and _forked(third)
    finally:
        first.close()
        if folder is not None:
            _remove_cgroup(folder, pid)


def test_a_zygote_that_does_not_answer_costs_the_running_sandboxes_nothing():
    zygote = Zygote(worker_environment(), start_timeout=30)
    zygote.start()
    first = Sandbox(zygote=zygote, call_timeout=10)
    try:
        first.start()
        first.run([Cell("answer", "x = 1")])
        assert _forked(first)
        pid = zygote.proc.pid
        os.kill(pid, signal.SIGSTOP)
        zygote.start_timeout = 0.5
        try:
            started = time.monotonic()
            with Sandbox(zygote=zygote, call_timeout=10) as second:
                second.run([Cell("answer", "y = 2")])
                assert second.get("y") == 2 and not _forked(second)
            assert time.monotonic() - started < 20
        finally:
            with contextlib.suppress(ProcessLookupError):  # killed, before the fix
                os.kill(pid, signal.SIGCONT)
        # not used again (a late answer would be taken for the next request),
        # but the sandbox it forked lives on
        assert not zygote.alive
        assert first.get("x") == 1
        with Sandbox(zygote=zygote, call_timeout=10) as third:
            third.run([Cell("answer", "z = 3")])
            assert third.get("z") == 3 and not _forked(third)
    finally:
        first.close()
        zygote.close()


def test_a_configuration_too_large_for_the_socket_costs_nothing(zygote):
    # over the socket's message size (about 200 kB) but under MAX_MESSAGE:
    # nothing was sent, so the zygote stays in use, and its sandboxes alive
    first = Sandbox(zygote=zygote, call_timeout=10)
    first.start()
    try:
        first.run([Cell("answer", "x = 1")])
        config = {"hidden_paths": ["/nonexistent/" + "p" * 200] * 1500}
        assert 200_000 < len(json.dumps({"config": config})) < 1 << 20
        with pytest.raises(OSError):
            zygote.spawn(config, 2)
        assert zygote.alive
        assert first.get("x") == 1
        with Sandbox(zygote=zygote) as second:
            second.run([Cell("answer", "y = 2")])
            assert second.get("y") == 2 and _forked(second)
    finally:
        first.close()


def test_a_child_gets_fresh_random_state_and_its_own_uid(zygote):
    # numpy's global generator, Python's random and os.urandom differ from a
    # sibling's, and no two live children share a uid
    code = (
        "import json, numpy, random, os\n"
        "draws = json.dumps([float(numpy.random.rand()), random.random(), os.urandom(8).hex(), "
        "os.getuid()])"
    )
    with Sandbox(zygote=zygote) as a, Sandbox(zygote=zygote) as b:
        a.run([Cell("answer", code)])
        b.run([Cell("answer", code)])
        da, db = json.loads(a.get("draws")), json.loads(b.get("draws"))
    assert all(x != y for x, y in zip(da, db, strict=True)), (da, db)


WRITE_MAPPED = """
import os
open("control", "w").close()  # a file this child may write: the probe works
written = []
for path in {paths!r} + [os.path.abspath("control")]:
    for target, flags in ((path, os.O_WRONLY), (os.path.join(os.path.dirname(path), ".planted"),
                                                 os.O_WRONLY | os.O_CREAT | os.O_EXCL)):
        try:
            fd = os.open(target, flags, 0o644)
        except OSError:
            continue
        os.close(fd)
        written.append(target)
import json
result = json.dumps(written)
"""


TORCH_AFTER_FORK = """
import torch
x = torch.ones(200, 200) / 200
sums = [float((x @ x).sum() / 200)]
torch.set_num_threads(2)
sums.append(float((x @ x).sum() / 200))
"""


def test_a_child_cannot_write_what_the_zygote_has_mapped():
    # the zygote (root, never confined) maps numpy's, torch's and Python's
    # files, and later children run that code: a child that could write one
    # of them (or plant a file beside it) would run code in every later
    # sandbox and, through the zygote, as root
    zygote = Zygote(worker_environment(), preload=["torch"])
    zygote.start()
    try:
        with Sandbox(zygote=zygote) as box:  # the zygote is ready: torch imported
            with open(f"/proc/{zygote.proc.pid}/maps") as fh:
                paths = sorted({line.split()[5] for line in fh if len(line.split()) > 5})
            paths = [p for p in paths if p.startswith("/") and os.path.isfile(p)]
            assert any("torch" in p for p in paths) and any("numpy" in p for p in paths)
            box.run([Cell("answer", WRITE_MAPPED.format(paths=paths))])
            written = json.loads(box.get("result"))
            # and torch, imported before the fork, works in the child (a
            # thread pool started in the zygote would hang it: a timeout,
            # the student's zero)
            box.run([Cell("answer", TORCH_AFTER_FORK)])
            assert box.get("sums") == pytest.approx([1.0, 1.0])
    finally:
        zygote.close()
    control = [w for w in written if os.path.basename(w) in ("control", ".planted")]
    assert len(control) == 2 and len(written) == 2, written


def test_a_zygote_killed_while_it_forks_costs_a_start_no_hang():
    zygote = Zygote(worker_environment(), start_timeout=30)
    zygote.start()
    try:
        with Sandbox(zygote=zygote) as box:  # ready
            box.run([Cell("answer", "x = 1")])
        pid = zygote.proc.pid
        os.kill(pid, signal.SIGSTOP)  # it will not answer the next request
        killer = threading.Timer(0.5, os.kill, (pid, signal.SIGKILL))
        killer.start()
        started = time.monotonic()
        with Sandbox(zygote=zygote, call_timeout=10) as box:
            box.run([Cell("answer", "y = 2")])
            assert box.get("y") == 2 and not _forked(box)
        killer.join()
        assert time.monotonic() - started < 15
        assert not zygote.alive
    finally:
        zygote.close()


def _open_descriptors() -> set[int]:
    """This process's open descriptor numbers (not the one listing them)."""
    listed = {int(n) for n in os.listdir("/proc/self/fd")}
    still = set()
    for fd in listed:
        try:
            os.fstat(fd)
        except OSError:  # the listing's own, closed by now
            continue
        still.add(fd)
    return still


def test_a_grader_out_of_descriptors_leaks_none_and_keeps_the_zygote(zygote):
    import resource
    import tempfile

    with Sandbox(zygote=zygote) as box:  # ready
        box.run([Cell("answer", "x = 1")])
    errors = tempfile.TemporaryFile()
    before = _open_descriptors()
    # RLIMIT_NOFILE caps descriptor numbers, not their count: the limit leaves
    # exactly four numbers free below it (two pipes fit, not three), whatever
    # holes this process's table has (an xdist worker's has some)
    free = [n for n in range(max(before) + 8) if n not in before]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (free[3] + 1, hard))
    try:
        for _ in range(3):
            with pytest.raises(OSError):
                zygote.spawn({"limits": {}}, errors.fileno())
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert _open_descriptors() == before, "descriptors leaked"
    errors.close()
    assert zygote.alive
    with Sandbox(zygote=zygote) as box:
        box.run([Cell("answer", "y = 2")])
        assert box.get("y") == 2 and _forked(box)
