"""Shared fixtures of the library tests."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from course import ROOT


@pytest.fixture
def grade(tmp_path):
    """grade(notebook_node_or_path, assignment) -> the hidden graders' report."""
    from dlcourse.grading import run_hidden_graders

    def run(nb, assignment: str, seed: int | None = None) -> dict:
        if isinstance(nb, (str, Path)):
            path = Path(nb)
        else:
            path = tmp_path / f"{assignment}.ipynb"
            nbformat.write(nb, str(path))
        report = run_hidden_graders(path, assignment, ROOT, timeout=1500, seed=seed)
        assert "error" not in report, report
        return report

    return run
