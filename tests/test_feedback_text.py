"""What a student (or instructor) reads about a score: 3.69 / 4, never
3.6923 or 4.0, and every check named with the input it ran on; files a
program reads keep the exact score."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from dlcourse.nbgrader_ext.hidden_graders import HiddenGraders
from dlcourse.nbgrader_ext.report import format_cell_report, format_score
from dlcourse.reports.store import checks_not_run


@pytest.mark.parametrize(
    "value, text",
    [
        (3.6923, "3.69"),
        (4.0, "4"),
        (4, "4"),
        (3.5, "3.5"),
        (3.50001, "3.5"),
        (0.0, "0"),
        (-0.001, "0"),
        (1 / 3, "0.33"),
        (2 / 3, "0.67"),
        (12.0, "12"),
        (0.005, "0.01"),
        ("n/a", "n/a"),
        (None, "None"),
        (float("nan"), "nan"),
    ],
)
def test_scores_are_written_as_people_write_them(value, text):
    assert format_score(value) == text


def _check(check: str, outcome: str = "passed", message: str = "") -> dict:
    return {"check": check, "outcome": outcome, "weight": 1.0, "message": message}


def test_cell_report_rounds_the_score_and_names_each_input():
    # as the pytest plugin reports a parametrised check: its first docstring
    # line, then the input's id in brackets
    checks = [
        _check(f"The activation's values match the definition. [{name}]")
        for name in ("identity", "relu", "sigmoid", "tanh")
    ] + [_check("relu_grad is 0 at exactly z = 0.", "failed", "relu_grad(0) must be 0")]
    text = format_cell_report("test_activations", {"checks": checks}, 4 * 4 / 5, 4.0)
    assert text.startswith("Hidden checks for test_activations: 3.2 / 4 points (4 of 5 ")
    for name in ("identity", "relu", "sigmoid", "tanh"):
        assert f"ok     The activation's values match the definition. [{name}]\n" in text
    text = format_cell_report("c", {"checks": checks}, 4 * 12 / 13, 4)
    assert "c: 3.69 / 4 points" in text and "3.6923" not in text


def test_the_instructor_reads_the_provisional_score_rounded():
    report = {
        "cells": {
            "c": {
                "score": 3.6923,
                "points": 4.0,
                "grader_errors": [_check("x", "error", "grader bug")],
            }
        }
    }
    assert "provisional score 3.69 of 4 from the checks that ran" in checks_not_run(report, "c")


def test_graded_cell_shows_the_rounded_score_and_keeps_the_exact_one_for_nbgrader():
    from nbgrader.utils import determine_grade

    cell = new_code_cell(
        "check()",
        execution_count=2,
        metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "c", "points": 4}},
    )
    nb = new_notebook(cells=[cell])
    result = {"checks": [_check("a")] * 12 + [_check("b", "failed", "b is wrong")]}
    result.update(score=round(4 * 12 / 13, 4), fraction=12 / 13)
    HiddenGraders().apply(nb, {"cells": {"c": result}, "tests": [{}]})
    out = nb.cells[0].outputs[1]
    assert out.data["text/plain"] == "3.6923"  # what nbgrader reads as partial credit
    assert out.data["text/html"] == "<pre>3.69</pre>"  # what the feedback page shows
    nbformat.validate(nb)
    assert determine_grade(nb.cells[0]) == (3.6923, 4.0)


def test_missing_mathjax_says_how_to_install_it(monkeypatch):
    from dlcourse.nbgrader_ext import offline_math

    def missing(name):
        raise ModuleNotFoundError(f"No module named {name!r}")

    monkeypatch.setattr(offline_math.resources, "files", missing)
    with pytest.raises(RuntimeError, match=r"pip install -c constraints.txt -e \.\[grading\]"):
        offline_math._mathjax_dir()
