"""The batch command: pre-flight (files checked against the manifest or git,
the reference at full marks, the blank release at 0), parallel workers with
sequential scores, resume, reports that tell 0 from "could not be graded",
and its exit status."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from course import ROOT

from dlcourse.batch import (
    PreflightError,
    Progress,
    _environment_problems,
    preflight,
    reason_from_log,
    run_batch,
)
from dlcourse.manifest import verify_course_files, write_manifest

A = "02_layers"


def _course(tmp: Path) -> Path:
    for name in ("source", "graders"):
        shutil.copytree(
            ROOT / name / A, tmp / name / A, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copytree(ROOT / "release" / A, tmp / "release" / A)
    shutil.copy(ROOT / "nbgrader_config.py", tmp)
    shutil.copy(ROOT / "constraints.txt", tmp)
    # not a git checkout: the pre-flight checks the files against this
    write_manifest(tmp, A)
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
    write_manifest(root, A)  # the instructor reviewed the new check
    with pytest.raises(PreflightError, match="does not earn full marks here .*test_mse"):
        preflight(root, A)
    assert not (root / "autograded").exists()


# test_losses.py replaced by checks that pass whatever the student wrote
ALWAYS_PASSES = "import pytest\n" + "".join(
    f"\n\n@pytest.mark.graded({cell!r})\ndef test_{cell}_passes(student):\n"
    '    """A check that passes whatever the student wrote."""\n'
    for cell in ("test_mse", "test_bce", "test_softmax_ce")
)


def test_preflight_refuses_when_the_blank_release_earns_points(tmp_path):
    root = _course(tmp_path)
    (root / "graders" / A / "test_losses.py").write_text(ALWAYS_PASSES)
    write_manifest(root, A)
    with pytest.raises(
        PreflightError, match=r"blank release of 02_layers .*test_mse: 1 of 1, test_bce: 2 of 2"
    ):
        preflight(root, A)
    assert not (root / "autograded").exists()


def test_preflight_refuses_when_a_grader_changed_after_the_manifest(tmp_path):
    root = _course(tmp_path)
    grader = root / "graders" / A / "test_losses.py"
    grader.write_text(ALWAYS_PASSES)
    (root / "graders" / A / "test_extra.py").write_text("")
    (root / "source" / A / f"{A}.ipynb").unlink()
    (root / "source" / A / f"{A}.ipynb").write_text("{}")
    with pytest.raises(PreflightError) as refused:
        preflight(root, A)
    message = str(refused.value)
    for changed in (
        "graders/02_layers/test_losses.py (changed)",
        "graders/02_layers/test_extra.py (added)",
        "source/02_layers/02_layers.ipynb (changed)",
    ):
        assert changed in message, message
    assert "Nothing was graded" in message and "dlcourse manifest 02_layers" in message
    assert not (root / "autograded").exists() and not (root / "gradebook.db").exists()
    # a file removed, and __pycache__ (written by Python) ignored
    write_manifest(root, A)
    (root / "graders" / A / "__pycache__").mkdir()
    (root / "graders" / A / "__pycache__" / "x.pyc").write_bytes(b"x")
    (root / "graders" / A / "test_extra.py").unlink()
    with pytest.raises(PreflightError, match=r"test_extra.py \(removed\)"):
        preflight(root, A)


def test_preflight_refuses_without_a_manifest_outside_git(tmp_path):
    root = _course(tmp_path)
    (root / "manifests" / f"{A}.json").unlink()
    with pytest.raises(PreflightError, match="not a git checkout and has no manifests/02_layers"):
        preflight(root, A)
    (root / "manifests" / f"{A}.json").write_text("garbage")
    with pytest.raises(PreflightError, match="cannot be read"):
        preflight(root, A)


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def test_in_a_git_checkout_the_files_are_checked_against_the_commit(tmp_path):
    root = _course(tmp_path / "repo" / "course")
    (root / "manifests" / f"{A}.json").unlink()
    _git(tmp_path / "repo", "init", "-q")
    _git(tmp_path / "repo", "add", "-A")
    _git(tmp_path / "repo", "commit", "-q", "-m", "course")
    assert verify_course_files(root, A) == "the git commit (HEAD)"
    (root / "graders" / A / "__pycache__").mkdir()
    (root / "graders" / A / "__pycache__" / "x.pyc").write_bytes(b"x")
    assert verify_course_files(root, A) == "the git commit (HEAD)"

    (root / "graders" / A / "test_losses.py").write_text(ALWAYS_PASSES)
    (root / "graders" / A / "test_new.py").write_text("")
    (root / ".gitignore").write_text("ignored.py\n")
    (root / "graders" / A / "ignored.py").write_text("")
    (root / "graders" / "conftest.py").write_text("")  # pytest loads it too
    with pytest.raises(PreflightError) as refused:
        preflight(root, A)
    message = str(refused.value)
    for changed in (
        "course/graders/02_layers/test_losses.py (changed since HEAD)",
        "course/graders/02_layers/test_new.py (not in git)",
        "course/graders/02_layers/ignored.py (ignored by git)",
        "course/graders/conftest.py (not in git)",
    ):
        assert changed in message, message
    _git(tmp_path / "repo", "add", "-A", "-f")
    with pytest.raises(PreflightError, match="test_losses.py"):  # staged is not committed
        preflight(root, A)
    _git(tmp_path / "repo", "commit", "-q", "-m", "reviewed")
    assert verify_course_files(root, A) == "the git commit (HEAD)"
    # a manifest, when there is one, must match as well
    write_manifest(root, A)
    (root / "graders" / A / "test_new.py").write_text("import os\n")
    _git(tmp_path / "repo", "commit", "-q", "-a", "-m", "changed after the manifest")
    with pytest.raises(PreflightError, match=r"test_new.py \(changed\) since the manifest"):
        preflight(root, A)


def test_reasons_in_words():
    assert "kernel died" in reason_from_log("[AutogradeApp | ERROR] DeadKernelError: Kernel died")
    assert "renamed or missing" in reason_from_log("No notebooks found, did you forget")
    refused = "the submission was refused: x.ipynb is a symbolic link"
    assert reason_from_log(f"[AutogradeApp | ERROR] UnsafeSubmission: {refused}\n") == refused
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


def test_files_not_kept_become_a_few_notes():
    from dlcourse.batch import MAX_NOT_KEPT_NOTES, _not_kept

    log = "\n".join(
        f"[AutogradeApp | WARNING] not kept: many/{i}.txt was not kept: it is a symbolic link"
        for i in range(40)
    )
    log += "\n[AutogradeApp | INFO] student printed: not kept: nothing\n"
    notes = _not_kept(log)
    assert len(notes) == MAX_NOT_KEPT_NOTES + 1
    assert notes[0] == "many/0.txt was not kept: it is a symbolic link"
    assert notes[-1] == f"and {40 - MAX_NOT_KEPT_NOTES} more files the notebook wrote were not kept"
    assert _not_kept("[AutogradeApp | INFO] done") == []


def test_the_preflight_checks_the_pins_without_importing_torch(tmp_path):
    """The versions come from the installed distributions' metadata (importing
    torch only to read its version cost every batch 2.3 s), and a pin that
    differs is named with the installed version."""
    import importlib.metadata

    code = (
        "import sys; from pathlib import Path; "
        "from dlcourse.batch.preflight import _environment_problems; "
        f"problems = _environment_problems(Path({str(ROOT)!r}), '02_layers'); "
        "print(problems, 'torch' in sys.modules)"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert ran.stdout.strip() == "[] False", ran.stdout + ran.stderr
    shutil.copytree(ROOT / "source" / "02_layers", tmp_path / "source" / "02_layers")
    (tmp_path / "constraints.txt").write_text("torch==0.0.0\nnumpy==0.0.0\n")
    problems = _environment_problems(tmp_path, "02_layers")
    torch = importlib.metadata.version("torch")
    assert (
        f"torch {torch} is installed but the course pins 0.0.0 (bash scripts/install.sh)"
        in problems
    )
    assert any(p.startswith("numpy ") and "pins 0.0.0" in p for p in problems)
