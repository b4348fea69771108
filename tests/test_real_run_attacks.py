"""Attacks on "judge nbgrader's real run first": a submission must not earn
from nbgrader's run of it a point its isolated run would not give (files
submitted beside the notebook, cells named like the instructor's, outputs
forged in the submitted file, links and odd names among the files the run
left). See tests/test_real_run.py for what the real run is for."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import nbformat
import pytest

from dlcourse.nbgrader_ext.dedup import DeduplicateIdsSafely
from dlcourse.nbgrader_ext.hidden_graders import HiddenGraders
from dlcourse.nbgrader_ext.sandboxed_kernel import PRODUCED, SUBMITTED, SandboxedExecute

as_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="the confined kernel needs root (CI runs as root)"
)

# a 1x1 PNG
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5E"
    "rkJggg=="
)


def _cell(code, grade_id, **flags):
    cell = nbformat.v4.new_code_cell(code)
    cell.metadata["nbgrader"] = {
        "grade_id": grade_id,
        "grade": False,
        "solution": False,
        "locked": False,
        "schema_version": 3,
        **flags,
    }
    return cell


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _run(folder: Path, code: str, forged_output: bool = False):
    """nbgrader's run (SandboxedExecute) of a notebook ``toy.ipynb`` in
    ``folder`` whose first cell is ``code``; (notebook, resources)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code)]
    if forged_output:
        # an output stored in the submitted file, as if the cell had shown it
        forged = nbformat.v4.new_code_cell("x = 1")
        forged.outputs = [
            nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "x"})
        ]
        nb.cells.append(forged)
    nbformat.write(nb, str(folder / "toy.ipynb"))
    resources = {"metadata": {"path": str(folder)}, "unique_key": "toy"}
    return SandboxedExecute().preprocess(nb, resources)


COPY_SUBMITTED = (
    "import shutil\n"
    "for src, dst in (('pretrained.bin', 'weights.pt'), ('data/more.bin', 'more.pt'),\n"
    "                 ('disguised.ipynb/w.bin', 'w.pt'), ('other.ipynb', 'other.pt')):\n"
    "    try:\n"
    "        shutil.copy(src, dst)\n"
    "    except OSError:\n"
    "        pass\n"
)


@as_root
def test_a_file_submitted_beside_the_notebook_cannot_become_a_produced_one(tmp_path):
    # weights trained elsewhere, submitted under another name, copied by the
    # notebook into the file the graders measure. nbgrader's run can read
    # them (a notebook may read a data file beside it), so the copy is
    # "produced" (new in the folder); the isolated run, in an empty folder,
    # would fail on the missing file. Before the fix the graders judged the
    # copy: now a submission with files beside the notebook is judged on the
    # isolated run.
    folder = tmp_path / "autograded"
    folder.mkdir()
    (folder / "pretrained.bin").write_bytes(b"trained elsewhere")
    (folder / "data").mkdir()
    (folder / "data" / "more.bin").write_bytes(b"also elsewhere")
    (folder / "disguised.ipynb").mkdir()  # a folder named like a notebook
    (folder / "disguised.ipynb" / "w.bin").write_bytes(b"hidden in a folder")
    (folder / "other.ipynb").write_bytes(b"weights named like a notebook")
    (folder / "timestamp.txt").write_text("2026-12-01 01:00:00." + "0" * 100)  # no date
    nb, resources = _run(folder, COPY_SUBMITTED)
    assert {"weights.pt", "more.pt", "w.pt", "other.pt"} <= set(resources[PRODUCED])
    assert sorted(resources[SUBMITTED]) == [
        "data/more.bin",
        "disguised.ipynb/w.bin",
        "other.ipynb",
        "pretrained.bin",
        "timestamp.txt",
    ]
    assert HiddenGraders().judged_run_files(resources, tmp_path / "produced") is None


@as_root
def test_a_notebook_alone_is_judged_on_its_real_run_and_stored_outputs_do_not_count(tmp_path):
    folder = tmp_path / "autograded"
    folder.mkdir()
    # nbgrader's submission time, beside every collected notebook
    (folder / "timestamp.txt").write_text("2026-12-01 01:00:00.000000 UTC")
    nb, resources = _run(
        folder, COPY_SUBMITTED + "open('own.txt', 'w').write('by the run')", forged_output=True
    )
    assert resources[SUBMITTED] == [] and resources[PRODUCED] == ["own.txt"]
    got = HiddenGraders().judged_run_files(resources, tmp_path / "produced")
    assert _files(Path(got)) == ["own.txt"]
    assert nb.cells[1].outputs == []  # the run replaced the stored image


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory):
    """nbgrader's resources for a gradebook holding _display_notebook()."""
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import ComputeChecksums, SaveCells

    db = f"sqlite:///{tmp_path_factory.mktemp('gradebook')}/gradebook.db"
    with Gradebook(db) as gb:
        gb.add_assignment("toy")
    resources = {"nbgrader": {"db_url": db, "assignment": "toy", "notebook": "toy"}}
    source = _display_notebook()
    for step in (ComputeChecksums, SaveCells):
        source, _ = step().preprocess(source, resources)
    return resources


def _sanitized(submitted, resources):
    """``submitted`` through nbgrader's sanitizing as the course configures
    it (nbgrader_config.py); None when nbgrader refuses the notebook."""
    from nbgrader.nbgraderformat import ValidationError
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, OverwriteCells

    nb = submitted
    try:
        for step in (ClearOutput, DeduplicateIdsSafely, OverwriteCells, CheckCellMetadata):
            nb, _ = step().preprocess(nb, resources)
    except ValidationError:
        return None
    return nb


def _display_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _cell("def plot(): pass", "plots", solution=True),
        _cell("fig = plot()\ndisplay(fig)", "show_loss_curves", locked=True),
        _cell("pass", "test_plots", grade=True, locked=True, points=2),
    ]
    return nb


def _forged_image_cell(grade_id, **flags):
    # run as the student's own code, it would display any picture
    return _cell(
        f"from IPython.display import Image, display\ndisplay(Image(data={PNG!r}))",
        grade_id,
        **flags,
    )


@pytest.mark.parametrize("where", ["after", "instead"])
@pytest.mark.parametrize("flags", [{}, {"locked": True}], ids=["unflagged", "locked"])
def test_a_cell_named_like_a_locked_display_cell_cannot_show_its_own_figures(
    gradebook, where, flags
):
    # the graders find a cell of the run by its grade_id (the last one): a
    # cell the student adds (or puts in place of the display cell) under the
    # display cell's name must not run the student's code there. nbgrader
    # re-locks any cell named like a locked one and restores its source; a
    # second copy then fails validation (the notebook is refused as a whole,
    # see the report), never scored from the student's code
    submitted = _display_notebook()
    if where == "after":
        submitted.cells.append(_forged_image_cell("show_loss_curves", **flags))
    else:
        submitted.cells[1] = _forged_image_cell("show_loss_curves", **flags)
    nb = _sanitized(submitted, gradebook)
    if nb is None:
        return
    shown = [
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "show_loss_curves"
    ]
    original = _display_notebook().cells[1].source
    assert shown and all(c.source == original for c in shown), shown


def test_links_and_odd_names_the_run_left_are_not_produced(tmp_path):
    # what the run left in nbgrader's folder, as SandboxedExecute lists it:
    # a link to a file outside, a hard link, a FIFO and an unprintable name
    # are never copied for the graders, whatever the list says
    folder = tmp_path / "autograded"
    folder.mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_text("not the run's")
    (folder / "link.pt").symlink_to(outside)
    (folder / "hard.pt").write_text("x")
    os.link(folder / "hard.pt", tmp_path / "hard_twin")
    os.mkfifo(folder / "fifo.pt")
    (folder / "bad\nname.pt").write_text("x")
    (folder / "good.pt").write_text("by the run")
    produced = ["link.pt", "hard.pt", "fifo.pt", "bad\nname.pt", "good.pt", "../secret.txt"]
    resources = {"metadata": {"path": str(folder)}, PRODUCED: produced}
    got = HiddenGraders().real_run_files(resources, tmp_path / "produced")
    assert _files(Path(got)) == ["good.pt"]
    assert outside.read_text() == "not the run's"
    assert not any(p.is_symlink() for p in Path(got).rglob("*"))


def test_a_file_the_run_did_not_write_is_removed_from_the_graders_copy(tmp_path):
    # nothing but PRODUCED reaches the graders, even where the folder holds
    # more (files submitted beside the notebook, in nbgrader's folder)
    folder = tmp_path / "autograded"
    (folder / "sub").mkdir(parents=True)
    (folder / "fashion_mlp.pt").write_bytes(base64.b64decode(PNG))
    (folder / "sub" / "fashion_mlp.pt").write_text("submitted")
    (folder / "mine.txt").write_text("by the run")
    resources = {"metadata": {"path": str(folder)}, PRODUCED: ["mine.txt"]}
    got = HiddenGraders().real_run_files(resources, tmp_path / "produced")
    assert _files(Path(got)) == ["mine.txt"]
