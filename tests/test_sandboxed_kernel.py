"""The kernel in which nbgrader executes a student's notebook is confined."""

import asyncio
import copy
import os
import shutil
import sys
import uuid
from pathlib import Path

import pytest
from course import ROOT
from kernel_runs import kernel_zygote_started, outputs

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the kernel sandbox needs root (CI runs as root)"
)


@pytest.fixture(autouse=True, params=["launched", "forked"])
def kernel_start(request):
    """Every test twice: kernels started by the launcher, as a lone
    ``nbgrader autograde`` does, and forked from a kernel zygote, as in the
    batch's nbgrader children (see dlcourse.sandbox.kernel_zygote)."""
    if request.param == "launched":
        yield None
        return
    with kernel_zygote_started() as zygote:
        yield zygote


PROBE = """
import os, socket
found = {"cwd": os.getcwd()}
open("written.txt", "w").write("kept")
try:
    open(os.path.join(%(root)r, "graders", "02_layers", "conftest.py")).read()
    found["graders"] = "READ"
except OSError as e:
    found["graders"] = type(e).__name__
try:
    open(os.path.join(%(root)r, "README.md"), "a").write("x")
    found["write_outside"] = "WRITTEN"
except OSError as e:
    found["write_outside"] = type(e).__name__
try:
    socket.create_connection(("127.0.0.1", 9), timeout=1)
    found["network"] = "CONNECTED"
except OSError as e:
    found["network"] = type(e).__name__
print(found)
"""


async def _run(workdir: Path, code: str, stderr: list | None = None) -> str:
    """The kernel's stdout for ``code``; its stderr goes to ``stderr``."""
    return (await outputs(workdir, code, course_root=ROOT, stderr=stderr))[0]


def test_the_forked_variant_forks_its_kernels(kernel_start, tmp_path):
    before = kernel_start.forked if kernel_start else 0
    out = asyncio.run(_run(tmp_path, "import os; print(os.getuid() > 0)"))
    assert "True" in out
    if kernel_start:
        assert kernel_start.forked == before + 1


def test_kernel_sees_its_own_folder_only():
    workdir = ROOT / "tests" / f".tmp-{uuid.uuid4().hex}" / "student" / "02_layers"
    workdir.mkdir(parents=True)
    readme = (ROOT / "README.md").read_bytes()
    try:
        out = asyncio.run(_run(workdir, PROBE % {"root": str(ROOT)}))
        found = eval(out.strip())  # the kernel printed a dict of strings
        assert found["cwd"] == str(workdir)
        # hidden (EACCES), or gone with the private /tmp when the course lives there
        assert found["graders"] in ("PermissionError", "FileNotFoundError")
        # refused (EACCES/EROFS), or landed in the private /tmp when the course
        # lives under /tmp: either way the real file is untouched
        assert found["write_outside"] in (
            "PermissionError",
            "OSError",
            "FileNotFoundError",
            "WRITTEN",
        )
        assert (ROOT / "README.md").read_bytes() == readme
        assert found["network"] == "OSError"
        assert (workdir / "written.txt").read_text() == "kept"
    finally:
        shutil.rmtree(workdir.parent.parent)


def test_plotting_writes_nothing_to_stderr(tmp_path):
    # nbgrader zeroes a graded cell with stderr output. matplotlib's first
    # figure in a fresh kernel builds its font list with fontconfig's fc-list,
    # which said "No writable cache directories" when the sandbox had no font
    # cache; the kernel captures that output only some of the time, so fc-list
    # is asked directly too
    stderr: list = []
    code = (
        "import shutil, subprocess\n"
        "import matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots()\nax.plot([1, 2, 3])\nax.set_title('loss')\n"
        "fig.canvas.draw()\nprint(len(ax.lines))\n"
        "if shutil.which('fc-list'):\n"
        "    print(repr(subprocess.run(['fc-list'], capture_output=True, text=True).stderr))\n"
        "else:\n"
        "    print(repr(''))"
    )
    out = asyncio.run(_run(tmp_path, code, stderr)).split("\n")
    assert out[0] == "1"
    assert out[1] == "''", out[1]
    assert stderr == []


FONT_LIST_PROBE = """
import json, os
folder = os.environ["MPLCONFIGDIR"]
names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
given = {n: open(os.path.join(folder, n), "rb").read().decode() for n in names}
import matplotlib.font_manager as fm
print(json.dumps({"given": given, "fonts": len(fm.fontManager.ttflist)}))
# what a hostile kernel can do to its copy: garbage, then a link in its place
for n in names:
    path = os.path.join(folder, n)
    open(path, "w").write("{not json")
    os.replace(path, path + ".old")
    os.symlink("/proc/self/environ", path)
"""


def test_each_kernel_gets_its_own_copy_of_the_font_list(tmp_path):
    """matplotlib's font list is built once, outside every kernel, and each
    confined kernel starts with a copy in its private matplotlib folder (no
    font scan per kernel): what one kernel does to its copy reaches neither
    the trusted list nor the next kernel."""
    import json

    from dlcourse.sandbox.kernel import font_list_folder_of_kernels

    first = json.loads(asyncio.run(_run(tmp_path, FONT_LIST_PROBE)).splitlines()[0])
    trusted = Path(font_list_folder_of_kernels())
    lists = {p.name: p.read_text() for p in trusted.glob("fontlist-v*.json")}
    assert lists and first["given"] == lists, "the kernel did not start with the trusted font list"
    assert first["fonts"] > 0
    second = json.loads(asyncio.run(_run(tmp_path, FONT_LIST_PROBE)).splitlines()[0])
    assert second["given"] == lists, "the next kernel saw what the first did to its copy"
    for path in trusted.glob("fontlist-v*.json"):
        assert not path.is_symlink() and path.read_text() == lists[path.name]
        assert path.stat().st_uid == 0 and not path.stat().st_mode & 0o022


def test_only_a_regular_font_list_is_read_and_nothing_is_written_through_a_link(tmp_path):
    from dlcourse.sandbox.font_cache import LIMIT_BYTES, give_font_lists, read_font_lists

    source = tmp_path / "source"
    source.mkdir()
    (tmp_path / "secret").write_text("secret")
    (source / "fontlist-v1.json").symlink_to(tmp_path / "secret")
    os.mkfifo(source / "fontlist-v2.json")
    (source / "fontlist-v3.json").write_bytes(b"x" * (LIMIT_BYTES + 1))
    (source / "fontlist-v4.json").write_text("[]")
    assert read_font_lists(str(source)) == {"fontlist-v4.json": b"[]"}
    assert read_font_lists(None) == {}
    target = tmp_path / "target"
    target.mkdir()
    (target / "fontlist-v4.json").symlink_to(tmp_path / "secret")
    give_font_lists({"fontlist-v4.json": b"planted"}, str(target))
    assert (tmp_path / "secret").read_text() == "secret"


def test_a_cell_that_kills_the_kernel_costs_only_itself(tmp_path):
    import nbformat

    from dlcourse.nbgrader_ext.sandboxed_kernel import KERNEL_DIED, SandboxedExecute

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 20"),
        nbformat.v4.new_code_cell("import os\nos._exit(0)"),
        nbformat.v4.new_code_cell("print(x + 1)"),
    ]
    run = SandboxedExecute(timeout=60)
    nb, _ = run.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    # the notebook ran to the end without the cell that killed the kernel
    assert nb.cells[2].outputs[0]["text"] == "21\n"
    assert nb.cells[1].source == "import os\nos._exit(0)"  # kept for the grader and feedback
    error = nb.cells[1].outputs[0]
    assert error["ename"] == "KernelDied" and error["evalue"] == KERNEL_DIED


def test_a_notebook_that_keeps_killing_its_kernel_stops_after_a_few_runs(tmp_path):
    import nbformat
    from nbclient.exceptions import DeadKernelError

    from dlcourse.nbgrader_ext.sandboxed_kernel import SandboxedExecute

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os\nos._exit(0)") for _ in range(3)]
    run = SandboxedExecute(timeout=60, kernel_deaths=2)
    with pytest.raises(DeadKernelError):
        run.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert all(cell.source == "import os\nos._exit(0)" for cell in nb.cells)


def _execute(folder: Path, *sources: str):
    import nbformat

    from dlcourse.nbgrader_ext.sandboxed_kernel import SandboxedExecute

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb, _ = SandboxedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(folder)}})
    return ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells]


def test_the_notebook_runs_in_a_scratch_folder_and_leaves_only_regular_files(tmp_path):
    # nbgrader's folder (autograded/<student>/<a>/) is read and written by
    # trusted code afterwards: the kernel never sees it, and what it leaves
    # comes back as regular files only
    folder = tmp_path / "autograded" / "mallory" / "02_layers"
    folder.mkdir(parents=True)
    (folder / "data.csv").write_text("1,2,3")
    victim = tmp_path / "gradebook.db"
    victim.write_text("every grade")
    out = _execute(
        folder,
        "import os\nprint(os.getcwd())\nprint(open('data.csv').read())",
        f"os.symlink({str(victim)!r}, 'gradebook.db')\nos.symlink('/etc/passwd', '02_layers.ipynb')\n"
        "os.mkfifo('blocker')\nos.makedirs('sub')\nopen('sub/plot.png', 'w').write('png')\n"
        "open('model.pt', 'w').write('weights')\nos.link('model.pt', 'model2.pt')\nprint('done')",
    )
    cwd, data = out[0].split("\n")[:2]
    assert cwd != str(folder) and data == "1,2,3"
    assert out[1] == "done\n"
    found = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    assert found == ["data.csv", "sub", "sub/plot.png"], found
    assert victim.read_text() == "every grade"
    assert not os.path.exists(cwd), "the scratch folder was left behind"


def test_the_launcher_imports_nothing_from_the_notebook_folder(tmp_path):
    # the launcher runs as root before confinement: a json.py or
    # sitecustomize.py beside the notebook must never run there
    folder = tmp_path / "nb"
    folder.mkdir()
    marker = tmp_path / "ran-as-root"
    plant = (
        "import os, sys\n"
        f"try:\n    open({str(marker)!r}, 'w').write(str(os.getuid()))\nexcept OSError:\n    pass\n"
        "sys.path = [p for p in sys.path if p not in ('', os.getcwd())]\n"
        "del sys.modules[__name__]\nimport importlib\n"
        "sys.modules[__name__] = importlib.import_module(__name__)\n"
    )
    for name in ("json.py", "sitecustomize.py", "encodings_x.py"):
        (folder / name).write_text(plant)
    (folder / "dlcourse").mkdir()
    (folder / "dlcourse" / "__init__.py").write_text(plant.replace("__name__", "'dlcourse'"))
    out = _execute(folder, "print(6 * 7)")
    assert out == ["42\n"]
    assert not marker.exists(), "trusted code imported a module from the notebook's folder"


def test_the_kernel_gets_a_minimal_environment(tmp_path, monkeypatch):
    from dlcourse.sandbox.kernel import ENVIRONMENT_ALLOWED, ENVIRONMENT_ALLOWED_PREFIXES

    monkeypatch.setenv("INSTRUCTOR_API_TOKEN", "s3cr3t-token")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    # the machine's OpenBLAS core type goes through (the prefix rule), its
    # other OpenBLAS settings (and any lookalike name) do not
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "512")
    monkeypatch.setenv("X_OPENBLAS_CORETYPE", "leak")
    out = _execute(tmp_path, "import os\nprint(sorted(os.environ))\nprint(dict(os.environ))")
    names = eval(out[0].split("\n")[0])
    assert "s3cr3t-token" not in out[0]
    assert "INSTRUCTOR_API_TOKEN" not in names and "PYTHONPATH" not in names
    assert "OPENBLAS_CORETYPE" in names
    assert "OPENBLAS_L2_SIZE" not in names and "X_OPENBLAS_CORETYPE" not in names
    expected = set(ENVIRONMENT_ALLOWED) | {"PATH", "HOME", "IPYTHONDIR", "MPLCONFIGDIR"}
    expected |= {"XDG_CACHE_HOME", "MPLBACKEND", "JPY_PARENT_PID"}
    # what ipykernel sets for itself (colours, pager, debugger), and what the
    # kernel is given by prefix (the machine's OpenBLAS core type)
    own = ("CLICOLOR", "PAGER", "GIT_PAGER", "TERM", "FORCE_COLOR", "PYDEVD_")
    own += ENVIRONMENT_ALLOWED_PREFIXES
    assert [n for n in names if n not in expected and not n.startswith(own)] == [], names


def test_the_kernel_cannot_swap_its_sockets_or_rewrite_its_report(tmp_path):
    # the client (root) reconnects to the socket paths: a kernel that could
    # replace one with a link would make it connect wherever the link points;
    # the launcher's report is read before any cell runs
    code = (
        "import os, sys\n"
        "d = os.path.dirname(sys.argv[sys.argv.index('-f') + 1])\n"
        "out = []\n"
        "for name in sorted(os.listdir(d)):\n"
        "    try:\n"
        "        os.unlink(os.path.join(d, name))\n"
        "        out.append('UNLINKED ' + name)\n"
        "    except OSError as e:\n"
        "        out.append('KEPT ' + type(e).__name__)\n"
        "try:\n"
        "    open(os.path.join(d, 'report.json'), 'w').write('[]')\n"
        "    out.append('REPORT WRITTEN')\n"
        "except OSError as e:\n"
        "    out.append('REPORT KEPT')\n"
        "try:\n"
        "    os.symlink('/run/docker.sock', os.path.join(d, 's-9'))\n"
        "    out.append('LINKED')\n"
        "except OSError as e:\n"
        "    out.append('NOT LINKED')\n"
        "print(out)\n"
    )
    found = eval(asyncio.run(_run(tmp_path, code)).strip())
    assert not [f for f in found if f.startswith(("UNLINKED", "LINKED", "REPORT WRITTEN"))], found
    assert "REPORT KEPT" in found and "NOT LINKED" in found


def test_a_garbled_report_is_counted_as_unconfirmed():
    from dlcourse.sandbox.kernel import _report_missing

    for data in (b"[]", b'{"missing": [1]}', b"[" * 100000, b"\xff", None):
        assert _report_missing(data) and "unreadable" in _report_missing(data)[0]
    assert _report_missing(b'{"missing": []}') == []


# student code: a file left for Python's exit to flush
UNFLUSHED = """
log = open("unflushed.txt", "w")
log.write("written at exit")
"""


# student code: a reference cycle of its own, dropped
COLLECTED = """
import gc, weakref
class Node:
    pass
node = Node()
node.me = node
alive = weakref.ref(node)
del node
gc.collect()
print("frozen" if gc.get_freeze_count() else "not-frozen",
      "enabled" if gc.isenabled() else "disabled",
      "collected" if alive() is None else "kept")
"""

# student code: an object in a reference cycle, alive until the kernel ends,
# whose finalizer writes a file (the kernel's end freezes what is left after
# one last collection: this one must be collected, not frozen)
FINALIZED_AT_EXIT = """
class Keeper:
    def __del__(self):
        with open("finalized.txt", "w") as fh:
            fh.write("finalized at exit")
keeper = Keeper()
keeper.me = keeper
"""


def test_the_kernel_program_ends_through_python_s_exit(tmp_path):
    # dlcourse.kernel_app runs the kernel in place of ipykernel_launcher; its
    # end must still be Python's (a kernel killed at its shutdown, as the
    # hang it avoids was, loses what the student's code left unflushed)
    import nbformat

    from dlcourse.nbgrader_ext.sandboxed_kernel import SandboxedExecute

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(UNFLUSHED),
        nbformat.v4.new_code_cell("import sys\nsys.argv"),
        nbformat.v4.new_code_cell(COLLECTED),
        nbformat.v4.new_code_cell(FINALIZED_AT_EXIT),
    ]
    nb, _ = SandboxedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert "dlcourse/kernel_app.py" in nb.cells[1].outputs[0]["data"]["text/plain"]
    assert (tmp_path / "unflushed.txt").read_text() == "written at exit"
    assert (tmp_path / "finalized.txt").read_text() == "finalized at exit"
    # the kernel's own objects are frozen; the student's are collected
    assert nb.cells[2].outputs[0]["text"].split() == ["frozen", "enabled", "collected"]


DEBUGGER = """
import sys
from ipykernel.debugger import _is_debugpy_available
loaded = "debugpy" in sys.modules
import debugpy
print("debugger" if _is_debugpy_available else "no debugger",
      "preloaded" if loaded else "not loaded", debugpy.__name__)
"""


def test_a_graded_kernel_starts_without_the_debugger_which_the_student_can_import(
    tmp_path, monkeypatch
):
    # ipykernel imports debugpy (0.1 s) for a debug panel nbclient never opens
    import nbformat
    from nbclient import NotebookClient

    from dlcourse.nbgrader_ext.sandboxed_kernel import SandboxedExecute
    from dlcourse.sandbox.kernel import OrderlyKernelManager

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(DEBUGGER)])
    # what the grading process has set never reaches the graded kernel
    monkeypatch.setenv("DLCOURSE_KERNEL_DEBUGGER", "1")
    graded, _ = SandboxedExecute(timeout=60).preprocess(
        copy.deepcopy(nb), {"metadata": {"path": str(tmp_path)}}
    )
    assert graded.cells[0].outputs[0]["text"].split() == [
        "no", "debugger", "not", "loaded", "debugpy"
    ]  # fmt: skip
    # a plain kernel asked for it keeps ipykernel's debugger
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    NotebookClient(
        nb,
        kernel_name="python3",
        kernel_manager_class=OrderlyKernelManager,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    assert nb.cells[0].outputs[0]["text"].split() == ["debugger", "preloaded", "debugpy"]


def test_only_this_environment_s_ipykernel_launcher_is_replaced(tmp_path):
    from dlcourse.sandbox.kernel import orderly_kernel_command

    ours = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert orderly_kernel_command(ours) == [
        sys.executable,
        "-P",
        "-m",
        "dlcourse.kernel_app",
        "-f",
        "{connection_file}",
    ]
    # another interpreter may not have this library; other kernels are theirs
    other = ["/opt/other/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert orderly_kernel_command(other) == other
    # another virtual environment: its python links to the same interpreter
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
    sibling = [str(tmp_path / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "c.json"]
    assert orderly_kernel_command(sibling) == sibling
    assert orderly_kernel_command(["julia", "-i", "kernel.jl"]) == ["julia", "-i", "kernel.jl"]


def test_a_kernel_program_handed_in_beside_the_notebook_never_runs(tmp_path):
    # python -m searches the working folder first: a dlcourse/ package there
    # ran in place of the kernel program, before the kernel's socket folder
    # was sealed. The student's own modules still import from that folder.
    import nbformat

    from dlcourse.nbgrader_ext.sandboxed_kernel import SandboxedExecute

    planted = tmp_path / "dlcourse"
    planted.mkdir()
    (planted / "__init__.py").write_text("")
    # were it run, it would leave its mark and hand over to the real program
    (planted / "kernel_app.py").write_text(
        "import os, runpy, sys\n"
        "open('planted_ran.txt', 'w').write('ran')\n"
        "sys.path = [p for p in sys.path if p not in ('', os.getcwd())]\n"
        "for name in [m for m in sys.modules if m.split('.')[0] == 'dlcourse']:\n"
        "    del sys.modules[name]\n"
        "runpy.run_module('dlcourse.kernel_app', run_name='__main__')\n"
    )
    (tmp_path / "helper.py").write_text("ANSWER = 42\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import helper\nprint(helper.ANSWER)")]
    nb, _ = SandboxedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert not (tmp_path / "planted_ran.txt").exists()
    assert nb.cells[0].outputs[0]["text"] == "42\n"
