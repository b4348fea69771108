"""The manifest of the files that grade an assignment: what it records, and
the `dlcourse manifest` command that writes it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from course import ROOT

from dlcourse.manifest import course_files, manifest_changes, verify_course_files

A = "02_layers"


def _course(tmp):
    for name in ("source", "graders"):
        shutil.copytree(
            ROOT / name / A, tmp / name / A, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "nbgrader_config.py", tmp)
    return tmp


def _cli(root, *args):
    proc = subprocess.run(
        [sys.executable, "-m", "dlcourse.cli", *args],
        cwd=root / "graders",  # the course is found from a subfolder
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_release_outside_git_and_the_manifest_command_record_the_files(tmp_path):
    root = _course(tmp_path)
    _cli(root, "release", A)  # not a git checkout: the release is the record
    assert verify_course_files(root, A) == f"manifests/{A}.json"
    (root / "graders" / A / "test_linear.py").write_text("")
    assert manifest_changes(root, A) == [f"graders/{A}/test_linear.py (changed)"]
    _cli(root, "manifest", A)
    assert manifest_changes(root, A) == []
    data = json.loads((root / "manifests" / f"{A}.json").read_text())
    files = data["files"]
    assert f"graders/{A}/conftest.py" in files and f"source/{A}/{A}.ipynb" in files
    assert all(len(digest) == 64 for digest in files.values())
    assert verify_course_files(root, A) == f"manifests/{A}.json"


def test_links_shared_conftests_and_caches(tmp_path):
    root = _course(tmp_path)
    before = course_files(root, A)
    (root / "graders" / A / "__pycache__").mkdir()
    (root / "graders" / A / "__pycache__" / "conftest.cpython-311.pyc").write_bytes(b"x")
    assert course_files(root, A) == before  # Python's own cache is not the course's
    (root / "elsewhere").mkdir()
    os.symlink(root / "elsewhere", root / "graders" / A / "linked")
    os.symlink("/etc/hostname", root / "graders" / A / "test_link.py")
    (root / "graders" / "conftest.py").write_text("")
    files = course_files(root, A)
    assert files[f"graders/{A}/linked"] == f"symlink:{root / 'elsewhere'}"  # never followed
    assert files[f"graders/{A}/test_link.py"] == "symlink:/etc/hostname"
    assert "graders/conftest.py" in files
    assert manifest_changes(root, A) is None  # no manifest yet
