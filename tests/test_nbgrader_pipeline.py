"""The stock nbgrader commands with the course's nbgrader_config.py, end to end:
generate_assignment, autograde (hidden graders scoring the cells) and
generate_feedback (nothing hidden shown), in a scratch copy of the course."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from course import ROOT, grader_lines, release_notebook, solution_lines, source_notebook

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

    # the bundled demo: the reference (demo_ada), the blank release
    # (demo_blank) and two catalogued mistakes (demo_grace)
    for demo in (ROOT / "submitted").glob(f"demo_*/{A}"):
        shutil.copytree(demo, root / "submitted" / demo.parent.name / A)
    reference = filled_submission(release_notebook(A), source_notebook(A))

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

    # a notebook nbgrader itself cannot read: that student cannot be graded,
    # the others must be
    broken = root / "submitted" / "broken" / A
    broken.mkdir(parents=True)
    (broken / f"{A}.ipynb").write_text('{"cells": [ this is not json')

    proc = _nbgrader(root, "autograde", A, "--force")
    assert "broken" in proc.stdout + proc.stderr
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
    root, log = graded_course
    grades = _autograded(_grades(root, "demo_ada"))
    assert len(grades) == 10
    assert all(score == points for score, points in grades.values()), (grades, log[-5000:])


def test_the_reference_writes_nothing_to_stderr(graded_course):
    # nbgrader zeroes a graded cell with stderr output, so noise from the
    # grading environment (a library warning, a missing cache) is a bug of ours
    root, _ = graded_course
    nb = nbformat.read(str(root / "autograded" / "demo_ada" / A / f"{A}.ipynb"), as_version=4)
    noise = [
        (cell.metadata.get("nbgrader", {}).get("grade_id"), out.get("text", "")[:200])
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream" and out.get("name") == "stderr"
    ]
    assert noise == []


def test_blank_release_earns_zero(graded_course):
    root, _ = graded_course
    assert {score for score, _ in _autograded(_grades(root, "demo_blank")).values()} == {0.0}


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
    nb = nbformat.read(str(root / "autograded" / "demo_blank" / A / f"{A}.ipynb"), as_version=4)
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
    graders = grader_lines(A)
    solutions = solution_lines(A)
    for student in ("demo_ada", "demo_blank", "demo_grace", "dup", "cheat"):
        html = (root / "feedback" / student / A / f"{A}.html").read_text()
        submitted = (root / "submitted" / student / A / f"{A}.ipynb").read_text()
        # a solution line may appear only where the student wrote it
        shown = [line for line in solutions if _html_escape(line) in html and line not in submitted]
        assert not shown, f"{student}: solution code in feedback: {shown[:3]}"
        assert "Hidden checks for" in html
        assert "BEGIN SOLUTION" not in html and "HIDDEN TESTS" not in html
        assert "Traceback (most recent call last)" not in html
        assert "site-packages" not in html and "/graders/" not in html
        leaked = [line for line in graders if line in html]
        assert not leaked, f"{student}: grader code in feedback: {leaked[:3]}"


def test_feedback_reads_well_offline(graded_course):
    import html as htmllib

    root, _ = graded_course
    page = (root / "feedback" / "demo_grace" / A / f"{A}.html").read_text()
    text = htmllib.unescape(re.sub(r"<script>.*?</script>", "", page, flags=re.S))
    # the per-check list names each input of a parametrised check
    for name in ("identity", "relu", "sigmoid", "tanh"):
        assert re.search(rf"ok +The activation's values match .*\[{name}\]", text), name
    # scores as people write them: 2 decimals at most, no trailing zeros
    scores = re.findall(r"Score: [^<()]*|Hidden checks for \w+: [^(]*", text)
    assert len(scores) > 10 and re.search(r"Hidden checks for test_activations: 3\.69 / 4 ", text)
    assert not [s for s in scores if re.search(r"\d\.\d{3,}|\d\.0\b", s)], scores
    # MathJax is in the page, nothing comes from a CDN
    assert "Content-Security-Policy" in page and "cdnjs" not in page


def _html_escape(line: str) -> str:
    import html

    return html.escape(line, quote=False)


def test_cell_export_tells_zero_from_ungradable(graded_course):
    from dlcourse.reports.cell_export import GRADED, MANUAL, UNGRADABLE, cell_rows, to_csv

    root, _ = graded_course
    rows = cell_rows(root, A)
    by = {(r["student"], r["cell"]): r for r in rows}
    assert {r["student"] for r in rows} == {
        "demo_ada",
        "demo_blank",
        "demo_grace",
        "dup",
        "cheat",
        "broken",
    }
    blank = by[("demo_blank", "test_linear")]
    assert (
        blank["status"] == GRADED
        and blank["score"] == 0.0
        and "NotImplementedError" in blank["failed_checks"]
    )
    assert (
        by[("demo_ada", "test_linear")]["score"] == 4.0
        and by[("demo_ada", "test_linear")]["failed_checks"] == ""
    )
    assert by[("demo_ada", "theory_sigmoid")]["status"] == MANUAL
    # demo_grace's two mistakes, each in its own cell
    assert (
        by[("demo_grace", "test_mse")]["score"] == 0.0
        and "mse_loss" in by[("demo_grace", "test_mse")]["failed_checks"]
    )
    assert "relu_grad(0) must be 0" in by[("demo_grace", "test_activations")]["failed_checks"]
    assert by[("demo_grace", "test_linear")]["score"] == 4.0
    broken = by[("broken", "test_linear")]
    assert (
        broken["status"] == UNGRADABLE
        and broken["score"] == ""
        and "could not autograde" in broken["reason"]
    )
    text = to_csv(rows)
    assert (
        text.splitlines()[0]
        == "student,assignment,notebook,cell,max_score,score,status,reason,failed_checks"
    )
    assert len(text.splitlines()) == 1 + 6 * 13


def test_gradescope_results(graded_course):
    from dlcourse.reports.gradescope import gradescope_results
    from dlcourse.reports.store import read_report

    root, _ = graded_course
    full = gradescope_results(read_report(root, A, "demo_ada", A))
    assert full["score"] == pytest.approx(22.0)
    assert sum(t["max_score"] for t in full["tests"]) == pytest.approx(22.0)
    assert all(
        set(t) == {"name", "score", "max_score", "output", "visibility"} for t in full["tests"]
    )
    assert all(t["visibility"] == "visible" for t in full["tests"])
    blank = gradescope_results(read_report(root, A, "demo_blank", A))
    assert blank["score"] == 0 and all("NotImplementedError" in t["output"] for t in blank["tests"])
    ungradable = gradescope_results(
        {"error": "the hidden graders did not finish within 900 s", "cells": {}}
    )
    assert ungradable["score"] == 0 and "could not be graded" in ungradable["output"]


def test_course_summary(graded_course):
    from dlcourse.reports.summary import write_summary

    root, _ = graded_course
    page = write_summary(root)
    text = page.read_text()
    assert "<h2>02_layers</h2>" in text and "6 students" in text
    assert (page.parent / "02_layers.png").stat().st_size > 10_000
    # the most failed checks first; the blank and the cheating student fail every
    # check, and a check run on several inputs counts each student once
    rows = re.findall(r"<td>(test_\w+): [^<]*</td><td>(\d+)</td></tr>", text)
    assert rows, "no failed checks are listed"
    counts = [int(n) for _, n in rows]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 2
    assert counts and max(counts) <= 6  # students, never tests: at most the class size


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # offline, as a student may open the page: no host name resolves
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=2000",
    "--enable-logging=stderr",
    "--v=0",
]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: scripts/install.sh installs Debian's chromium")
        pytest.skip("chromium is not installed")
    return path


def _browse(page: Path, tmp: Path, *args: str) -> tuple[str, list[str]]:
    """Render ``page`` in headless Chromium: (stdout, script errors logged)."""
    proc = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp / 'profile'}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = [
        line for line in proc.stderr.splitlines() if ":CONSOLE" in line and "Uncaught" in line
    ]
    return proc.stdout, errors


def test_browser_catches_script_errors(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>not_defined_anywhere();</script></body></html>")
    _, errors = _browse(page, tmp_path, "--dump-dom")
    assert errors and "not_defined_anywhere" in errors[0]


@pytest.mark.parametrize("student", ["demo_ada", "demo_blank"])
def test_feedback_page_in_a_real_browser(graded_course, tmp_path, student):
    import matplotlib.image

    root, _ = graded_course
    page = root / "feedback" / student / A / f"{A}.html"
    dom, errors = _browse(page, tmp_path, "--dump-dom")
    assert not errors, errors
    expected = {"demo_ada": "Score: 22 / 27", "demo_blank": "Score: 0 / 27"}[student]
    assert expected in dom
    # the notebook's formulas, rendered by the MathJax inside the page
    shown = re.sub(r"<script>.*?</script>", "", dom, flags=re.S)
    assert shown.count('<mjx-container class="MathJax" jax="SVG"') >= 17
    assert "$\\sigma'(z) = " not in shown and "$e^0 = 1$" not in shown
    assert "Hidden checks for test_linear" in dom
    if student == "demo_blank":
        assert "FAILED W has shape (d_in, d_out)" in dom and "NotImplementedError" in dom
    shot = tmp_path / "page.png"
    _, errors = _browse(page, tmp_path, "--window-size=1100,1600", f"--screenshot={shot}")
    assert not errors, errors
    pixels = matplotlib.image.imread(str(shot))
    assert pixels.shape[:2] == (1600, 1100)
    assert pixels.std() > 0.05, "the screenshot is blank"


def test_the_score_table_shows_scores_as_people_write_them(graded_course):
    from dlcourse.cli import score_table
    from dlcourse.nbgrader_ext.report import format_score

    root, _ = graded_course
    grades = _autograded(_grades(root, "demo_grace"))
    # a partial score with more digits than a person writes
    long = [s for s, _ in grades.values() if s != round(s, 2)]
    assert long, grades
    table = score_table(root, A)
    row = next(line for line in table.splitlines() if line.startswith("demo_grace"))
    assert format_score(long[0]) in row.split()
    assert all(len(n.split(".")[1]) <= 2 for n in re.findall(r"\d+\.\d+", table)), table
