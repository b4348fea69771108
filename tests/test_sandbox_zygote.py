"""Sandboxes forked from a zygote share nothing with each other or with the
zygote, get what a sandbox started anew gets, and a dead zygote costs no
grade. (Every test of the sandbox's limits and isolation also runs with
zygote-forked sandboxes: the ``sandbox_start`` fixture in conftest.py.)"""

import os
import signal
import threading
import time

import pytest
from processes import gone

from dlcourse.sandbox import Cell, Sandbox, StudentError
from dlcourse.sandbox.session import worker_environment
from dlcourse.sandbox.zygote import Zygote, imported_modules
from dlcourse.sandbox.zygote_template import Template
from dlcourse.submission import load_notebook

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root (CI runs as root)")

LOOK = """
import os, resource
def _fds():
    kinds = []
    for f in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{f}")
        except OSError:
            continue  # the listing's own descriptor
        kinds.append(target.split(":")[0])
    return sorted(kinds)
namespaces = {n: os.readlink(f"/proc/self/ns/{n}") for n in ("pid", "mnt", "ipc", "net", "uts", "cgroup")}
fds = _fds()
uid = os.getuid()
limits = [resource.getrlimit(r) for r in (resource.RLIMIT_CPU, resource.RLIMIT_AS, resource.RLIMIT_NPROC,
          resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE, resource.RLIMIT_CORE, resource.RLIMIT_MSGQUEUE)]
import numpy, random
draws = (float(numpy.random.rand()), random.random())
"""


def start_zygote(how: str, env: dict, preload=()):
    """A zygote started anew (``anew``, as a grader without a template does)
    or forked from a template (``template``, as the graders' server and the
    batch's fork server give them), and that template (None for ``anew``)."""
    if how == "anew":
        started = Zygote(env, preload=preload)
        started.start()
        return started, None
    template = Template(env, preload=preload)
    return template.fork(), template


@pytest.fixture(scope="module", params=["anew", "template"])
def zygote(request):
    started, template = start_zygote(request.param, worker_environment(), ["torch"])
    yield started
    started.close()
    if template is not None:
        template.close()


def looked(box) -> dict:
    box.run([Cell("answer", LOOK)])
    return {name: box.get(name) for name in ("namespaces", "fds", "uid", "limits", "draws")}


def test_two_children_share_no_namespace_user_memory_or_files(zygote):
    with Sandbox(zygote=zygote) as first, Sandbox(zygote=zygote) as second:
        a, b = looked(first), looked(second)
        for name, value in a["namespaces"].items():
            assert value != b["namespaces"][name], name
        assert a["uid"] != b["uid"] and 0 not in (a["uid"], b["uid"])
        assert a["draws"][0] != b["draws"][0] and a["draws"][1] != b["draws"][1]
        # what one child changes in a preloaded module, a file or the
        # environment, the other (alive at the same time) does not see
        first.run(
            [
                Cell(
                    "answer",
                    "import torch, numpy\ntorch.left_here = 1\nnumpy.left_here = 1\n"
                    "open('/tmp/left_here', 'w').write('x')\nos.environ['LEFT_HERE'] = '1'",
                )
            ]
        )
        second.run(
            [
                Cell(
                    "answer",
                    "import torch, numpy\nseen = [hasattr(torch, 'left_here'), "
                    "hasattr(numpy, 'left_here'), os.path.exists('/tmp/left_here'), "
                    "'LEFT_HERE' in os.environ]",
                )
            ]
        )
        assert second.get("seen") == [False, False, False, False]
    # nor does a child forked after them
    with Sandbox(zygote=zygote) as third:
        third.run([Cell("answer", "import torch\nseen = hasattr(torch, 'left_here')")])
        assert third.get("seen") is False


def test_a_child_gets_what_a_sandbox_started_anew_gets(zygote):
    with Sandbox() as anew, Sandbox(zygote=zygote) as forked:
        a, b = looked(anew), looked(forked)
        assert b["fds"] == a["fds"]  # three to /dev/null, the two channel pipes
        assert "socket" not in b["fds"]
        assert b["limits"] == a["limits"]
        assert forked.report["applied"] == anew.report["applied"]
        assert forked.report["missing"] == anew.report["missing"] == []


def test_the_zygote_maps_no_memory_its_children_could_share(zygote):
    with Sandbox(zygote=zygote) as box:  # the zygote is up, torch imported
        box.run([Cell("answer", "x = 1")])
    with open(f"/proc/{zygote.proc.pid}/maps") as fh:
        shared_writable = [
            line for line in fh if line.split()[1][1] == "w" and line.split()[1][3] == "s"
        ]
    assert shared_writable == []


def test_a_child_cannot_signal_the_zygote(zygote):
    with Sandbox(zygote=zygote) as box:
        box.run(
            [
                Cell(
                    "answer",
                    f"import os, signal\ntry:\n    os.kill({zygote.proc.pid}, signal.SIGKILL)\n"
                    "    outcome = 'sent'\nexcept OSError as exc:\n    outcome = type(exc).__name__",
                )
            ]
        )
        assert box.get("outcome") in ("ProcessLookupError", "PermissionError")
    assert zygote.alive


@pytest.mark.parametrize("how", ["anew", "template"])
def test_a_dead_zygote_ends_its_children_and_costs_no_grade(how):
    zygote, template = start_zygote(how, worker_environment())
    try:
        box = Sandbox(zygote=zygote, call_timeout=10)
        box.start()
        box.run([Cell("answer", "x = 1")])
        os.kill(zygote.proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while box.alive and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not box.alive  # died with it (PR_SET_PDEATHSIG)
        # the machine's failure, never the student's: "could not be graded"
        with pytest.raises(StudentError) as caught:
            box.get("x")
        assert caught.value.kind == "infrastructure"
        # the next start finds the zygote gone and starts the sandbox anew
        box.run([Cell("answer", "x = 2")])
        assert box.get("x") == 2
        assert box.proc.__class__.__name__ == "Popen"
        box.close()
    finally:
        zygote.close()
        if template is not None:
            template.close()


GRADER = """
import json, time
from dlcourse.sandbox import Cell, Sandbox
box = Sandbox(call_timeout=60)
box.start()
box.run([Cell("answer", "x = 1")])
print(json.dumps([box.proc.pid, box._worker_pid]), flush=True)
box.run([Cell("answer", "while True:\\n    pass")])  # the student's code spins
"""


def test_a_sandbox_started_anew_ends_with_the_grader_that_started_it():
    """A grader killed (at its timeout, say) leaves no sandbox running: the
    launcher, in a session of its own, ends with it, and the student's
    process with the launcher; a zygote's children end with the zygote."""
    import json
    import subprocess
    import sys

    grader = subprocess.Popen(
        [sys.executable, "-c", GRADER], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        pids = json.loads(grader.stdout.readline())
        assert all(pid and os.path.exists(f"/proc/{pid}") for pid in pids), pids
        time.sleep(1.0)  # well into the endless loop
    finally:
        grader.kill()
        grader.wait()
    left = [pid for pid in pids if not gone(pid, within=10)]
    assert not left, f"still running after their grader was killed: {left}"


def test_only_the_slow_imports_a_notebook_makes_are_preloaded(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def preload(assignment):
        nb = load_notebook(os.path.join(root, "source", assignment, f"{assignment}.ipynb"))
        return Zygote({}, preload=imported_modules(nb)).preload

    assert preload("05_fashion_mnist") == ["torch"]
    # 03 forbids torch (its setup cell sets sys.modules["torch"] = None)
    assert preload("03_backprop") == []
    assert preload("01_gradients") == []


@pytest.mark.parametrize("how", ["anew", "template"])
def test_preloading_torch_s_optimiser_imports_leaves_nothing_on_the_host(tmp_path, how):
    """With torch, the zygote imports what a first optimiser does (torch._dynamo,
    about 1.5 s a sandbox), whose import makes torch's compile cache folder under
    the temporary folder: the zygote, as root and not confined, makes none, and
    its children see torch's setting of that folder as a sandbox started anew does
    (unset), so a child that compiles makes its own, inside its confinement; nor
    does it see the grader's working folder, which that import records."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    # (a sandbox is forked only from a zygote started with its environment)
    extra = {"TMPDIR": str(scratch)}
    zygote, template = start_zygote(how, {**worker_environment(), **extra}, ["torch"])
    try:
        with Sandbox(env=extra, zygote=zygote) as box:
            box.run(
                [
                    Cell(
                        "answer",
                        "import os, sys\nwarm = 'torch._dynamo' in sys.modules\n"
                        "setting = os.environ.get('TORCHINDUCTOR_CACHE_DIR')\n"
                        "import torch._dynamo.config as c\ndebug = c.debug_dir_root",
                    )
                ]
            )
            assert box.get("warm") is True
            assert box.get("setting") is None
            # what the import recorded of its working folder: not the grader's
            assert os.getcwd() not in box.get("debug"), box.get("debug")
        assert os.listdir(scratch) == []
    finally:
        zygote.close()
        if template is not None:
            template.close()


@pytest.mark.parametrize("how", ["anew", "template"])
def test_a_zygote_dying_during_a_call_is_the_machine_s_failure(how):
    zygote, template = start_zygote(how, worker_environment())
    try:
        with Sandbox(zygote=zygote, call_timeout=30) as box:
            threading.Timer(1.0, os.kill, (zygote.proc.pid, signal.SIGKILL)).start()
            with pytest.raises(StudentError) as caught:
                box.run([Cell("answer", "import time\ntime.sleep(20)")])
            assert caught.value.kind == "infrastructure", caught.value
            assert "could not be graded" in str(caught.value)
    finally:
        zygote.close()
        if template is not None:
            template.close()


def test_a_zygote_whose_grader_dies_while_it_imports_dies_with_it(tmp_path):
    """A grader killed (a timeout, its batch stopped) while its zygote still
    imports torch: the zygote dies with it, silently, instead of finishing
    the import as an orphan and failing on the closed socket."""
    import subprocess
    import sys

    from processes import gone

    errors = tmp_path / "zygote-stderr.txt"
    code = f"""
import os, signal, sys
from dlcourse.sandbox.session import worker_environment
from dlcourse.sandbox.zygote import Zygote
zygote = Zygote(worker_environment(), preload=["torch"])
with open({str(errors)!r}, "w") as err:
    zygote.start(stderr=err)
print(zygote.proc.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    pid = int(proc.stdout.split()[0])
    assert gone(pid, within=30), "the zygote outlived its grader"
    # before it set its parent-death signal, the zygote finished importing
    # and died on the closed socket, with a traceback
    assert errors.read_text() == ""
