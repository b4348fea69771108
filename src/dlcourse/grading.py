"""Running the hidden graders of one assignment on one notebook file.

The graders run in their own trusted Python process (``pytest`` with this
package's plugin); student code runs in sandboxes that process starts. The
result is the plugin's grade report: per test and per graded cell.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def run_hidden_graders(
    notebook: str | Path,
    assignment: str,
    root: str | Path,
    timeout: float = 900.0,
    seed: int | None = None,
    graders_dir: str = "graders",
) -> dict:
    """Grade ``notebook`` with ``<root>/<graders_dir>/<assignment>``.

    Returns the grade report (``cells``: grade_id -> points, fraction,
    score, checks). On failure to run at all, returns ``{"error": sentence}``
    and puts the graders' output under ``"log"`` for the instructor.
    """
    root = Path(root).resolve()
    graders = root / graders_dir / assignment
    with tempfile.TemporaryDirectory(prefix="dlcourse-grade-") as tmp:
        report_path = Path(tmp) / "report.json"
        cmd = [
            sys.executable, "-m", "dlcourse.startup", "pytest", str(graders),
            "--submission", str(Path(notebook).resolve()),
            "--grade-report", str(report_path),
            "--course-root", str(root),
            "--rootdir", str(root),
            "-q", "-p", "no:cacheprovider",
        ]  # fmt: skip
        if seed is not None:
            cmd += ["--grading-seed", str(seed)]
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        try:
            proc = subprocess.run(
                cmd,
                cwd=str(root),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"the hidden graders did not finish within {timeout:.0f} s", "log": ""}
        if not report_path.exists():
            return {
                "error": "the hidden graders could not run (the instructor has been told)",
                "log": (proc.stdout + proc.stderr)[-4000:],
            }
        report = json.loads(report_path.read_text())
        report["log"] = proc.stdout[-4000:]
        return report
