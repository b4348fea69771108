"""Processes the course starts skip jsonschema's slow ``iri`` checker and
otherwise behave as the stock commands."""

import subprocess
import sys
import textwrap

from dlcourse.startup import nbgrader_command


def test_graders_pytest_validates_notebooks_without_the_slow_module(tmp_path):
    (tmp_path / "test_probe.py").write_text(
        textwrap.dedent(
            """
            import sys

            import nbformat


            def test_probe():
                nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
                nbformat.validate(nb)  # jsonschema is in use ...
                assert "jsonschema" in sys.modules
                # ... but did not import the module it does not need
                assert sys.modules.get("rfc3987_syntax") is None
            """
        )
    )
    cmd = [sys.executable, "-m", "dlcourse.startup", "pytest", "-q", "-p", "no:cacheprovider"]
    ok = subprocess.run([*cmd, str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "1 passed" in ok.stdout
    # a failing test still fails through the wrapper
    (tmp_path / "test_fails.py").write_text("def test_fails():\n    assert False\n")
    bad = subprocess.run([*cmd, str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1, bad.stdout + bad.stderr


def test_nbgrader_runs_and_reports_failure(tmp_path):
    version = subprocess.run(nbgrader_command("--version"), capture_output=True, text=True)
    assert version.returncode == 0, version.stderr
    assert "nbgrader version" in version.stdout
    # an unknown assignment is an error, as with the stock command
    bad = subprocess.run(
        nbgrader_command("autograde", "no_such_assignment"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode != 0


def test_unknown_tool_is_refused():
    out = subprocess.run(
        [sys.executable, "-m", "dlcourse.startup", "jupyter"], capture_output=True, text=True
    )
    assert out.returncode != 0
    assert "usage: python -m dlcourse.startup" in out.stderr
