"""The hidden graders' process forked from a spare that already imported
them (dlcourse.graders_zygote): the same process as a fresh one (isolated,
address-space limit, course folder, output captured), used once, killed at
its timeout, and never left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from course import ROOT, scratch_course, submit_reference
from processes import gone

from dlcourse.batch import run_batch
from dlcourse.grading import DEFAULT_MEMORY_BYTES
from dlcourse.submission import load_notebook

A = "02_layers"
GRADED = list(load_notebook(ROOT / "source" / A / f"{A}.ipynb").graded)

PROBE = """\
import gc, json, os, resource, sys
import pytest


def _early_zygote(request):
    from dlcourse import graders_zygote
    from dlcourse.pytest_plugin import _course_of

    zygote = graders_zygote._early_zygote
    if zygote is None or not zygote.alive:
        return None
    early = {{"pid": zygote.proc.pid, "preload": zygote.preload}}
    # what the first graded cell's sandbox is forked from
    session = request.config._dlcourse
    taken = session.zygote(session.reference(*_course_of(request)))
    early["taken"] = taken is zygote and taken.proc.pid == early["pid"]
    return early


@pytest.mark.graded({grade_id!r})
def test_facts(request):
    \"\"\"Says where it runs.\"\"\"
    plugins = request.config.pluginmanager.list_name_plugin()
    facts = {{
        "installed_plugins": sorted(
            name for name, module in plugins
            if module is not None and name in ("xdist", "xdist.looponfail", "anyio")
        ),
        "our_plugin": request.config.pluginmanager.has_plugin("dlcourse.pytest_plugin"),
        # what the fork server imported: left out of every collection here
        "inherited_objects_frozen": gc.get_freeze_count() > 10000,
        "isolated": sys.flags.isolated,
        "cwd": os.getcwd(),
        "rlimit_as": resource.getrlimit(resource.RLIMIT_AS)[0],
        "torch_loaded_before_checks": "torch" in sys.modules,
        "pythonwarnings": os.environ.get("PYTHONWARNINGS"),
        "marker": os.environ.get("DLCOURSE_PROBE_MARKER"),
        # the sandbox zygote the spare started while nbgrader ran the
        # notebook, and whether the graders' session takes it
        "early_zygote": _early_zygote(request),
    }}
    assert False, "FACTS " + json.dumps(facts)
"""

CONFTEST = """\
import pytest


@pytest.fixture(autouse=True)
def _load_reference(request):
    from dlcourse.pytest_plugin import _course_of

    request.config._dlcourse.reference(*_course_of(request))
"""


def _probe_graders() -> str:
    text = PROBE.format(grade_id=GRADED[0])
    for i, grade_id in enumerate(GRADED[1:]):
        text += f"\n\n@pytest.mark.graded({grade_id!r})\ndef test_{i}():\n    pass\n"
    return text


def test_the_batch_grades_in_a_spare_that_is_a_graders_process(tmp_path):
    root = scratch_course(
        tmp_path / "course", A, {"conftest.py": CONFTEST, "test_probe.py": _probe_graders()}
    )
    submit_reference(root, A, "ada")

    summary = run_batch(root, A, workers=1, check_reference=False, check_files=False)
    assert summary["students"]["ada"]["status"] == "graded", summary["students"]["ada"]
    report = json.loads((root / "reports" / A / "ada" / f"{A}.json").read_text())
    message = next(t["message"] for t in report["tests"] if t["name"] == "test_facts")
    facts = json.loads(message.split("FACTS ", 1)[1])
    early = facts.pop("early_zygote")
    assert early == {"pid": early["pid"], "preload": [], "taken": True}, early
    # closed with the graders' session
    assert gone(early["pid"], within=10)
    assert facts == {
        # only our plugin: none of the others installed beside it
        "installed_plugins": [],
        "our_plugin": True,
        "inherited_objects_frozen": True,
        "isolated": 1,
        "cwd": str(root.resolve()),
        "rlimit_as": DEFAULT_MEMORY_BYTES,
        # imported by the server: the spare served this grading
        "torch_loaded_before_checks": True,
        "pythonwarnings": "ignore",
        "marker": None,
    }


@pytest.mark.parametrize("server", ["1", "0"])
def test_graders_outside_the_batch_run_forked_from_a_server_or_fresh(tmp_path, monkeypatch, server):
    """Without a spare (stock ``nbgrader autograde``, the tests), the graders'
    process is forked from this process's graders' server, started once
    (``server`` "1"), or started fresh ("0"): the same facts either way, and
    the environment of each call, not of the server's start."""
    from dlcourse import graders_server
    from dlcourse.grading import run_hidden_graders

    monkeypatch.setenv("DLCOURSE_GRADERS_SERVER", server)
    root = scratch_course(
        tmp_path / "course", A, {"conftest.py": CONFTEST, "test_probe.py": _probe_graders()}
    )
    submit_reference(root, A, "ada")
    notebook = root / "submitted" / "ada" / A / f"{A}.ipynb"
    seen = []
    for marker in ("first", "second"):
        monkeypatch.setenv("DLCOURSE_PROBE_MARKER", marker)
        report = run_hidden_graders(notebook, A, root, timeout=300)
        message = next(t["message"] for t in report["tests"] if t["name"] == "test_facts")
        facts = json.loads(message.split("FACTS ", 1)[1])
        assert facts["installed_plugins"] == [] and facts["our_plugin"] is True
        assert facts["isolated"] == 1 and facts["rlimit_as"] == DEFAULT_MEMORY_BYTES
        assert facts["cwd"] == str(root.resolve())
        assert facts["pythonwarnings"] == "ignore"
        assert facts["marker"] == marker
        assert facts["torch_loaded_before_checks"] is (server == "1")
        if server == "1":
            seen.append(graders_server._server.proc.pid)
    if server == "1":
        assert seen[0] == seen[1]  # one server for both


def test_a_dead_graders_server_is_replaced_and_a_hung_grading_killed(tmp_path):
    """A server killed between two gradings: the next grading starts another
    one; a grading that outlives its timeout is killed, as a fresh one is."""
    (tmp_path / "test_slow.py").write_text("import time\n\ndef test_x():\n    time.sleep(60)\n")
    (tmp_path / "test_quick.py").write_text("def test_x():\n    assert 1 + 1 == 3\n")
    code = f"""
import json, os, signal, time
from dlcourse import graders_server as g
env = dict(os.environ, PYTHONWARNINGS="ignore")
quick = ["test_quick.py", "-q", "-p", "no:cacheprovider"]
first = g.run_in_server(quick, {str(tmp_path)!r}, 0, {str(tmp_path / "q1.txt")!r}, 60, env)
pid = g._server.proc.pid
os.kill(pid, signal.SIGKILL)
again = g.run_in_server(quick, {str(tmp_path)!r}, 0, {str(tmp_path / "q2.txt")!r}, 60, env)
start = time.monotonic()
slow = g.run_in_server(["test_slow.py"], {str(tmp_path)!r}, 0, {str(tmp_path / "s.txt")!r}, 3, env)
print(json.dumps({{"first": first, "again": again, "slow": slow,
                  "took": time.monotonic() - start, "old": pid, "new": g._server.proc.pid}}))
"""
    result = _script(code, tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    # a dead server: that call runs nothing (the caller starts a fresh
    # process), the next one has a new server
    assert out["first"] == [1, False]
    assert out["again"] in ([1, False], None)
    assert out["new"] != out["old"]
    assert out["slow"] == [-9, True] and out["took"] < 30
    assert "assert (1 + 1) == 3" in (tmp_path / "q1.txt").read_text()


def _script(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_a_spare_runs_one_command_and_is_killed_at_its_timeout(tmp_path):
    (tmp_path / "test_slow.py").write_text("import time\n\ndef test_x():\n    time.sleep(60)\n")
    (tmp_path / "test_quick.py").write_text("def test_x():\n    assert 1 + 1 == 3\n")
    code = f"""
import json, os, time
from dlcourse import graders_zygote as z
z.start_spare()
spare = z.take_spare()
assert z.take_spare() is None  # used once
start = time.monotonic()
slow = spare.run(["test_slow.py", "-p", "no:cacheprovider"], {str(tmp_path)!r}, 0,
                 {str(tmp_path / "slow.txt")!r}, 3)
took = time.monotonic() - start
z.start_spare()
quick = z.take_spare().run(["test_quick.py", "-q", "-p", "no:cacheprovider"], {str(tmp_path)!r},
                           0, {str(tmp_path / "quick.txt")!r}, 60)
print(json.dumps({{"slow": slow, "took": took, "quick": quick, "pid": spare.pid}}))
"""
    result = _script(code, tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["slow"] == [-9, True] and out["took"] < 20
    assert out["quick"] == [1, False]
    assert "assert (1 + 1) == 3" in (tmp_path / "quick.txt").read_text()
    assert not Path(f"/proc/{out['pid']}").exists()


def test_an_unused_spare_ends_with_its_parent_and_a_dead_one_is_not_used(tmp_path):
    code = """
import os, signal, time
from dlcourse import graders_zygote as z
z.start_spare()
os.kill(z._spare.pid, signal.SIGKILL)
time.sleep(0.5)
assert z.take_spare() is None
z.start_spare()
print(z._spare.pid)
"""
    result = _script(code, tmp_path)
    assert result.returncode == 0, result.stderr
    pid = int(result.stdout.split()[-1])
    assert gone(pid, within=10), "an unused spare outlived the process that made it"


def test_an_autograde_spare_starts_the_graders_sandbox_zygote_ahead(tmp_path, monkeypatch):
    """The zygote started ahead for ``autograde ASSIGNMENT`` (run in the
    course folder) is the one the graders would start: handed out once,
    only for the same environment and preloaded modules, and it forks
    working sandboxes; any other command, a name that is not a plain
    assignment name, or zygotes turned off start none."""
    from dlcourse import graders_zygote as z
    from dlcourse.sandbox import Cell, Sandbox
    from dlcourse.sandbox.session import worker_environment
    from dlcourse.sandbox.zygote import imported_modules

    root = scratch_course(tmp_path / "course", "05_fashion_mnist", {})
    monkeypatch.chdir(root)
    reference = load_notebook(root / "source" / "05_fashion_mnist" / "05_fashion_mnist.ipynb")
    env, preload = worker_environment(), imported_modules(reference)
    refused = [
        ("generate_assignment", "05_fashion_mnist"),
        ("autograde", "../05_fashion_mnist"),
        ("autograde", "--student"),
        ("autograde", "06_not_here"),
        ("autograde",),
    ]
    for command in refused:
        z._start_early_zygote(command)
        assert z._early_zygote is None, command
    monkeypatch.setenv("DLCOURSE_SANDBOX_ZYGOTE", "0")
    z._start_early_zygote(("autograde", "05_fashion_mnist"))
    assert z._early_zygote is None
    monkeypatch.delenv("DLCOURSE_SANDBOX_ZYGOTE")

    command = ("autograde", "05_fashion_mnist", "--student", "ada", "--force")
    z._start_early_zygote(command)
    other = z._early_zygote
    try:
        assert other is not None and other.preload == ["torch"]
        # another environment: not handed out, and closed
        assert z.take_early_zygote({**env, "LANG": "C"}, preload) is None
        assert not other.alive and z._early_zygote is None
        z._start_early_zygote(command)
        other = z._early_zygote
        assert z.take_early_zygote(env, set()) is None  # torch not wanted: not this one
        assert not other.alive
    finally:
        z._close_early_zygote()
        if other is not None:
            other.close()

    z._start_early_zygote(command)
    zygote = z.take_early_zygote(env, preload)
    try:
        assert zygote is not None and z.take_early_zygote(env, preload) is None  # once
        with Sandbox(zygote=zygote) as box:
            box.run([Cell("answer", "import sys\nx = 'torch' in sys.modules")])
            # torch loaded without an import: forked from the zygote started
            # ahead (a sandbox started anew, the fallback, has not loaded it)
            assert box.get("x") is True
        assert zygote.alive
    finally:
        zygote.close()
