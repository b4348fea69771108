"""release/ is what `nbgrader generate_assignment` makes of source/, byte for byte."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from course import ROOT

ASSIGNMENTS = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_matches_source(tmp_path, assignment):
    shutil.copytree(ROOT / "source" / assignment, tmp_path / "source" / assignment)
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    subprocess.run(
        ["nbgrader", "generate_assignment", assignment, "--force"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    fresh = sorted(
        p.relative_to(tmp_path / "release")
        for p in (tmp_path / "release").rglob("*")
        if p.is_file()
    )
    committed = sorted(
        p.relative_to(ROOT / "release")
        for p in (ROOT / "release" / assignment).rglob("*")
        if p.is_file()
    )
    assert fresh == committed, "files differ: run `dlcourse release` and commit release/"
    for rel in fresh:
        assert (tmp_path / "release" / rel).read_bytes() == (ROOT / "release" / rel).read_bytes(), (
            f"release/{rel} is out of date: run `dlcourse release {assignment}` and commit it"
        )


def test_release_has_no_solutions_or_graders():
    for path in (ROOT / "release").rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert "BEGIN SOLUTION" not in text, path
            assert "BEGIN HIDDEN TESTS" not in text, path
            assert not path.name.startswith("test_"), path
