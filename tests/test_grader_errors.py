"""A grader that raises on an answer is the course's failure, never the
student's: the check counts neither for nor against the student, the cell
is flagged for manual grading in the gradebook, the batch reports the cell
as "could not be graded" with the reason, the instructor's log has the
traceback, and the student reads a sentence without grader internals."""

from __future__ import annotations

from pathlib import Path

import nbformat
from course import ROOT, scratch_course, submit_reference

from dlcourse.batch import run_batch
from dlcourse.nbgrader_ext.report import NOT_RUN, format_cell_report
from dlcourse.pytest_plugin import cell_scores
from dlcourse.submission import load_notebook

A = "02_layers"
GRADED = list(load_notebook(ROOT / "source" / A / f"{A}.ipynb").graded)
INTERNAL = "len() of unsized object in grader-internals-7f3a"


def _check(outcome: str, weight: float = 1.0, grade_id: str = "c") -> dict:
    message = "" if outcome == "passed" else f"grader error (TypeError: {INTERNAL})"
    return {"grade_id": grade_id, "weight": weight, "outcome": outcome, "check": outcome,
            "message": message}  # fmt: skip


def test_a_check_that_could_not_run_counts_neither_way():
    cells = cell_scores([_check("passed", 2), _check("error", 1), _check("failed", 2)], {"c": 4})
    cell = cells["c"]
    # 2 of the 4 judged weight passed: the errored check is out of the count
    assert cell["fraction"] == 0.5 and cell["score"] == 2.0
    assert cell["needs_review"] and len(cell["grader_errors"]) == 1
    only_errors = cell_scores([_check("error")], {"c": 3})["c"]
    assert only_errors["needs_review"] and only_errors["score"] == 0.0
    assert cell_scores([_check("passed")], {"c": 3})["c"]["needs_review"] is False


def test_the_student_reads_no_grader_internals():
    cell = cell_scores([_check("passed"), _check("error")], {"c": 2})["c"]
    text = format_cell_report("c", cell, cell["score"], 2)
    assert NOT_RUN in text and "provisionally 2 / 2" in text
    assert "TypeError" not in text and INTERNAL not in text


GRADERS = """\
import pytest


@pytest.fixture(autouse=True)
def _load_reference(request):
    from dlcourse.pytest_plugin import _course_of

    request.config._dlcourse.reference(*_course_of(request))
"""


def _graders() -> str:
    lines = ["import pytest", ""]
    for i, grade_id in enumerate(GRADED):
        lines += [f"@pytest.mark.graded({grade_id!r})", f"def test_{i}():", f'    """Check {i}."""',
                  "    pass", ""]  # fmt: skip
    # the first cell has a second check, which the course got wrong
    lines += [f"@pytest.mark.graded({GRADED[0]!r})", "def test_broken():",
              '    """A check with a bug in it."""', f"    raise TypeError({INTERNAL!r})", ""]  # fmt: skip
    return "\n".join(lines)


def test_the_batch_flags_the_cell_and_keeps_the_rest(tmp_path):
    root = scratch_course(
        tmp_path / "course", A, {"conftest.py": GRADERS, "test_all.py": _graders()}
    )
    submit_reference(root, A, "ada")

    summary = run_batch(root, A, workers=1, check_reference=False, check_files=False)
    info = summary["students"]["ada"]
    assert info["status"] == "graded", info
    first = info["cells"][GRADED[0]]
    assert first["status"] == "could not be graded" and first["score"] == "", first
    assert "flagged for manual grading" in first["reason"]
    assert any(n.startswith(f"could not be graded: cell {GRADED[0]}") for n in info["notes"])
    rest = [info["cells"][g] for g in GRADED[1:]]
    assert all(c["status"] == "graded" and c["score"] == c["max_score"] for c in rest), rest

    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        grades = {g.name: g for g in gb.find_submission_notebook(A, A, "ada").grades}
        flagged = grades[GRADED[0]]
        # provisional: every check that ran passed, so nothing is lost
        assert flagged.needs_manual_grade and flagged.auto_score == flagged.max_score
        assert not any(grades[g].needs_manual_grade for g in GRADED[1:])

    autograded = nbformat.read(str(root / "autograded" / "ada" / A / f"{A}.ipynb"), as_version=4)
    text = "".join(
        o.get("text", "")
        for c in autograded.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == GRADED[0]
        for o in c.get("outputs", [])
    )
    assert NOT_RUN in text and INTERNAL not in text and "TypeError" not in text
    log = Path(root / "reports" / A / "ada" / "autograde.log").read_text()
    assert "GRADER ERROR" in log and INTERNAL in log and "test_broken" in log
