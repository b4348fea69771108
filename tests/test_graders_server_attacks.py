"""Attacks on the graders' server (dlcourse.graders_server): one grading
must not reach the server or the next grading it forks (another student's),
whatever it leaves behind, however it ends.

Each test runs a caller in a process of its own (its server ends with it)
and tiny pytest files as "graders", so a grading costs a fraction of a
second: what is attacked is the server and its spares, not the course's
graders."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import gone

# the student's side of the descriptor attack: what a sandbox can see of
# its descriptors and of the server (whose pid the graders pass it)
REACH = r"""
import os, signal
def reach(server):
    out = {}
    try:
        out["fds"] = sorted(os.readlink("/proc/self/fd/" + fd) for fd in os.listdir("/proc/self/fd"))
    except OSError as exc:
        out["fds"] = type(exc).__name__
    for what in ("signal", "mem", "fd"):
        try:
            if what == "signal":
                os.kill(server, signal.SIGKILL)
            elif what == "mem":
                open("/proc/%d/mem" % server, "rb").close()
            else:
                os.listdir("/proc/%d/fd" % server)
            out[what] = "reached"
        except Exception as exc:
            out[what] = type(exc).__name__
    return out

def spin():
    while True:
        pass
"""

GRADERS = f"""\
import json, os, signal, subprocess, sys, tempfile, time
from dlcourse.sandbox import Cell, Sandbox

REACH = {REACH!r}


def facts(**more):
    with open(os.environ["FACTS"], "w") as fh:
        json.dump(more, fh)


def test_descriptors():
    from dlcourse.sandbox import zygote_template
    from dlcourse.sandbox.session import worker_environment

    fds = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds.append(os.readlink("/proc/self/fd/" + fd))
        except OSError:
            pass
    # the sockets of the sandbox zygote templates this process inherited
    templates = ["socket:[%d]" % os.fstat(t.sock.fileno()).st_ino
                 for t in zygote_template._templates if t.sock is not None]
    # as the plugin gets its zygote: forked from the server's template
    zygote = zygote_template.fork_zygote(worker_environment(), [])
    with Sandbox(call_timeout=20, zygote=zygote) as box:
        box.run([Cell("answer", REACH)])
        student = box.get("reach")(int(os.environ["SERVER_PID"]))
        forked = box.proc.__class__.__name__ == "ForkedProcess"
    zygote.close()
    facts(graders=fds, templates=templates, student=student, forked=forked)


def test_environment():
    print("OUTPUT OF", os.environ["MARK"])
    env = subprocess.run(["env"], capture_output=True, text=True).stdout.splitlines()
    facts(leak=os.environ.get("DLCOURSE_LEAK"), tmp=tempfile.gettempdir(),
          c_level=[line for line in env if line.startswith("DLCOURSE_LEAK=")])


def test_crash():
    os.kill(os.getpid(), signal.SIGSEGV)


def test_late_writer():
    facts(pid=os.getpid())
    time.sleep(2)
    open(os.environ["LATE"], "w").close()


def test_spinning_student():
    from dlcourse.sandbox.session import worker_environment

    zygote = None
    if os.environ["SANDBOX_START"] == "zygote":  # as the plugin starts them
        from dlcourse.sandbox.zygote import Zygote

        zygote = Zygote(worker_environment())
        zygote.start()
    elif os.environ["SANDBOX_START"] == "template":  # or forks them
        from dlcourse.sandbox.zygote_template import fork_zygote

        zygote = fork_zygote(worker_environment(), [])
        assert zygote is not None
    with Sandbox(call_timeout=60, zygote=zygote) as box:
        box.run([Cell("answer", REACH)])
        facts(worker=box._worker_pid)
        box.get("spin")()


def test_leaves_a_child():
    code = "import sys, time; time.sleep(1.5); open(sys.argv[1], 'w').close()"
    child = subprocess.Popen([sys.executable, "-c", code, os.environ["LATE"]])
    facts(child=child.pid)
"""


def _caller(tmp_path: Path, body: str) -> dict:
    """Runs ``body`` in a caller of its own, with ``grade(test, output,
    timeout, **env)`` (one grading of ``test`` in the caller's server) and
    ``g`` (the module); returns what it prints last (JSON)."""
    (tmp_path / "test_graders.py").write_text(GRADERS)
    code = f"""
import json, os, signal, threading, time
from dlcourse import graders_server as g
FOLDER = {str(tmp_path)!r}

def grade(test, output, timeout=60, **env):
    env = dict(os.environ, PYTHONWARNINGS="ignore", FACTS=os.path.join(FOLDER, "facts.json"),
               LATE=os.path.join(FOLDER, "late"), **env)
    argv = ["test_graders.py::" + test, "-q", "-p", "no:cacheprovider", "-p", "dlcourse.pytest_plugin", "-s"]
    # with the server's sandbox zygote template, as for a course's grading
    return g.run_in_server(argv, FOLDER, 0, os.path.join(FOLDER, output), timeout, env, [])

def facts():
    with open(os.path.join(FOLDER, "facts.json")) as fh:
        return json.load(fh)
{body}
"""
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_neither_the_graders_nor_the_student_reach_the_servers_pipes_or_process(tmp_path):
    """The spare holds no descriptor of the pipes the server answers on or
    reads requests from; the student's sandbox cannot signal the server,
    read its memory or list its descriptors."""
    out = _caller(
        tmp_path,
        """
grade("test_environment", "warm.txt", MARK="warm")  # the server runs
server = g._server.proc.pid
pipes = sorted("pipe:[%d]" % os.fstat(s.fileno()).st_ino for s in (g._server.proc.stdin, g._server.proc.stdout))
ran = grade("test_descriptors", "out.txt", SERVER_PID=str(server))
print(json.dumps({"ran": ran, "pipes": pipes, "facts": facts(),
                  "server_alive": g._server.alive, "same": g._server.proc.pid == server}))
""",
    )
    assert out["ran"] == [0, False], (tmp_path / "out.txt").read_text()
    assert out["server_alive"] and out["same"]
    graders, student = out["facts"]["graders"], out["facts"]["student"]
    templates = out["facts"]["templates"]
    assert not set(out["pipes"]) & set(graders), graders
    assert not any(fd.startswith("pipe:") for fd in graders), graders
    # no socket but the template's, which only forks library-only zygotes
    assert len(templates) == 1 and out["facts"]["forked"]
    assert [fd for fd in graders if fd.startswith("socket:")] == templates, graders
    if isinstance(student["fds"], list):
        assert not set(out["pipes"]) & set(student["fds"])
        assert not any(fd.startswith("socket:") for fd in student["fds"]), student["fds"]
    assert student["signal"] in ("ProcessLookupError", "PermissionError"), student
    assert student["mem"] != "reached" and student["fd"] != "reached", student


def test_each_grading_has_its_callers_whole_environment_and_its_own_output(tmp_path):
    """A variable of one call is gone in the next (in os.environ and in what
    the graders' children inherit), TMPDIR is the call's, and an output file
    used again holds only the new grading's output."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    out = _caller(
        tmp_path,
        f"""
first = grade("test_environment", "out.txt", MARK="first", DLCOURSE_LEAK="1", TMPDIR={str(tmp_path / "a")!r})
one = facts()
os.environ.pop("DLCOURSE_LEAK", None)
second = grade("test_environment", "out.txt", MARK="second", TMPDIR={str(tmp_path / "b")!r})
print(json.dumps({{"ran": [first, second], "facts": [one, facts()]}}))
""",
    )
    assert out["ran"] == [[0, False], [0, False]]
    one, two = out["facts"]
    assert one == {"leak": "1", "tmp": str(tmp_path / "a"), "c_level": ["DLCOURSE_LEAK=1"]}
    assert two == {"leak": None, "tmp": str(tmp_path / "b"), "c_level": []}
    log = (tmp_path / "out.txt").read_text()
    assert "OUTPUT OF second" in log and "OUTPUT OF first" not in log


def test_a_crashed_grading_leaves_the_server_serving_the_next(tmp_path):
    out = _caller(
        tmp_path,
        """
crashed = grade("test_crash", "crash.txt")
server = g._server.proc.pid
after = grade("test_environment", "out.txt", MARK="after")
print(json.dumps({"crashed": crashed, "after": after, "same": g._server.proc.pid == server}))
""",
    )
    assert out["crashed"] == [-11, False]
    assert out["after"] == [0, False] and out["same"]


def test_a_server_killed_mid_grading_leaves_no_spare_to_write_after_it(tmp_path):
    """The caller gets None (and grades in a fresh process, which writes the
    same report file): the orphaned spare must be dead by then, never
    writing after the fresh run."""
    out = _caller(
        tmp_path,
        """
grade("test_environment", "warm.txt", MARK="warm")
server = g._server.proc.pid
facts_path = os.path.join(FOLDER, "facts.json")
os.unlink(facts_path)

def kill_when_grading():
    while not os.path.exists(facts_path) or not os.path.getsize(facts_path):
        time.sleep(0.02)
    os.kill(server, signal.SIGKILL)

threading.Thread(target=kill_when_grading, daemon=True).start()
ran = grade("test_late_writer", "out.txt")
print(json.dumps({"ran": ran, "spare": facts()["pid"], "server": server}))
""",
    )
    assert out["ran"] is None
    assert gone(out["spare"], within=1.0), "the orphaned spare still runs"
    time.sleep(2.5)  # the spare would have written by now
    assert not (tmp_path / "late").exists()


@pytest.mark.parametrize("start", ["template", "zygote", "fresh"])
def test_a_grading_killed_at_its_timeout_leaves_no_student_code_running(tmp_path, start):
    """The student's code spins in a sandbox (forked from the grading's
    sandbox zygote, or, when that is unavailable, started fresh) when its
    grading is killed at the timeout: it must not keep spinning (a CPU of
    the grading machine each, growing with every such student)."""
    out = _caller(
        tmp_path,
        f"""
start = time.monotonic()
ran = grade("test_spinning_student", "out.txt", timeout=6, SANDBOX_START={start!r})
print(json.dumps({{"ran": ran, "took": time.monotonic() - start, "worker": facts()["worker"]}}))
""",
    )
    assert out["ran"] == [-9, True] and out["took"] < 20
    assert gone(out["worker"], within=2.0), "the student's sandbox outlived its grading"


def test_a_process_left_by_a_grading_does_not_run_into_the_next(tmp_path):
    """A graders' process that ends leaving a child (a grader's helper, a
    sandbox it did not close): that child ends with the grading, before the
    next one starts."""
    out = _caller(
        tmp_path,
        """
ran = grade("test_leaves_a_child", "out.txt")
child = facts()["child"]
alive = os.path.exists("/proc/%d/stat" % child) and open("/proc/%d/stat" % child).read().rsplit(")", 1)[1].split()[0] != "Z"
after = grade("test_environment", "next.txt", MARK="next")
time.sleep(2)  # the child would have written by now; this caller still runs
print(json.dumps({"ran": [ran, after], "alive": alive, "late": os.path.exists(os.path.join(FOLDER, "late"))}))
""",
    )
    assert out["ran"] == [[0, False], [0, False]]
    assert not out["alive"], "a process of one grading outlived it"
    assert not out["late"]
