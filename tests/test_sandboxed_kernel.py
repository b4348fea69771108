"""The kernel in which nbgrader executes a student's notebook is confined."""

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import pytest
from course import ROOT

from dlcourse.nbgrader_ext.sandboxed_kernel import SandboxedKernelManager

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="the kernel sandbox needs root (CI runs as root)"
)

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
    km = SandboxedKernelManager(kernel_name="python3")
    km.course_root = str(ROOT)
    await km.start_kernel(cwd=str(workdir))
    ipc_dir = km._ipc_dir
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        msg_id = kc.execute(code)
        text = []
        while True:
            msg = await kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                if msg["content"]["name"] == "stderr" and stderr is not None:
                    stderr.append(msg["content"]["text"])
                else:
                    text.append(msg["content"]["text"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
    assert not os.path.exists(ipc_dir), "the kernel's socket folder was left behind"
    return "".join(text)


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
