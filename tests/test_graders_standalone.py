"""`pytest graders/<assignment>` with no --submission grades the reference
solution in source/ and passes; its summary lists every graded cell."""

import subprocess
import sys

import nbformat
import pytest
from course import ROOT, source_notebook

ASSIGNMENTS = sorted(p.name for p in (ROOT / "graders").iterdir() if p.is_dir())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_passes_standalone(assignment):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", f"graders/{assignment}", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    nb = nbformat.read(str(source_notebook(assignment)), as_version=4)
    graded = [
        c.metadata["nbgrader"]
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    ]
    assert graded
    for meta in graded:
        line = f"{meta['grade_id']}"
        assert any(
            row.split()[:1] == [line] and row.split()[1] == f"{float(meta['points']):.2f}"
            for row in proc.stdout.splitlines()
            if row.strip()
        ), f"{line} missing or not full marks in:\n{proc.stdout[-2000:]}"
