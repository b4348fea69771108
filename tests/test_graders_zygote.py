"""The hidden graders' process forked from a spare that already imported
them (dlcourse.graders_zygote): the same process as a fresh one (isolated,
address-space limit, course folder, output captured), used once, killed at
its timeout, and never left behind."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from course import ROOT, scratch_course, submit_reference

from dlcourse.batch import run_batch
from dlcourse.grading import DEFAULT_MEMORY_BYTES
from dlcourse.submission import load_notebook

A = "02_layers"
GRADED = list(load_notebook(ROOT / "source" / A / f"{A}.ipynb").graded)

PROBE = """\
import gc, json, os, resource, sys
import pytest


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
    }


def test_a_fresh_graders_process_loads_only_our_plugin(tmp_path):
    """Without a spare (stock ``nbgrader autograde``), the same facts."""
    from dlcourse.grading import run_hidden_graders

    root = scratch_course(
        tmp_path / "course", A, {"conftest.py": CONFTEST, "test_probe.py": _probe_graders()}
    )
    submit_reference(root, A, "ada")
    notebook = root / "submitted" / "ada" / A / f"{A}.ipynb"
    report = run_hidden_graders(notebook, A, root, timeout=300)
    message = next(t["message"] for t in report["tests"] if t["name"] == "test_facts")
    facts = json.loads(message.split("FACTS ", 1)[1])
    assert facts["installed_plugins"] == [] and facts["our_plugin"] is True
    assert facts["isolated"] == 1 and facts["rlimit_as"] == DEFAULT_MEMORY_BYTES


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
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "an unused spare outlived the process that made it"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
