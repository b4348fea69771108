"""The stock nbgrader commands with the course's nbgrader_config.py, end to end:
generate_assignment, autograde (hidden graders scoring the cells) and
generate_feedback (nothing hidden shown), in a scratch copy of the course."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from course import ROOT, release_notebook, source_notebook

from dlcourse.filled_submission import filled_submission

A = "02_layers"


def _nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    return subprocess.run(
        ["nbgrader", *args], cwd=root, env=env, capture_output=True, text=True, timeout=1200
    )


def _submit(root: Path, student: str, nb) -> None:
    folder = root / "submitted" / student / A
    folder.mkdir(parents=True)
    nbformat.write(nb, str(folder / f"{A}.ipynb"))


def _graded_index(nb, grade_id: str) -> int:
    return next(
        i
        for i, c in enumerate(nb.cells)
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    for name in ("source", "graders"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", root)
    assert _nbgrader(root, "generate_assignment", A, "--force").returncode == 0

    reference = filled_submission(release_notebook(A), source_notebook(A))
    _submit(root, "ada", reference)
    _submit(root, "blank", nbformat.read(str(release_notebook(A)), as_version=4))

    # a student who copied a graded cell and an answer cell to the end
    dup = copy.deepcopy(reference)
    dup.cells.append(copy.deepcopy(dup.cells[_graded_index(dup, "test_linear")]))
    dup.cells.append(copy.deepcopy(dup.cells[_graded_index(dup, "softmax")]))
    _submit(root, "dup", dup)

    # a student who writes scores into the graded cells instead of code
    cheat = nbformat.read(str(release_notebook(A)), as_version=4)
    for cell in cheat.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            cell.source = f"print({meta['points']})\n{meta['points']}"
            cell.outputs = [
                nbformat.v4.new_output(
                    "execute_result", data={"text/plain": str(meta["points"])}, execution_count=1
                )
            ]
        elif meta.get("solution") and cell.cell_type == "code":
            cell.source = "print(4.0)\n4.0"
    _submit(root, "cheat", cheat)

    proc = _nbgrader(root, "autograde", A, "--force")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    feedback = _nbgrader(root, "generate_feedback", A, "--force")
    assert feedback.returncode == 0, feedback.stderr[-3000:]
    return root, proc.stdout + proc.stderr


def _grades(root: Path, student: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        sub = gb.find_submission_notebook(A, A, student)
        return {g.name: (g.auto_score, g.max_score, g.cell_type) for g in sub.grades}


def _autograded(grades: dict) -> dict:
    return {
        name: (score, points) for name, (score, points, kind) in grades.items() if kind == "code"
    }


def test_reference_earns_every_autograded_point(graded_course):
    root, _ = graded_course
    grades = _autograded(_grades(root, "ada"))
    assert len(grades) == 10
    assert all(score == points for score, points in grades.values()), grades


def test_blank_release_earns_zero(graded_course):
    root, _ = graded_course
    assert {score for score, _ in _autograded(_grades(root, "blank")).values()} == {0.0}


def test_duplicated_cells_do_not_abort_the_batch(graded_course):
    root, log = graded_course
    grades = _autograded(_grades(root, "dup"))
    assert all(score == points for score, points in grades.values()), grades
    assert "exists multiple times" in log


def test_printed_or_returned_numbers_earn_nothing(graded_course):
    root, _ = graded_course
    assert {score for score, _ in _autograded(_grades(root, "cheat")).values()} == {0.0}


def test_scores_and_reports_are_written_into_graded_cells(graded_course):
    root, _ = graded_course
    nb = nbformat.read(str(root / "autograded" / "blank" / A / f"{A}.ipynb"), as_version=4)
    cell = nb.cells[_graded_index(nb, "test_linear")]
    kinds = [o.output_type for o in cell.outputs]
    assert kinds == ["stream", "execute_result"]
    assert cell.outputs[0].name == "stdout"
    assert cell.outputs[0].text.startswith("Hidden checks for test_linear: 0 / 4 points")
    assert "NotImplementedError" in cell.outputs[0].text
    assert cell.outputs[1].data["text/plain"] == "0.0"
    for c in nb.cells:
        for o in c.get("outputs", []):
            assert not (
                o.output_type == "stream"
                and o.name == "stderr"
                and c.metadata.get("nbgrader", {}).get("grade")
            )


def test_feedback_hides_graders_solutions_and_tracebacks(graded_course):
    root, _ = graded_course
    grader_lines = {
        line.strip()
        for path in (ROOT / "graders" / A).glob("*.py")
        for line in path.read_text().splitlines()
        if len(line.strip()) > 25 and not line.strip().startswith(("#", '"""', "import", "from"))
    }
    for student in ("ada", "blank", "dup", "cheat"):
        html = (root / "feedback" / student / A / f"{A}.html").read_text()
        assert "Hidden checks for" in html
        assert "BEGIN SOLUTION" not in html and "HIDDEN TESTS" not in html
        assert "Traceback (most recent call last)" not in html
        assert "site-packages" not in html and "/graders/" not in html
        leaked = [line for line in grader_lines if line in html]
        assert not leaked, f"{student}: grader code in feedback: {leaked[:3]}"
