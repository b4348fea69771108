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
        # the reference binds these again before it runs anything; an
        # assignment always stays (its value may be read as the reference runs)
        ("def relu(x):\n    return x\nSIZE = 5\nimport math", ["def relu", "math"], ["SIZE = 5"]),
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


# (student's cell, reference cell, what a later cell reads, earlier cells):
# the shapes of cells where leaving a replaced definition out could change
# what the later cells see (found by a review told to break the rule)
SAME_AFTERWARDS = [
    # a call in the cell uses a constant the reference binds again
    (
        "HIDDEN = 128\ndef init():\n    return np.zeros((4, HIDDEN))\nW = init()\n"
        "def own(x):\n    return x",
        "HIDDEN = 128\ndef init():\n    return np.zeros((4, HIDDEN))\nW = init()",
        "(own.__name__, W.shape, rng.normal())",
        "import numpy as np\nrng = np.random.default_rng(0)\nHIDDEN = 10",
    ),
    # the reference reads the name before it binds it again
    ("X = X / 255.0", "X = X / 255.0", "X", "X = 255.0"),
    ("lr = 0.1", "lr = lr * 0.5", "lr", "lr = 1.0"),
    (
        "def f(x):\n    return 1",
        "def g(x, h=f):\n    return h(x)\ndef f(x):\n    return 2",
        "g(0)",
        "",
    ),
    # attribute and subscript targets bind no name
    (
        "def forward(self, x):\n    return 2 * x\ndef predict(self, x):\n    return self.forward(x)\n"
        "Net.forward = forward\nNet.predict = predict",
        "def forward(self, x):\n    return 2 * x\nNet.forward = forward",
        "Net().predict(1)",
        "class Net:\n    pass",
    ),
    (
        'CONFIG["momentum"] = 0.9\nCONFIG["lr"] = 0.01',
        'CONFIG["lr"] = 0.01',
        "CONFIG",
        "CONFIG = {}",
    ),
    ('key = "adam"', "results[key] = 0.9", "(key, results)", "key = 'sgd'\nresults = {}"),
    # imports: * and a submodule against its package
    ("from math import *", "from os.path import *", "factorial(4)", ""),
    ("import xml.dom.minidom", "import xml", "xml.dom.minidom.__name__", ""),
    ("import numpy as np", "import numpy as np", "np.__name__", ""),
    # a walrus, and statements of the reference that bind nothing for sure
    ("N = (n_out := 10)", "N = 10", "n_out", ""),
    ("def f(x, k=(n := 3)):\n    return x", "def f(x):\n    return x", "n", ""),
    ("model = base", "model: object", "model", "base = 'student'\nmodel = 'old'"),
    ("steps = 0", "steps += 1", "steps", "steps = 100"),
    # replaced definitions the reference binds first: left out, same result
    (
        "def relu(x):\n    return x\ndef own(x):\n    return relu(x)",
        "def relu(x):\n    return max(x, 0)",
        "own(-1)",
        "",
    ),
    (
        "class Net:\n    pass\nclass Wider(Net):\n    pass",
        "class Net:\n    size = 2",
        "Wider.__mro__[1] is Net",
        "",
    ),
]


def _afterwards(prelude: str, helpers: str, reference: str, probe: str, fatal: bool) -> str:
    """What ``probe`` reads after the helpers and the reference ran, as the
    graders' program (fatal=False: the helpers are a cell of their own whose
    error is recorded) or the isolated notebook (fatal: one cell) runs them."""
    namespace: dict = {}
    exec(prelude, namespace)
    if fatal:
        try:
            exec(f"{helpers}\n\n{reference}", namespace)
        except Exception as exc:
            return f"stopped: {type(exc).__name__}"
    else:
        try:
            exec(helpers, namespace)
        except Exception as exc:
            namespace["_error"] = type(exc).__name__
        exec(reference, namespace)
    try:
        return repr((eval(probe, namespace), namespace.get("_error")))
    except Exception as exc:
        return f"probe: {type(exc).__name__}"


@pytest.mark.parametrize(("student", "reference", "probe", "prelude"), SAME_AFTERWARDS)
@pytest.mark.parametrize("fatal", [False, True], ids=["program", "notebook"])
def test_left_out_definitions_change_nothing_a_later_cell_sees(
    student, reference, probe, prelude, fatal
):
    before = _afterwards(prelude, definitions_only(student), reference, probe, fatal)
    after = _afterwards(prelude, student_helpers(student, reference), reference, probe, fatal)
    assert after == before, student_helpers(student, reference)


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


@pytest.mark.parametrize("terms", [600, 5000])
def test_definitions_of_deeply_nested_code_are_kept_or_dropped_as_python_runs_it(terms):
    # a sum of 600 terms compiles (Python runs it in the kernel) but nests
    # deeper than ast.unparse recurses; one of 5000 does not even parse. The
    # trusted side must neither raise (a RecursionError in the graders'
    # process cost the whole grading) nor lose a definition Python keeps.
    student = (
        "import functools\n\n\n@functools.lru_cache\n"
        "def helper(x):\n    return 2 * x\n\n"
        f"TOTAL = {' + '.join(['1'] * terms)}\n"
        "print(TOTAL)\n"
    )
    reference = "def answer(x):\n    return x\n"
    for code in (definitions_only(student), student_helpers(student, reference)):
        namespace = {}
        exec(code, namespace)
        if terms == 600:
            assert namespace["TOTAL"] == 600 and namespace["helper"](2) == 4
            assert "print" not in code
            # its decorator too
            assert namespace["helper"].cache_info().currsize == 1
        else:
            assert code == ""


def test_whether_deep_code_parses_does_not_depend_on_the_caller_s_stack():
    # the parser's room depends on the frames below it: the answer (cached)
    # must be the same asked from deep in the graders' stack or near its top
    def nested(depth, code):
        return nested(depth - 1, code) if depth else definitions_only(code)

    for terms in (2500, 2900, 3300):
        code = f"TOTAL = {' + '.join(['1'] * terms)}\n"
        deep = nested(400, code)
        definitions_only.cache_clear()
        assert nested(5, code) == deep, terms
