"""A submission's notebook after it ran: its outputs and the files it wrote.

Most graders call the student's functions in sandboxes and never need the
notebook to run. Some grade what the whole notebook produced: the weights
file it saved after training, the figures it drew. They get an
:class:`ExecutedNotebook`, from one of two places:

- in ``nbgrader autograde``, the execution nbgrader just did (confined, see
  :mod:`dlcourse.nbgrader_ext.sandboxed_kernel`): the hidden graders are told
  the folder it ran in and when it started;
- otherwise (``pytest graders/<a> --submission nb.ipynb``, the catalogue
  tests) the notebook is executed here, alone in a fresh folder, in the same
  confined kernel.

Either way only files written *during* that execution count: a weights file
submitted beside the notebook, or left over from an earlier run, does not.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dlcourse.checks import fail

# a file's modification time may trail the clock read before the run by a
# little on some file systems
_CLOCK_SLACK = 2.0


@dataclass
class ExecutedNotebook:
    """``notebook``: the executed nbformat-4 notebook; ``folder``: where it
    ran; ``started``: epoch seconds when the execution began; ``problem``: why
    the execution stopped early, in words (None if it ran to the end)."""

    notebook: dict
    folder: Path
    started: float
    problem: str | None = None

    def cell(self, grade_id: str):
        """The last cell with nbgrader ``grade_id`` (as nbgrader uses), or None."""
        found = None
        for cell in self.notebook.get("cells", []):
            meta = (cell.get("metadata") or {}).get("nbgrader") or {}
            if isinstance(meta, dict) and meta.get("grade_id") == grade_id:
                found = cell
        return found

    def error_in(self, grade_id: str) -> str | None:
        """ "Name: message" of the error the cell ended with, or None."""
        cell = self.cell(grade_id)
        for output in (cell or {}).get("outputs", []):
            if output.get("output_type") == "error":
                return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
        return None

    def images_in(self, grade_id: str) -> int:
        """How many images (PNG or SVG) the cell displayed."""
        cell = self.cell(grade_id)
        count = 0
        for output in (cell or {}).get("outputs", []):
            data = output.get("data") or {}
            count += int("image/png" in data or "image/svg+xml" in data)
        return count

    def produced(self, name: str, by: str) -> Path:
        """The file ``name`` the notebook wrote in its folder during this
        execution. ``by``: the grade_id of the cell meant to write it, whose
        error (if any) explains a missing file. Fails with a sentence when the
        file is missing or older than the execution."""
        __tracebackhide__ = True
        path = self.folder / name
        stopped = self.error_in(by)
        why = f" (the cell '{by}' stopped with {stopped})" if stopped else ""
        if self.problem and not stopped:
            why = f" ({self.problem})"
        if not path.is_file():
            fail(
                f"the notebook did not write '{name}' when it ran{why}; run the cell that saves it"
            )
        if path.stat().st_mtime < self.started - _CLOCK_SLACK:
            fail(
                f"'{name}' was not written when the notebook ran{why}: a file submitted "
                "beside the notebook does not count; the notebook must save it"
            )
        return path


def execute_notebook(
    path: str | Path,
    course_root: str | Path,
    cell_timeout: float = 120.0,
    startup_timeout: float = 180.0,
) -> ExecutedNotebook:
    """Run the notebook at ``path`` top to bottom in a confined kernel whose
    working folder is a fresh, empty one (nothing submitted beside the
    notebook is there); errors do not stop the run, as in nbgrader. The
    caller removes ``result.folder`` when done."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from traitlets.config import Config

    from dlcourse.sandbox.kernel import SandboxedKernelManager
    from dlcourse.submission import read_notebook_json

    nb = read_notebook_json(path)  # SubmissionError: a sentence
    folder = Path(tempfile.mkdtemp(prefix="dlcourse-run-"))
    config = Config({"SandboxedKernelManager": {"course_root": str(Path(course_root).resolve())}})
    stopped = f"the cell ran longer than {cell_timeout:.0f} s and was stopped"

    def record_timeout(cell, execute_reply, **_):
        # as nbgrader does: the timeout is the cell's error, in words
        content = execute_reply.get("content", {})
        if content.get("status") == "error" and content.get("ename") == "CellTimeoutError":
            cell.outputs.append(
                nbformat.v4.new_output("error", ename="CellTimeoutError", evalue=stopped)
            )

    client = NotebookClient(
        nb,
        config=config,
        kernel_name="python3",
        kernel_manager_class=SandboxedKernelManager,
        timeout=int(cell_timeout),
        startup_timeout=int(startup_timeout),
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": stopped, "traceback": []},
        on_cell_executed=record_timeout,
        resources={"metadata": {"path": str(folder)}},
    )
    started = time.time()
    problem = None
    try:
        client.execute()
    except CellTimeoutError:
        problem = f"a cell ran longer than {cell_timeout:.0f} s and was stopped"
    except DeadKernelError:
        problem = "the notebook's kernel died (it exited or ran out of memory)"
    except RuntimeError as exc:  # the kernel did not start
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"could not start a kernel to run the notebook: {exc}") from None
    return ExecutedNotebook(nb, folder, started, problem)


def load_executed(path: str | Path, folder: str | Path, started: float) -> ExecutedNotebook:
    """The notebook at ``path`` as executed in ``folder`` from ``started``
    (by nbgrader, just before the graders run)."""
    from dlcourse.submission import read_notebook_json

    return ExecutedNotebook(read_notebook_json(path), Path(folder), float(started))
