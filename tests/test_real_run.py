"""Checks of what the whole notebook produced judge nbgrader's own run first
(a correct submission runs once) and fall back to the isolated run only for
the cells that run fails, so an upstream mistake still costs points only in
its own cell; files submitted beside the notebook never count as produced."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from course import nbgrader_cell

from dlcourse.grading import run_hidden_graders
from dlcourse.nbgrader_ext.hidden_graders import HiddenGraders
from dlcourse.nbgrader_ext.sandboxed_kernel import PRODUCED, SandboxedExecute

A = "toy"
GRADERS = '''
import pytest


@pytest.mark.graded("test_double")
def test_double(student):
    """double(2) is 4."""
    assert student.double(2) == 4, "double(2) is not 4"


@pytest.mark.graded("test_save")
def test_saved(executed_notebook):
    """The notebook saves double(21) in result.txt."""
    text = executed_notebook.produced("result.txt", by="save").read_text()
    assert text == "42", f"result.txt holds {text[:20]!r}, not 42"
'''


def _notebook(double: str, save: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbgrader_cell("import os", "imports", "setup"),
        nbgrader_cell(double, "double", "answer"),
        nbgrader_cell("assert double(2) == 4", "test_double", "graded"),
        nbgrader_cell(save, "save", "answer"),
        nbgrader_cell("pass", "test_save", "graded"),
    ]
    return nb


SOLUTION = "### BEGIN SOLUTION\n{}\n### END SOLUTION"
DOUBLE = "def double(x):\n    return 2 * x"
SAVE = "open('result.txt', 'w').write(str(double(21)))"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    (root / "source" / A).mkdir(parents=True)
    nbformat.write(
        _notebook(SOLUTION.format(DOUBLE), SOLUTION.format(SAVE)),
        str(root / "source" / A / f"{A}.ipynb"),
    )
    (root / "graders" / A).mkdir(parents=True)
    (root / "graders" / A / "test_toy.py").write_text(GRADERS)
    return root


def grade(course, tmp_path, double, save, produced: dict[str, str]) -> dict:
    submission = tmp_path / f"{A}.ipynb"
    nbformat.write(_notebook(double, save), str(submission))
    files = tmp_path / "produced"
    files.mkdir()
    for name, text in produced.items():
        (files / name).write_text(text)
    report = run_hidden_graders(submission, A, course, timeout=300, real_run_files=files)
    assert "error" not in report, report
    return report


def scores(report):
    return {g: c["fraction"] for g, c in report["cells"].items()}


def test_a_correct_run_is_judged_and_nothing_runs_again(course, tmp_path):
    # the submitted cell would write 41 if it ran again: the 42 the real run
    # left is what is judged
    report = grade(
        course, tmp_path, DOUBLE, "open('result.txt', 'w').write('41')", {"result.txt": "42"}
    )
    assert report["executed_cells"] == ["test_save"]
    assert report["run"] == "real" and report["isolated_for"] == []
    assert scores(report) == {"test_double": 1.0, "test_save": 1.0}


def test_an_upstream_mistake_costs_only_its_ownnbgrader_cell(course, tmp_path):
    # double is wrong, so the real run saved 63: the save cell is graded again
    # on the isolated run (reference double), where it earns its point
    report = grade(course, tmp_path, "def double(x):\n    return 3 * x", SAVE, {"result.txt": "63"})
    assert report["isolated_for"] == ["test_save"]
    assert scores(report) == {"test_double": 0.0, "test_save": 1.0}
    assert {t["grade_id"] for t in report["tests"]} == {"test_double", "test_save"}
    assert len(report["tests"]) == 2


def test_a_mistake_in_the_cell_itself_loses_its_points_on_both_runs(course, tmp_path):
    # nothing produced (a file of that name submitted beside the notebook is
    # not in the produced folder); the isolated run writes nothing either
    report = grade(course, tmp_path, DOUBLE, "pass", {})
    assert report["isolated_for"] == ["test_save"]
    assert scores(report) == {"test_double": 1.0, "test_save": 0.0}
    (message,) = [t["message"] for t in report["tests"] if t["grade_id"] == "test_save"]
    assert "did not write 'result.txt'" in message


@pytest.mark.skipif(os.geteuid() != 0, reason="the confined kernel needs root (CI runs as root)")
def test_only_what_the_run_wrote_or_changed_is_produced(tmp_path):
    folder = tmp_path / "autograded"
    folder.mkdir()
    (folder / "kept.txt").write_text("submitted")
    (folder / "changed.txt").write_text("submitted")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "open('changed.txt', 'w').write('by the run')\n"
            "os.makedirs('out', exist_ok=True)\nopen('out/new.txt', 'w').write('new')"
        )
    ]
    nb.cells.insert(0, nbformat.v4.new_code_cell("import os"))
    resources = {"metadata": {"path": str(folder)}}
    SandboxedExecute().preprocess(nb, resources)
    assert sorted(resources[PRODUCED]) == ["changed.txt", "out/new.txt"]
    # what the graders get: copies of those files only
    target = tmp_path / "produced"
    got = HiddenGraders().real_run_files(resources, target)
    files = sorted(str(p.relative_to(target)) for p in Path(got).rglob("*") if p.is_file())
    assert files == ["changed.txt", "out/new.txt"]
    assert (target / "changed.txt").read_text() == "by the run"
    # without SandboxedExecute's list (stock Execute) there is no real run
    assert (
        HiddenGraders().real_run_files({"metadata": {"path": str(folder)}}, tmp_path / "x") is None
    )
