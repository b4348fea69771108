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
