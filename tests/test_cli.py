"""The course CLI starts fast: importing it loads neither nbgrader, torch nor
jsonschema (nbgrader runs as a subprocess; the gradebook is opened only by
the commands that read it)."""

import json
import subprocess
import sys

from course import ROOT

from dlcourse.cli import assignments, course_root


def test_importing_the_cli_loads_nothing_heavy():
    probe = "import json, sys, dlcourse.cli; print(json.dumps(sorted(sys.modules)))"
    loaded = set(
        json.loads(
            subprocess.run(
                [sys.executable, "-c", probe], capture_output=True, text=True, check=True
            ).stdout
        )
    )
    assert "dlcourse.cli" in loaded
    assert not {"nbgrader", "torch", "jsonschema", "numpy", "nbformat"} & loaded


def test_help_lists_the_commands():
    out = subprocess.run(
        [sys.executable, "-m", "dlcourse.cli", "--help"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    for command in (
        "release",
        "autograde",
        "scores",
        "feedback",
        "export",
        "summary",
        "gradescope",
        "demo",
    ):
        assert command in out


def test_course_root_is_found_from_a_subfolder(tmp_path):
    assert course_root(ROOT / "graders") == ROOT
    assert "02_layers" in assignments(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "dlcourse.cli", "scores", "x"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode != 0 and "no course folder" in proc.stderr
