"""The zygote template (src/dlcourse/sandbox/zygote_template.py): the zygotes
it forks for different gradings share nothing and inherit nothing of each
other, the template keeps nothing of any grading, a grading killed at its
timeout leaves neither its zygote nor its sandboxes, and a template that
dies or is sent nonsense costs no running grading anything. (The sandbox
tests run with template-forked zygotes too: conftest.sandbox_start.)"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import time

import pytest
from processes import gone, running

from dlcourse.sandbox import Cell, Sandbox
from dlcourse.sandbox.session import worker_environment
from dlcourse.sandbox.zygote import ZygoteError
from dlcourse.sandbox.zygote_template import REQUEST, Template

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root (CI runs as root)")


@pytest.fixture
def template():
    started = Template(worker_environment())
    yield started
    started.close()


def _memory_holds(pid: int, needle: bytes) -> bool:
    """Whether ``needle`` is anywhere in the readable memory of ``pid``."""
    found = False
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if fields[1][0] != "r" or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(start)
                if needle in mem.read(end - start):
                    found = True
            except (OSError, OverflowError, ValueError):
                continue
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            inodes.add(target)
    return inodes


def test_zygotes_of_two_gradings_share_nothing_and_the_template_keeps_nothing(template, tmp_path):
    """What one grading's zygote was told (its sandboxes' configuration) and
    what its sandboxes did is neither in the template nor in the zygote it
    forks for the next grading, nor seen by that grading's sandboxes."""
    secret = f"grading-one-{secrets.token_hex(8)}"
    first = template.fork()
    try:
        with Sandbox(zygote=first, hidden_paths=[str(tmp_path / secret)]) as one:
            one.run(
                [
                    Cell(
                        "answer",
                        "import numpy, os\nnumpy.left_here = 1\n"
                        "open('/tmp/left_here', 'w').write('x')\nos.environ['LEFT_HERE'] = '1'\n"
                        "ns = os.readlink('/proc/self/ns/pid')\nuid = os.getuid()",
                    )
                ]
            )
            assert one.proc.__class__.__name__ == "ForkedProcess"
            # the scan finds it where it is: the first zygote read that
            # configuration
            assert _memory_holds(first.proc.pid, secret.encode())
            second = template.fork()
            try:
                assert second.proc.pid != first.proc.pid
                assert not _memory_holds(template.pid, secret.encode())
                assert not _memory_holds(second.proc.pid, secret.encode())
                # (both sandboxes alive: a namespace's number is reused once it
                # is gone)
                with Sandbox(zygote=second) as two:
                    two.run(
                        [
                            Cell(
                                "answer",
                                "import numpy, os\nseen = [hasattr(numpy, 'left_here'), "
                                "os.path.exists('/tmp/left_here'), 'LEFT_HERE' in os.environ]\n"
                                "ns = os.readlink('/proc/self/ns/pid')\nuid = os.getuid()",
                            )
                        ]
                    )
                    assert two.get("seen") == [False, False, False]
                    assert two.get("ns") != one.get("ns")
                    assert two.get("uid") != one.get("uid")
            finally:
                second.close()
    finally:
        first.close()


def test_a_forked_zygote_holds_its_own_socket_and_nothing_of_the_template(template):
    zygote = template.fork()
    try:
        pid = zygote.proc.pid
        assert os.readlink(f"/proc/{pid}/cwd") == "/"
        assert os.getsid(pid) == pid  # a session of its own, not the template's
        ours = _socket_inodes(os.getpid())
        theirs = _socket_inodes(pid)
        # one socket, its grader's: not the template's, which asks for zygotes
        assert len(theirs) == 1
        assert not theirs & _socket_inodes(template.pid)
        with Sandbox(zygote=zygote) as box:
            box.run([Cell("answer", "x = 1")])
            assert box.get("x") == 1
            assert box.proc.__class__.__name__ == "ForkedProcess"
        assert ours  # (the scan sees sockets at all: this process has some)
    finally:
        zygote.close()


def test_closing_a_forked_zygote_ends_it_and_its_sandboxes(template):
    zygote = template.fork()
    box = Sandbox(zygote=zygote, call_timeout=10)
    box.start()
    box.run([Cell("answer", "x = 1")])
    pids = [zygote.proc.pid, box.proc.pid, box._worker_pid]
    assert all(running(p) for p in pids)
    zygote.close()
    assert not zygote.alive
    left = [p for p in pids if not gone(p, within=10)]
    assert not left, f"still running after their zygote was closed: {left}"
    box.close()


def test_a_template_that_dies_costs_the_running_gradings_nothing(template):
    zygote = template.fork()
    try:
        with Sandbox(zygote=zygote) as before:
            before.run([Cell("answer", "x = 1")])
            template.proc.kill()
            template.proc.wait()
            # the running sandbox and its zygote go on: neither is tied to it
            before.run([Cell("answer", "x = 2")])
            assert before.get("x") == 2
            with Sandbox(zygote=zygote) as after:
                after.run([Cell("answer", "y = 3")])
                assert after.get("y") == 3
                assert after.proc.__class__.__name__ == "ForkedProcess"
        # no more zygotes from it: the grader is told, and starts one anew
        with pytest.raises(ZygoteError):
            template.fork(start_timeout=10)
    finally:
        zygote.close()


def test_requests_that_are_not_a_socket_are_dropped_and_close_their_descriptors(template):
    template.fork().close()  # ready
    before = len(os.listdir(f"/proc/{template.pid}/fd"))
    read, write = os.pipe()
    spare, _ = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        for message, fds in (
            (b"kernel", [spare.fileno(), 2]),  # not the word
            (REQUEST, []),  # no socket
            (REQUEST, [spare.fileno()]),  # no error output
            (REQUEST, [read, write]),  # a pipe, not a socket
            (REQUEST, [spare.fileno(), 2, read]),  # one too many
            (b"x" * 100, [read]),
        ):
            socket.send_fds(template.sock, [message], fds)
        zygote = template.fork()  # still serves, in order
        zygote.close()
        assert len(os.listdir(f"/proc/{template.pid}/fd")) == before
        # and forked nothing for them: the socket sent never got an answer
        assert select.select([spare], [], [], 0.5)[0] == []
    finally:
        os.close(read)
        os.close(write)
        spare.close()


def test_a_wedged_template_fails_each_request_at_once_and_is_asked_no_more(template):
    """A template that stops reading (stopped, or its queue full) costs a
    grading the wait for an answer at most once, never a hang."""
    template.fork().close()  # ready
    os.kill(template.pid, signal.SIGSTOP)

    class Hung(Exception):  # not an OSError, which fork() would take for a failure
        pass

    def hung(*_):
        raise Hung("a request to the stopped template hung")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)  # a hang fails the test instead of the suite
    try:
        start = time.monotonic()
        failures = 0
        for _ in range(400):  # more than its socket queues
            try:
                template.fork(start_timeout=0.001)
            except ZygoteError:
                failures += 1
        assert failures == 400
        assert time.monotonic() - start < 30
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.kill(template.pid, signal.SIGKILL)
    # in a process that inherited it, a failure retires it there
    code = (
        "import os, signal, sys\n"
        "from dlcourse.sandbox import zygote_template as zt\n"
        "from dlcourse.sandbox.session import worker_environment\n"
        "t = zt.ensure_template(worker_environment(), [])\n"
        "t.fork().close()\n"
        "os.kill(t.pid, signal.SIGSTOP)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    first = zt.fork_zygote(worker_environment(), [], start_timeout=0.5)\n"
        "    second = zt.fork_zygote(worker_environment(), [], start_timeout=0.5)\n"
        "    os._exit(0 if first is None and second is None and t.sock is None else 1)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status), t.sock is not None)\n"
        "os.kill(t.pid, signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["0", "True"], result.stderr


def test_a_forked_zygote_gets_its_grader_s_memory_limit_and_error_output(tmp_path):
    """What a zygote started by the grader would inherit from it: the
    grader's address-space limit (not the long-lived process's, which has
    none) and its error output."""
    errors = tmp_path / "grader-stderr.txt"
    code = (
        "import os, resource, sys\n"
        "from dlcourse.sandbox import zygote_template as zt\n"
        "from dlcourse.sandbox.session import worker_environment\n"
        "t = zt.Template(worker_environment(), [])\n"
        "t.fork().close()\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, resource.RLIM_INFINITY))\n"
        f"err = os.open({str(errors)!r}, os.O_WRONLY | os.O_CREAT, 0o600)\n"
        "os.dup2(err, 2)\n"
        "z = t.fork()\n"
        "limits = [l for l in open(f'/proc/{z.proc.pid}/limits') if 'address space' in l]\n"
        "stderr = os.readlink(f'/proc/{z.proc.pid}/fd/2')\n"
        "z.close(); t.close()\n"
        "print(limits[0].split()[3], stderr)\n"
    )
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    soft, stderr = result.stdout.split()
    assert int(soft) == 3 << 30
    assert stderr == str(errors)


def test_the_switch_turns_templates_off_for_a_grading(template, monkeypatch):
    from dlcourse.sandbox import zygote_template

    monkeypatch.setattr(zygote_template, "_templates", [template])
    env = worker_environment()
    forked = zygote_template.fork_zygote(env, [])
    assert forked is not None
    forked.close()
    monkeypatch.setenv("DLCOURSE_ZYGOTE_TEMPLATE", "0")
    assert zygote_template.fork_zygote(env, []) is None
    assert zygote_template.ensure_template(env, []) is None


GRADERS = """
import json, os, time
from dlcourse.sandbox import Cell, Sandbox
from dlcourse.sandbox.session import worker_environment
from dlcourse.sandbox.zygote_template import fork_zygote


def test_x():
    zygote = fork_zygote(worker_environment(), [])
    box = Sandbox(zygote=zygote)
    box.start()
    box.run([Cell("answer", "x = 1")])
    with open(f"/proc/{zygote.proc.pid}/stat") as fh:
        parent = int(fh.read().rsplit(")", 1)[1].split()[1])
    with open(os.environ["PIDS"], "a") as fh:
        fh.write(json.dumps([zygote.proc.pid, box.proc.pid, box._worker_pid, parent]) + "\\n")
    if os.environ.get("HANG") == "1":
        time.sleep(120)  # killed at the grading's timeout
"""


def test_a_grading_killed_at_its_timeout_leaves_nothing_and_the_template_serves_the_next(
    tmp_path,
):
    """Through the graders' server, as the tests and stock nbgrader grade: its
    graders fork their zygote from the server's template; killed at the
    timeout, they leave neither zygote nor sandbox running, and the next
    grading forks its zygote from the same template."""
    (tmp_path / "test_graders.py").write_text(GRADERS)
    pids = tmp_path / "pids.txt"
    code = f"""
import json, os
from dlcourse.graders_server import GradersServer
env = dict(os.environ, PYTHONWARNINGS="ignore", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
           PIDS={str(pids)!r})
server = GradersServer(env)
argv = ["test_graders.py", "-q", "-p", "no:cacheprovider"]
runs = []
for hang, timeout in (("1", 8), ("0", 60)):
    runs.append(server.run(argv, {str(tmp_path)!r}, 0, {str(tmp_path / "out.txt")!r}, timeout,
                           dict(env, HANG=hang), preload=[]))
    with open({str(pids)!r}) as fh:
        first = json.loads(fh.readline())
    runs.append([os.path.exists(f"/proc/{{p}}") and open(f"/proc/{{p}}/stat").read().split()[2] != "Z"
                 for p in first[:3]])
print(json.dumps(runs))
server.close()
"""
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    out = (tmp_path / "out.txt").read_text()
    assert runs[0][1] is True, out  # the first was killed at its timeout
    # the killed grading's zygote and sandbox were gone before the next began
    assert runs[1] == [False, False, False]
    assert runs[2] == [0, False], out  # the next passed
    first, second = (json.loads(line) for line in pids.read_text().splitlines())
    assert first[0] != second[0]
    # both zygotes forked by the same template, still running between them
    assert first[3] == second[3]
    assert not any(running(p) for p in first[:3] + second[:3])
