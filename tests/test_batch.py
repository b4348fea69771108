"""The batch command: pre-flight, parallel workers with sequential scores,
resume, reports that tell 0 from "could not be graded", and its exit status."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from course import ROOT

from dlcourse.batch import PreflightError, Progress, preflight, reason_from_log, run_batch

A = "02_layers"


def _course(tmp: Path) -> Path:
    for name in ("source", "graders"):
        shutil.copytree(
            ROOT / name / A, tmp / name / A, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "nbgrader_config.py", tmp)
    shutil.copy(ROOT / "constraints.txt", tmp)
    for demo in ("demo_ada", "demo_grace"):
        shutil.copytree(ROOT / "submitted" / demo / A, tmp / "submitted" / demo / A)
    broken = tmp / "submitted" / "broken" / A
    broken.mkdir(parents=True)
    (broken / f"{A}.ipynb").write_text("{ not a notebook")
    return tmp


@pytest.fixture(scope="module")
def batch_course(tmp_path_factory):
    root = _course(tmp_path_factory.mktemp("batch"))
    stream = io.StringIO()
    summary = run_batch(root, A, workers=2, progress_stream=stream)
    return root, summary


def test_every_submission_gets_a_status_and_the_batch_goes_on(batch_course):
    root, summary = batch_course
    students = summary["students"]
    assert students["demo_ada"]["status"] == "graded" and students["demo_ada"]["total"] == 22
    assert students["demo_grace"]["status"] == "graded" and 0 < students["demo_grace"]["total"] < 22
    assert students["broken"]["status"] == "could not be graded"
    assert "not a readable notebook" in students["broken"]["reason"]
    assert summary["ungradable"] == ["broken"]
    assert summary["preflight_seconds"] > 0


def test_reports_tell_zero_from_ungradable(batch_course):
    root, _ = batch_course
    data = json.loads((root / "reports" / A / "batch.json").read_text())
    assert data["students"]["broken"]["cells"]["test_linear"]["status"] == "could not be graded"
    assert data["students"]["demo_grace"]["cells"]["test_mse"]["score"] == 0.0
    assert data["students"]["demo_grace"]["cells"]["test_mse"]["status"] == "graded"
    csv_lines = (root / "reports" / A / "batch.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + 3 * 13
    assert any(line.startswith("broken,") and "could not be graded" in line for line in csv_lines)


def test_resume_skips_graded_work_and_redo_matches_a_sequential_run(batch_course):
    root, first = batch_course
    again = run_batch(root, A, workers=2, check_reference=False)
    assert not again["students"]["demo_ada"]["graded_now"]
    assert again["students"]["demo_ada"]["total"] == 22
    assert again["students"]["broken"]["graded_now"]  # failures are tried again
    sequential = run_batch(root, A, workers=1, redo=True, check_reference=False)
    for student in ("demo_ada", "demo_grace"):
        assert sequential["students"][student]["graded_now"]
        assert sequential["students"][student]["total"] == first["students"][student]["total"]


def test_preflight_refuses_to_grade_when_the_reference_fails(tmp_path):
    root = _course(tmp_path)
    (root / "graders" / A / "test_impossible.py").write_text(
        "import pytest\n\n\n@pytest.mark.graded('test_mse')\ndef test_never(student):\n"
        '    """An impossible check."""\n    assert student.mse_loss is None, "impossible"\n'
    )
    with pytest.raises(PreflightError, match="does not earn full marks here .*test_mse"):
        preflight(root, A)
    assert not (root / "autograded").exists()


def test_reasons_in_words():
    assert "kernel died" in reason_from_log("[AutogradeApp | ERROR] DeadKernelError: Kernel died")
    assert "renamed or missing" in reason_from_log("No notebooks found, did you forget")
    assert (
        reason_from_log("[AutogradeApp | ERROR] Something odd")
        == "[AutogradeApp | ERROR] Something odd"
    )


def test_progress_is_shown_on_a_terminal_only():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        progress = Progress(2, stream)
        progress.update("alice")
        progress.update("bob")
    assert "2/2" in tty.getvalue() and "bob" in tty.getvalue() and "/min" in tty.getvalue()
    assert pipe.getvalue() == ""


def test_large_files_written_while_grading_are_not_kept(tmp_path):
    from dlcourse.batch import _drop_large_files

    folder = tmp_path / "autograded" / "s" / A
    (folder / "data").mkdir(parents=True)
    (folder / "big.bin").write_bytes(b"x" * 3000)
    (folder / "data" / "huge.npy").write_bytes(b"x" * 5000)
    (folder / "weights.pt").write_bytes(b"x" * 100)
    (folder / f"{A}.ipynb").write_bytes(b"x" * 9000)  # notebooks are always kept
    notes = _drop_large_files(folder, limit=1000)
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == [f"{A}.ipynb", "weights.pt"]
    assert len(notes) == 2 and all("was not kept" in n for n in notes)
    assert any(n.startswith("big.bin") for n in notes)
    assert _drop_large_files(tmp_path / "missing") == []
