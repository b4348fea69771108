"""The pytest plugin, driven the way instructors use it, on a tiny course."""

import json

import nbformat
import pytest

pytest_plugins = ["pytester"]

GRADER = '''
import pytest
from dlcourse.checks import expect_close


@pytest.mark.graded("test_double", weight=3)
def test_values(student, rng):
    """double(x) is twice x."""
    x = rng.normal(size=4)
    expect_close(student.double(x), 2 * x, "double(x)")


@pytest.mark.graded("test_double")
def test_name(student):
    """double has a docstring."""
    assert student.double.type_name == "double"


@pytest.mark.graded("test_half")
def test_half(student):
    """half(4) is 2."""
    expect_close(student.half(4.0), 2.0, "half(4)")
'''


def _cell(kind, source, **meta):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": meta.pop("gid"), "schema_version": 3, **meta}
    return cell


def _notebook(double_body: str, half_body: str):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _cell("code", "import numpy as np", gid="setup", locked=True, solution=False, grade=False),
        _cell(
            "code",
            f"def double(x):\n    ### BEGIN SOLUTION\n    {double_body}\n    ### END SOLUTION",
            gid="ans_double",
            solution=True,
            grade=False,
            locked=False,
        ),
        _cell(
            "code",
            "assert double(1) == 2",
            gid="test_double",
            grade=True,
            solution=False,
            locked=True,
            points=2,
        ),
        _cell(
            "code",
            f"def half(x):\n    {half_body}",
            gid="ans_half",
            solution=True,
            grade=False,
            locked=False,
        ),
        _cell(
            "code",
            "assert half(2) == 1",
            gid="test_half",
            grade=True,
            solution=False,
            locked=True,
            points=1,
        ),
    ]
    return nb


@pytest.fixture
def course(pytester):
    (pytester.path / "source" / "toy").mkdir(parents=True)
    nbformat.write(
        _notebook("return 2 * x", "return x / 2"),
        str(pytester.path / "source" / "toy" / "toy.ipynb"),
    )
    (pytester.path / "graders" / "toy").mkdir(parents=True)
    (pytester.path / "graders" / "toy" / "test_toy.py").write_text(GRADER)
    return pytester


def test_reference_by_default(course):
    result = course.runpytest_subprocess(
        "graders/toy", "-p", "no:cacheprovider", "--import-mode=importlib"
    )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["*test_double*2.00 / 2*", "*test_half*1.00 / 1*", "*total*3.00 / 3*"]
    )


def test_student_mistake_gets_a_sentence_and_partial_credit(course):
    student = course.path / "student.ipynb"
    nbformat.write(_notebook("return x + x + 1", "return x / 2"), str(student))
    report = course.path / "report.json"
    result = course.runpytest_subprocess(
        "graders/toy", "--submission", str(student), "--grade-report", str(report),
        "-p", "no:cacheprovider", "--import-mode=importlib",
    )  # fmt: skip
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_values*double(x) is wrong at index*got*expected*allowed*"])
    data = json.loads(report.read_text())
    cell = data["cells"]["test_double"]
    assert cell["fraction"] == pytest.approx(1 / 4) and cell["score"] == pytest.approx(0.5)
    assert data["cells"]["test_half"]["score"] == 1.0
    failed = [c for c in cell["checks"] if c["outcome"] != "passed"]
    assert failed[0]["check"] == "double(x) is twice x."
    assert "Traceback" not in failed[0]["message"] and "expect_close" not in failed[0]["message"]


def test_missing_function_is_named(course):
    student = course.path / "student.ipynb"
    nb = _notebook("return 2 * x", "return x / 2")
    nb.cells[3].source = "# deleted"
    nbformat.write(nb, str(student))
    report = course.path / "report.json"
    course.runpytest_subprocess(
        "graders/toy",
        "--submission",
        str(student),
        "--grade-report",
        str(report),
        "--import-mode=importlib",
    )
    data = json.loads(report.read_text())
    message = data["cells"]["test_half"]["checks"][0]["message"]
    assert "half is not defined: the answer cell 'ans_half' must define it" in message
    assert data["cells"]["test_double"]["score"] == 2.0  # the other cell is unaffected


def test_unreadable_submission_fails_every_check_in_words(course):
    student = course.path / "student.ipynb"
    student.write_text("{ this is not json")
    report = course.path / "report.json"
    course.runpytest_subprocess(
        "graders/toy",
        "--submission",
        str(student),
        "--grade-report",
        str(report),
        "--import-mode=importlib",
    )
    data = json.loads(report.read_text())
    assert "is not valid notebook JSON" in data["submission_error"]
    outcomes = {c["outcome"] for cell in data["cells"].values() for c in cell["checks"]}
    assert outcomes == {"ungradable"}


def test_unmarked_test_using_student_is_an_error(course):
    (course.path / "graders" / "toy" / "test_bad.py").write_text("def test_x(student):\n    pass\n")
    result = course.runpytest_subprocess("graders/toy/test_bad.py", "--import-mode=importlib")
    result.stdout.fnmatch_lines(["*uses `student` without @pytest.mark.graded*"])
    assert result.ret != 0


SEEDED = '''
import pytest


@pytest.mark.graded("test_double")
@pytest.mark.parametrize("size", [2, 3], ids=["small", "large"])
def test_draws(rng, size):
    """Draws its inputs."""
    assert False, f"drew {rng.integers(10**9, size=size).tolist()}"


@pytest.mark.graded("test_half")
def test_plain(rng):
    """Draws one number."""
    assert rng.integers(2) == 0, "drew 1"
'''


def _graded(course, *args) -> dict:
    report = course.path / "report.json"
    course.runpytest_subprocess(
        "graders/toy/test_seeded.py", "--grade-report", str(report), "-p", "no:cacheprovider",
        "--import-mode=importlib", *args,
    )  # fmt: skip
    return json.loads(report.read_text())


def test_several_seeds_in_one_session_draw_what_each_seed_draws(course):
    (course.path / "graders" / "toy" / "test_seeded.py").write_text(SEEDED)
    both = _graded(course, "--grading-seeds", "5,6")
    assert sorted(both["rounds"]) == ["5", "6"]
    for seed in (5, 6):
        alone = _graded(course, "--grading-seed", str(seed))
        mine = [t for t in both["tests"] if t["seed"] == seed]
        # the same checks, named the same way, with the same inputs
        assert sorted((t["check"], t["message"]) for t in mine) == sorted(
            (t["check"], t["message"]) for t in alone["tests"]
        )
        assert {g: c["score"] for g, c in both["rounds"][str(seed)].items()} == {
            g: c["score"] for g, c in alone["cells"].items()
        }
    checks = {t["check"] for t in both["tests"]}
    assert checks == {"Draws its inputs. [small]", "Draws its inputs. [large]", "Draws one number."}
    # the seeds drew different inputs (else this test could not fail)
    drawn = {t["seed"]: t["message"] for t in both["tests"] if t["check"].endswith("[large]")}
    assert drawn[5] != drawn[6]


def test_seeds_must_be_distinct_integers(course):
    (course.path / "graders" / "toy" / "test_seeded.py").write_text(SEEDED)
    for bad in ("1,x", "3,3"):
        result = course.runpytest_subprocess("graders/toy", "--grading-seeds", bad)
        assert result.ret == 4, bad


REFERENCE_GRADER = """
import pytest


@pytest.mark.graded("test_half")
def test_expected_values_come_from_the_reference(student, reference_code):
    # the answer cell of half also redefined double, an earlier cell's
    assert student.double(1.0) == -1.0
    assert reference_code.double(1.0) == 2.0
    assert reference_code.half(4.0) == 2.0 and student.half(4.0) == 2.0
    assert reference_code.sandbox is not student.sandbox
"""


def test_reference_code_runs_no_code_of_the_submission(course):
    # a grader computing expected values with the notebook's own functions
    # must not use ones the submission replaced (05's online cell could
    # redefine train and so choose the accuracies it was compared with)
    (course.path / "graders" / "toy" / "test_reference.py").write_text(REFERENCE_GRADER)
    student = course.path / "student.ipynb"
    replaces = "return x / 2\n\n\ndef double(x):\n    return -1.0"
    nbformat.write(_notebook("return 2 * x", replaces), str(student))
    result = course.runpytest_subprocess(
        "graders/toy/test_reference.py", "--submission", str(student),
        "-p", "no:cacheprovider", "--import-mode=importlib",
    )  # fmt: skip
    result.assert_outcomes(passed=1)


DEEP_GRADER = """
import pytest


def _deep(n):
    return _deep(n - 1) if n else 1 / 0


@pytest.mark.graded("test_half")
def test_a_grader_error_deep_down(student):
    _deep(600)
"""


def test_grader_errors_are_reported_in_python_s_traceback_format(course):
    # pytest's own format re-reads each frame's module for every frame: a
    # deep grader error (a RecursionError) took seconds per check to report
    (course.path / "graders" / "toy" / "test_deep.py").write_text(DEEP_GRADER)
    report = course.path / "report.json"
    course.runpytest_subprocess(
        "graders/toy/test_deep.py", "--grade-report", str(report),
        "-p", "no:cacheprovider", "--import-mode=importlib",
    )  # fmt: skip
    check = json.loads(report.read_text())["cells"]["test_half"]["checks"][0]
    assert "ZeroDivisionError" in check["traceback"]
    assert "return _deep(n - 1) if n else 1 / 0" in check["traceback"]
    assert "\n>" not in check["traceback"]  # pytest's long format marks the line with >
