"""A notebook after it ran: its outputs, and only the files that run wrote."""

import os
import time

import nbformat
import pytest
from course import ROOT

from dlcourse.checks import GradingFailure
from dlcourse.execution import ExecutedNotebook, execute_notebook, load_executed


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    for grade_id, code in cells:
        cell = nbformat.v4.new_code_cell(code)
        cell.metadata["nbgrader"] = {"locked": False, "solution": True, "grade_id": grade_id}
        nb.cells.append(cell)
    return nb


def test_outputs_errors_and_images_are_found_by_grade_id(tmp_path):
    nb = _notebook(("save", ""), ("plot", ""))
    nb.cells[0].outputs = [
        nbformat.v4.new_output("error", ename="NotImplementedError", evalue="", traceback=[])
    ]
    nb.cells[1].outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Fig>"}),
        nbformat.v4.new_output("stream", name="stdout", text="hello"),
    ]
    run = ExecutedNotebook(nb, tmp_path, time.time())
    assert run.error_in("save") == "NotImplementedError:"
    assert run.error_in("plot") is None
    assert run.images_in("plot") == 1 and run.images_in("save") == 0
    assert run.cell("missing") is None and run.images_in("missing") == 0


def test_only_files_written_during_the_run_count(tmp_path):
    nb = _notebook(("save", ""))
    started = time.time()
    fresh = tmp_path / "fresh.pt"
    fresh.write_bytes(b"x")
    stale = tmp_path / "stale.pt"
    stale.write_bytes(b"x")
    os.utime(stale, (started - 3600, started - 3600))
    run = ExecutedNotebook(nb, tmp_path, started)
    assert run.produced("fresh.pt", by="save") == fresh
    with pytest.raises(GradingFailure, match="submitted beside the notebook does not count"):
        run.produced("stale.pt", by="save")
    with pytest.raises(GradingFailure, match="did not write 'absent.pt'"):
        run.produced("absent.pt", by="save")


def test_a_missing_file_is_explained_by_the_cell_that_failed(tmp_path):
    nb = _notebook(("save", ""))
    nb.cells[0].outputs = [
        nbformat.v4.new_output("error", ename="NameError", evalue="name 'model' is not defined")
    ]
    run = ExecutedNotebook(nb, tmp_path, time.time())
    with pytest.raises(GradingFailure, match="'save' stopped with NameError: name 'model'"):
        run.produced("weights.pt", by="save")


def test_a_notebook_runs_confined_in_a_fresh_folder(tmp_path):
    source = tmp_path / "submitted"
    source.mkdir()
    (source / "weights.pt").write_text("submitted beside the notebook")
    nb = _notebook(
        ("look", "import os\nprint(sorted(os.listdir('.')))"),
        ("save", "open('weights.pt', 'w').write('trained')"),
        ("boom", "raise ValueError('after the save')"),
        ("after", "print('still running')"),
    )
    path = source / "nb.ipynb"
    nbformat.write(nb, str(path))
    run = execute_notebook(path, ROOT, cell_timeout=60)
    try:
        assert run.problem is None
        # the folder starts empty: nothing submitted beside the notebook is there
        assert run.cell("look").outputs[0]["text"].strip() == "[]"
        assert run.produced("weights.pt", by="save").read_text() == "trained"
        assert run.error_in("boom") == "ValueError: after the save"
        assert "still running" in run.cell("after").outputs[0]["text"]
        assert (source / "weights.pt").read_text() == "submitted beside the notebook"
    finally:
        import shutil

        shutil.rmtree(run.folder, ignore_errors=True)


def test_a_runaway_cell_is_stopped_and_said_so(tmp_path):
    nb = _notebook(("spin", "while True:\n    pass"), ("after", "x = 1"))
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    run = execute_notebook(path, ROOT, cell_timeout=5)
    try:
        stopped = run.error_in("spin")
        assert stopped == "CellTimeoutError: the cell ran longer than 5 s and was stopped"
    finally:
        import shutil

        shutil.rmtree(run.folder, ignore_errors=True)


def test_the_pipeline_s_own_execution_is_used_as_is(tmp_path):
    nb = _notebook(("save", ""))
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    run = load_executed(path, tmp_path, 123.0)
    assert run.folder == tmp_path and run.started == 123.0 and run.problem is None
