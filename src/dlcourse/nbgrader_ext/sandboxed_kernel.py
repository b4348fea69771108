"""Executing a student's notebook in a confined Jupyter kernel, in nbgrader.

``SandboxedExecute`` replaces nbgrader's ``Execute`` in the autograde
pipeline: the same execution, with the kernel started by
:class:`dlcourse.sandbox.kernel.SandboxedKernelManager` (see there for the
confinement).

A cell that kills its kernel (``os._exit``, a crash, the memory limit) or
leaves it unable to answer (a fork bomb starving it of threads, a loop that
ignores interrupts) makes stock nbgrader give up on the whole notebook, so
the student gets nothing for the cells that work. Here the notebook is run
again from the start without that cell (fresh kernel), up to
``kernel_deaths`` times; the cell keeps its source and gets an error output
saying what happened, and costs points only where its own graders say so.

The notebook never runs in nbgrader's folder (``autograded/<student>/<a>/``),
which trusted code reads and writes afterwards: each run gets a fresh scratch
folder outside the course, seeded with the regular files nbgrader put there,
and afterwards only the regular files the run left are copied back (see
:mod:`dlcourse.sandbox.harvest`); links, FIFOs, sockets, hard links and
oversized files stay behind and are named in the log (``not kept:`` lines,
which the batch turns into notes).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Integer

from dlcourse.sandbox.harvest import file_digest, harvest
from dlcourse.sandbox.kernel import KERNEL_LIMITS, SandboxedKernelManager

__all__ = ["KERNEL_LIMITS", "PRODUCED", "SUBMITTED", "SandboxedExecute", "SandboxedKernelManager"]

# resources key: relative paths of the files the notebook's run wrote (new,
# or changed from what was submitted), in nbgrader's folder
PRODUCED = "dlcourse_produced"
# resources key: relative paths of the files the run was given beside the
# notebook it ran (anything but that notebook): the run could read them, so
# what it "produced" may be one of them copied or converted
SUBMITTED = "dlcourse_submitted"

KERNEL_DIED = (
    "the kernel died while running this cell (os._exit, a crash or a resource limit); "
    "the rest of the notebook was run without it"
)
KERNEL_HUNG = (
    "the kernel stopped answering while running this cell (too many processes, or a loop "
    "that ignores interrupts) and was stopped; the rest of the notebook was run without it"
)


def _submitted(copied: list[str], scratch: str, notebook: str | None) -> list[str]:
    """Of the files a run was given (``copied``, in ``scratch``), those
    submitted beside the notebook it runs (``notebook``: its name without
    ``.ipynb``; None: any notebook at the top), but nbgrader's timestamp.txt,
    a date nbgrader parses (too small to carry anything)."""

    def beside(rel: str) -> bool:
        if rel == "timestamp.txt":
            return os.path.getsize(os.path.join(scratch, rel)) > 64
        if notebook is None:
            return not (rel.endswith(".ipynb") and "/" not in rel)
        return rel != f"{notebook}.ipynb"

    return [rel for rel in copied if beside(rel)]


class SandboxedExecute(Execute):
    """nbgrader's Execute, with the kernel started by SandboxedKernelManager,
    surviving cells that kill the kernel."""

    kernel_deaths = Integer(
        3, help="Cells that kill the kernel skipped (notebook re-run) before giving up."
    ).tag(config=True)

    _running_index: int | None = None

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(*args, **kwargs)

    def preprocess_cell(self, cell, resources, index):
        self._running_index = index
        return super().preprocess_cell(cell, resources, index)

    def preprocess(self, nb, resources=None, km=None):
        resources = resources if resources is not None else {}
        metadata = resources.setdefault("metadata", {})
        folder = metadata.get("path") or os.getcwd()
        try:
            return self._preprocess_in_scratch(nb, resources, km, folder)
        finally:
            metadata["path"] = folder

    def _run_once(self, nb, resources, km, folder: str):
        """One run of the notebook in a fresh scratch folder seeded from
        ``folder``; the regular files it leaves are copied back to ``folder``."""
        scratch = tempfile.mkdtemp(prefix="dlcourse-nb-")
        try:
            seeded = harvest(folder, scratch)
            for note in seeded.dropped:
                self.log.warning("not kept: %s", note)
            before = {rel: file_digest(os.path.join(folder, rel)) for rel in seeded.copied}
            resources[SUBMITTED] = _submitted(seeded.copied, scratch, resources.get("unique_key"))
            resources["metadata"]["path"] = scratch
            nb, resources = super().preprocess(nb, resources, km)
            # notebooks are nbgrader's to write: a run never replaces one (in
            # an assignment of several, another notebook's graded copy)
            notebooks = tuple(n for n in os.listdir(scratch) if n.endswith(".ipynb"))
            kept = harvest(scratch, folder, skip=notebooks)
            for note in kept.dropped:
                self.log.warning("not kept: %s", note)
            # what this run wrote, as opposed to what was submitted beside the
            # notebook and left as it was (read by HiddenGraders)
            resources[PRODUCED] = [
                rel
                for rel in kept.copied
                if rel not in before or file_digest(os.path.join(folder, rel)) != before[rel]
            ]
            return nb, resources
        finally:
            resources["metadata"]["path"] = folder
            shutil.rmtree(scratch, ignore_errors=True)

    def _preprocess_in_scratch(self, nb, resources, km, folder: str):
        killers: dict[int, tuple[str, str]] = {}  # cell index -> (source, what happened)
        try:
            while True:
                self._running_index = None
                try:
                    nb, resources = self._run_once(nb, resources, km, folder)
                    break
                except (DeadKernelError, CellTimeoutError) as exc:
                    index = self._running_index
                    if index is None or index in killers or len(killers) >= self.kernel_deaths:
                        raise
                    self.log.warning(
                        "Cell %d broke the kernel (%s); running the notebook without it", index, exc
                    )
                    what = KERNEL_DIED if isinstance(exc, DeadKernelError) else KERNEL_HUNG
                    killers[index] = (nb.cells[index].source, what)
                    nb.cells[index].source = ""
                    for cell in nb.cells:
                        if cell.cell_type == "code":
                            cell.outputs, cell.execution_count = [], None
        finally:
            for index, (source, _) in killers.items():
                nb.cells[index].source = source
        for index, (_, what) in killers.items():
            name = "KernelDied" if what == KERNEL_DIED else "KernelStoppedAnswering"
            nb.cells[index].outputs = [
                nbformat.v4.new_output("error", ename=name, evalue=what, traceback=[])
            ]
        return nb, resources
