"""Where the per-submission grade reports live, and how to read them.

``reports/<assignment>/<student>/<notebook>.json`` holds the hidden graders'
report (per check and per graded cell) for the last autograde of that
submission. It sits outside ``autograded/`` and ``feedback/`` on purpose:
nbgrader copies every non-notebook file of those folders to the student.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from dlcourse.nbgrader_ext.report import format_score


def report_path(root: Path, assignment: str, student: str, notebook: str) -> Path:
    return Path(root) / "reports" / assignment / student / f"{notebook}.json"


def write_report(root: Path, assignment: str, student: str, notebook: str, report: dict) -> None:
    """Write atomically, so a crash never leaves half a report."""
    path = report_path(root, assignment, student, notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump({k: v for k, v in report.items() if k != "log"}, fh, indent=1)
    os.replace(tmp, path)


def read_report(root: Path, assignment: str, student: str, notebook: str) -> dict | None:
    path = report_path(root, assignment, student, notebook)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def ungradable_reason(report: dict | None) -> str | None:
    """Why a submission could not be graded, or None when it was graded."""
    if report is None:
        return "no grade report (the hidden graders did not run)"
    return report.get("error") or report.get("submission_error")


def checks_not_run(report: dict | None, grade_id: str) -> str:
    """A sentence naming the hidden checks of ``grade_id`` that could not run
    (a grader error: the cell is flagged for manual grading), or "" when
    every check ran."""
    cell = ((report or {}).get("cells") or {}).get(grade_id) or {}
    errors = cell.get("grader_errors") or []
    if not errors:
        return ""
    first = errors[0]
    return (
        f"the hidden graders could not run {len(errors)} of its checks "
        f"({first.get('check')}: {first.get('message')}); provisional score "
        f"{format_score(cell.get('score'))} of {format_score(cell.get('points'))} "
        "from the checks that ran; "
        "flagged for manual grading"
    )[:600]
