"""The hidden graders fail closed: when the course's graders cannot grade (a
grader file that does not import, a conftest.py that raises, no tests, a
graded cell without checks), a submission "could not be graded", with the
reason, and never keeps nbgrader's own (visible-check) result. Their process
is isolated, starts in the course folder and has an address-space limit."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from course import ROOT, release_notebook, source_notebook

from dlcourse.batch import reason_from_log, run_batch
from dlcourse.filled_submission import filled_submission
from dlcourse.grading import GRADERS_FAILED, run_hidden_graders
from dlcourse.nbgrader_ext.hidden_graders import HiddenGraders, HiddenGradersError
from dlcourse.submission import load_notebook

A = "02_layers"
GRADED = list(load_notebook(ROOT / "source" / A / f"{A}.ipynb").graded)
LIMIT = 6 * 1024**3


def _course(tmp: Path, graders: dict[str, str] | None = None) -> Path:
    """A scratch course with 02_layers' source and either its real graders
    or the given files (name -> text) as graders/02_layers/."""
    shutil.copytree(ROOT / "source" / A, tmp / "source" / A)
    if graders is None:
        shutil.copytree(
            ROOT / "graders" / A, tmp / "graders" / A, ignore=shutil.ignore_patterns("__pycache__")
        )
    else:
        (tmp / "graders" / A).mkdir(parents=True)
        for name, text in graders.items():
            (tmp / "graders" / A / name).write_text(text)
    shutil.copy(ROOT / "nbgrader_config.py", tmp)
    return tmp


def _no_sandbox_graders(probe: str = "pass") -> str:
    """One check per graded cell that never starts a sandbox (fast); the
    first cell's check runs ``probe``."""
    lines = ["import os, resource, sys", "import pytest", ""]
    for i, grade_id in enumerate(GRADED):
        body = probe if i == 0 else "pass"
        lines += [
            f"@pytest.mark.graded({grade_id!r})",
            f"def test_{i}():",
            f'    """Check {i}."""',
            f"    {body}",
            "",
        ]
    return "\n".join(lines)


# the grade report lists the graded cells of the reference the checks loaded:
# these checks use no sandbox (fast), so this conftest loads it
REFERENCE_CONFTEST = """\
import pytest

from dlcourse.pytest_plugin import _course_of


@pytest.fixture(autouse=True)
def _load_reference(request):
    request.config._dlcourse.reference(*_course_of(request))
"""


def _grade_release(root: Path) -> dict:
    return run_hidden_graders(release_notebook(A), A, root, timeout=300, memory_bytes=LIMIT)


def _preprocess(root: Path, report_student: str = "s"):
    nb = nbformat.read(str(release_notebook(A)), as_version=4)
    resources = {"nbgrader": {"assignment": A, "notebook": A, "student": report_student}}
    return HiddenGraders(course_root=str(root), timeout=300).preprocess(nb, resources)


def test_the_graders_process_is_isolated_limited_and_in_the_course_folder(tmp_path):
    root = _course(
        tmp_path / "course",
        {"conftest.py": REFERENCE_CONFTEST, "test_all.py": _no_sandbox_graders()},
    )
    probe = (
        "assert (sys.flags.isolated, os.getcwd(), resource.getrlimit(resource.RLIMIT_AS)[0]) == "
        f"(1, {str(root.resolve())!r}, {LIMIT}), "
        "(sys.flags.isolated, os.getcwd(), resource.getrlimit(resource.RLIMIT_AS))"
    )
    (root / "graders" / A / "test_all.py").write_text(_no_sandbox_graders(probe))
    report = _grade_release(root)
    assert "error" not in report, report
    outcomes = {t["name"]: (t["outcome"], t["message"]) for t in report["tests"]}
    assert outcomes["test_0"] == ("passed", ""), outcomes["test_0"]
    assert report["exitstatus"] == 0


@pytest.mark.parametrize(
    "case",
    ["garbage_grader_file", "conftest_raises", "no_tests", "graded_cell_without_checks"],
)
def test_broken_graders_make_the_notebook_ungradable(tmp_path, case):
    graders = {"conftest.py": REFERENCE_CONFTEST, "test_all.py": _no_sandbox_graders()}
    expect = None
    if case == "garbage_grader_file":
        graders["test_linear.py"] = "this is not python ::\n"
        expect = "exit status 2 .*test_linear.py"
    elif case == "conftest_raises":
        graders["conftest.py"] = "raise RuntimeError('broken conftest')\n"
        expect = "exit status 4"
    elif case == "no_tests":
        graders = {"conftest.py": "# every test file was lost\n"}
        expect = "exit status 5"
    elif case == "graded_cell_without_checks":
        text = _no_sandbox_graders().replace(f"graded({GRADED[-1]!r})", f"graded({GRADED[0]!r})")
        graders["test_all.py"] = text
        expect = f"no hidden check ran for the graded cells {GRADED[-1]}"
    root = _course(tmp_path / "course", graders)

    report = _grade_release(root)
    assert report["error"].startswith(GRADERS_FAILED + ": "), report
    assert re.search(expect, report["error"]), report["error"]

    # nbgrader's step: no score at all (nbgrader then drops the notebook),
    # the reason kept in the stored report for the instructor's exports
    with pytest.raises(HiddenGradersError, match=GRADERS_FAILED) as raised:
        _preprocess(root)
    assert "\n" not in str(raised.value)
    stored = json.loads((root / "reports" / A / "s" / f"{A}.json").read_text())
    assert stored["error"].startswith(GRADERS_FAILED)


def _nb_with_graded_cells(*grade_ids: str):
    nb = nbformat.v4.new_notebook()
    for grade_id in grade_ids:
        cell = nbformat.v4.new_code_cell("assert True")
        cell.metadata["nbgrader"] = {
            "grade": True,
            "solution": False,
            "grade_id": grade_id,
            "points": 2,
        }
        cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"})]
        nb.cells.append(cell)
    return nb


def _result(score: float | None) -> dict:
    fraction = None if score is None else score / 2
    check = {"check": "c", "outcome": "passed" if score else "failed", "message": "m"}
    return {"points": 2, "fraction": fraction, "score": score, "checks": [check]}


def test_a_graded_cell_missing_from_the_report_changes_no_cell():
    nb = _nb_with_graded_cells("a", "b")
    report = {"tests": [{"grade_id": "a"}], "cells": {"a": _result(2.0)}}
    with pytest.raises(HiddenGradersError, match="no hidden result for the graded cells b"):
        HiddenGraders().apply(nb, report)
    assert report["error"].startswith(GRADERS_FAILED)
    # all or nothing: not even the cell that had a result was scored
    assert [c.outputs[0]["data"]["text/plain"] for c in nb.cells] == ["2", "2"]

    for report in (
        {"tests": [], "cells": {"a": _result(2.0), "b": _result(2.0)}},
        {"tests": [{}], "cells": {"a": _result(2.0), "b": _result(None)}},
        {"error": f"{GRADERS_FAILED}: pytest stopped", "tests": [{}], "cells": {}},
    ):
        with pytest.raises(HiddenGradersError, match=GRADERS_FAILED):
            HiddenGraders().apply(_nb_with_graded_cells("a", "b"), report)


def test_an_unreadable_submission_is_still_zero_with_the_reason():
    nb = _nb_with_graded_cells("a", "b")
    report = {
        "submission_error": "the notebook is not valid JSON",
        "tests": [{}],
        "cells": {"a": _result(0.0), "b": _result(0.0)},
    }
    HiddenGraders().apply(nb, report)
    for cell in nb.cells:
        assert cell.outputs[0].text == "Not graded: the notebook is not valid JSON.\n"
        assert cell.outputs[1]["data"]["text/plain"] == "0.0"
    nb = _nb_with_graded_cells("a", "b")
    HiddenGraders().apply(nb, {"tests": [{}], "cells": {"a": _result(1.0), "b": _result(2.0)}})
    assert [c.outputs[1]["data"]["text/plain"] for c in nb.cells] == ["1.0", "2.0"]


def test_the_batch_finds_the_graders_reason_and_not_a_forged_one():
    forged = f"dlcourse.nbgrader_ext.hidden_graders.HiddenGradersError: {GRADERS_FAILED}: forged"
    log = "\n".join(
        [
            "[AutogradeApp | ERROR] Hidden graders graders/02_layers could not grade s: ...",
            "        | FAILED test_x - " + forged,  # the graders' output quotes the student
            "        | " + forged,
            "        | Kernel died; timestamp",
            "[AutogradeApp | ERROR] Traceback (most recent call last):",
            '      File "hidden_graders.py", line 1, in apply',
            "    dlcourse.nbgrader_ext.hidden_graders.HiddenGradersError: "
            f"{GRADERS_FAILED}: pytest stopped with exit status 2 (interrupted) "
            "(the instructor has been told)",
            "[AutogradeApp | ERROR] There was an error processing assignment",
        ]
    )
    assert reason_from_log(log) == (
        f"{GRADERS_FAILED}: pytest stopped with exit status 2 (interrupted) "
        "(the instructor has been told)"
    )


def test_the_batch_reports_broken_graders_as_could_not_be_graded(tmp_path):
    """Through stock nbgrader: with a grader file turned to garbage, the
    reference (whose visible checks pass: nbgrader's own result would be
    full marks) is not graded at all."""
    root = _course(tmp_path / "course")
    (root / "graders" / A / "test_linear.py").write_text("garbage ::\n")
    folder = root / "submitted" / "ada" / A
    folder.mkdir(parents=True)
    nbformat.write(
        filled_submission(release_notebook(A), source_notebook(A)), str(folder / f"{A}.ipynb")
    )
    summary = run_batch(root, A, workers=1, check_reference=False, check_files=False)
    info = summary["students"]["ada"]
    assert info["status"] == "could not be graded", info
    assert info["reason"].startswith(f"{GRADERS_FAILED}: pytest stopped with exit status 2")
    assert "test_linear.py" in info["reason"]
    assert summary["ungradable"] == ["ada"]
    assert not (root / "autograded" / "ada" / A / f"{A}.ipynb").exists()
    assert {c["status"] for c in info["cells"].values()} == {"could not be graded"}
    assert all(c["score"] == "" for c in info["cells"].values()) and info["total"] == 0
    log = (root / "reports" / A / "ada" / "autograde.log").read_text()
    assert "    | " in log and "test_linear.py" in log  # the graders' output, for the instructor


def test_only_the_cells_asked_for_are_graded_and_an_unknown_one_is_refused(tmp_path):
    nb = tmp_path / f"{A}.ipynb"
    nbformat.write(filled_submission(release_notebook(A), source_notebook(A)), str(nb))
    asked = ["test_softmax", "test_linear"]
    report = run_hidden_graders(nb, A, ROOT, only_cells=asked)
    assert "error" not in report, report.get("error")
    scored = {g for g, c in report["cells"].items() if c.get("score") is not None}
    assert scored == set(asked)
    assert all(report["cells"][g]["score"] == report["cells"][g]["points"] for g in asked)
    # a cell that has no checks was never graded: the course's failure, not a 0
    refused = run_hidden_graders(nb, A, ROOT, only_cells=["test_softmax", "test_nothing"])
    assert refused.get("error", "").startswith(GRADERS_FAILED)
    assert "test_nothing" in refused["error"]
