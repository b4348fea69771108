"""Reading notebooks as the graders do."""

import json

import nbformat
import pytest
from course import source_notebook

from dlcourse.program import program_for
from dlcourse.submission import (
    SubmissionError,
    definitions_only,
    load_notebook,
    strip_magics,
    strip_solution_markers,
    student_helpers,
)


def test_roles_of_the_02_layers_notebook():
    nb = load_notebook(source_notebook("02_layers"))
    assert "activations" in nb.answers and "training" in nb.answers
    assert nb.graded["test_linear"].answers == ["linear_layer"]
    # a graded cell right after another grades the same answer cells
    assert nb.graded["test_linear_update"].answers == ["linear_layer"]
    assert nb.graded["test_linear"].points == 4
    assert [role for role, _ in nb.order].count("setup") == 2
    assert nb.duplicates == []


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"{not json", "not valid notebook JSON \\(line 1"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"a": 1}', "JSON but not a notebook"),
    ],
)
def test_unreadable_files_get_a_sentence(tmp_path, content, message):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(content)
    with pytest.raises(SubmissionError, match=message):
        load_notebook(path)


def test_nbformat_3_is_converted(tmp_path):
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {},
        "worksheets": [
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "input": "x = 1",
                        "language": "python",
                        "outputs": [],
                        "metadata": {"nbgrader": {"solution": True, "grade_id": "a"}},
                    }
                ]
            }
        ],
    }
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3))
    assert load_notebook(path).answers == {"a": "x = 1"}


def test_duplicated_cells_are_reported_and_the_last_wins(tmp_path):
    nb = nbformat.v4.new_notebook()
    for code in ("x = 1", "x = 2"):
        cell = nbformat.v4.new_code_cell(code)
        cell.metadata["nbgrader"] = {"solution": True, "grade_id": "a"}
        nb.cells.append(cell)
    parsed = load_notebook_from(nb, tmp_path)
    assert parsed.duplicates == ["a"] and parsed.answers["a"] == "x = 2"


def load_notebook_from(nb, tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    return load_notebook(path)


def test_code_transformations():
    assert strip_magics("%matplotlib inline\nx = 1\n!ls") == "# %matplotlib inline\nx = 1\n# !ls"
    assert "BEGIN" not in strip_solution_markers("a\n### BEGIN SOLUTION\nb\n### END SOLUTION\n")
    kept = definitions_only(
        "import os\ndef f():\n    pass\nprint(1)\nX = 2\nfor i in range(3):\n    pass"
    )
    assert "def f" in kept and "X = 2" in kept and "import os" in kept
    assert "print" not in kept and "for" not in kept
    assert definitions_only("def broken(:") == ""


REFERENCE_CELL = (
    "import math\n\nclass Net:\n    pass\n\ndef relu(x):\n    return max(x, 0)\n\nSIZE = 4"
)


@pytest.mark.parametrize(
    ("student", "left_out", "kept"),
    [
        # the reference defines all of these again, and nothing runs as they do
        ("def relu(x):\n    return x\nSIZE = 5\nimport math", ["def relu", "SIZE", "math"], []),
        # the student's own helper stays; the replaced function goes
        ("def relu(x):\n    return x\ndef leaky(x):\n    return x", ["def relu"], ["leaky"]),
        # a helper that stays reads Net as it is defined: Net stays before it
        ("class Net:\n    pass\nclass Wider(Net):\n    pass", [], ["class Net", "Wider"]),
        ("def relu(x):\n    return x\ndef act(x, f=relu):\n    return f(x)", [], ["relu", "act"]),
        ("SIZE = 5\nHALF = SIZE // 2", [], ["SIZE = 5", "HALF"]),
        # running it has an effect the reference does not undo (a draw, a print)
        ("SIZE = draw()", [], ["SIZE = draw()"]),
        ("@register\ndef relu(x):\n    return x", [], ["@register"]),
        ("class Net:\n    log(1)", [], ["log(1)"]),
        # one name of two is the student's own
        ("SIZE, EXTRA = 5, 6", [], ["EXTRA"]),
    ],
)
def test_student_helpers_leave_out_only_what_the_reference_undoes(student, left_out, kept):
    helpers = student_helpers(student, REFERENCE_CELL)
    for text in left_out:
        assert text not in helpers, helpers
    for text in kept:
        assert text in helpers, helpers

    # whatever is left out, the student's cell then the reference defines the
    # same names as the helpers then the reference
    def names(code):
        namespace = {"draw": lambda: 1, "register": lambda f: f, "log": print}
        exec(code + "\n" + REFERENCE_CELL, namespace)
        return set(namespace)

    assert names(helpers) == names(definitions_only(student))


def test_programs_of_submissions_that_differ_only_in_replaced_definitions_are_equal(tmp_path):
    from course import release_notebook

    from dlcourse.filled_submission import filled_submission

    reference = load_notebook(source_notebook("02_layers"))

    def program(append):
        nb = filled_submission(
            release_notebook("02_layers"), source_notebook("02_layers"), append=append
        )
        return program_for("test_softmax", reference, load_notebook_from(nb, tmp_path))

    plain = program({})
    # a wrong relu appended to the reference's: only its own cells see it
    wrong = program({"activations": "def relu(z):\n    return z"})
    helper = program({"activations": "def my_helper(z):\n    return z"})
    assert wrong == plain
    assert helper != plain and any("my_helper" in c.code for c in helper)


def test_program_substitutes_the_reference_for_other_cells():
    reference = load_notebook(source_notebook("02_layers"))
    cells = program_for("test_softmax", reference, None)
    labels = [c.label for c in cells]
    assert "softmax" in labels  # the graded cell's own code, unlabelled
    assert "activations (reference)" in labels
    assert labels[0] == "setup (reference)"


def test_display_and_run_cells_stay_out_of_other_cells_programs(tmp_path):
    nb = nbformat.v4.new_notebook()
    cells = [
        ("import numpy as np", {"locked": True, "grade_id": "imports"}, None),
        ("model = train_everything()", {"locked": True, "grade_id": "final_run"}, "display"),
        ("def f():\n    return 1", {"solution": True, "grade_id": "f"}, None),
        ("assert f() == 1", {"grade": True, "grade_id": "test_f", "points": 1}, None),
        ("model = fit_on_everything()", {"solution": True, "grade_id": "final"}, "run"),
        ("assert model", {"grade": True, "grade_id": "test_final", "points": 1}, None),
    ]
    for code, meta, role in cells:
        cell = nbformat.v4.new_code_cell(code)
        cell.metadata["nbgrader"] = meta
        if role:
            cell.metadata["dlcourse"] = {"role": role}
        nb.cells.append(cell)
    parsed = load_notebook_from(nb, tmp_path)
    assert list(parsed.setup.values()) == ["import numpy as np"]
    assert [role for role, _ in parsed.order] == ["setup", "answer", "answer"]
    assert parsed.runs == {"final"}
    program = "\n".join(cell.code for cell in program_for("test_f", parsed, None))
    assert "train_everything" not in program and "fit_on_everything" not in program
    own = "\n".join(cell.code for cell in program_for("test_final", parsed, None))
    assert "fit_on_everything" in own
