"""Per student and per graded cell, as CSV: the export nbgrader lacks.

Each row says whether the cell was graded, could not be graded (and why, in
words), needs manual grading, or was not submitted, so an honest 0 is never
confused with a notebook the graders could not run.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from dlcourse.reports.store import checks_not_run, read_report, ungradable_reason

GRADED = "graded"
UNGRADABLE = "could not be graded"
MANUAL = "needs manual grading"
MISSING = "not submitted"
COLUMNS = [
    "student",
    "assignment",
    "notebook",
    "cell",
    "max_score",
    "score",
    "status",
    "reason",
    "failed_checks",
]


def _submitted(root: Path, assignment: str) -> set[str]:
    return {p.parent.name for p in (root / "submitted").glob(f"*/{assignment}") if p.is_dir()}


def cell_rows(root: Path, assignment: str, db_url: str | None = None) -> list[dict]:
    """One dict per (student, graded cell) with the COLUMNS keys, from the
    gradebook at ``db_url`` (default: gradebook.db in ``root``)."""
    from nbgrader.api import Gradebook, MissingEntry

    root = Path(root)
    has_graders = (root / "graders" / assignment).is_dir()
    rows: list[dict] = []
    with Gradebook(db_url or "sqlite:///" + str(root / "gradebook.db")) as gb:
        source = gb.find_assignment(assignment)
        cells = [(nb.name, cell) for nb in source.notebooks for cell in nb.grade_cells]
        students = sorted({s.id for s in gb.students} | _submitted(root, assignment))
        submitted = _submitted(root, assignment)
        for student in students:
            try:
                gb.find_submission(assignment, student)
                in_gradebook = True
            except MissingEntry:
                in_gradebook = False
            for nb_name, cell in cells:
                row = {
                    "student": student,
                    "assignment": assignment,
                    "notebook": nb_name,
                    "cell": cell.name,
                    "max_score": cell.max_score,
                    "score": "",
                    "status": GRADED,
                    "reason": "",
                    "failed_checks": "",
                    "_failed_names": [],
                }
                autograded = root / "autograded" / student / assignment / f"{nb_name}.ipynb"
                if student not in submitted and not in_gradebook:
                    row["status"] = MISSING
                elif not in_gradebook or not autograded.exists():
                    # nbgrader itself failed on this notebook: its gradebook
                    # entries, if any, are placeholders, not grades
                    row["status"] = UNGRADABLE
                    row["reason"] = (
                        "nbgrader could not autograde this notebook (see the autograde log)"
                    )
                else:
                    grade = gb.find_grade(cell.name, nb_name, assignment, student)
                    report = (
                        read_report(root, assignment, student, nb_name) if has_graders else None
                    )
                    reason = (
                        ungradable_reason(report)
                        if has_graders and cell.cell_type == "code"
                        else None
                    )
                    not_run = checks_not_run(report, cell.name)
                    if reason:
                        row["status"], row["reason"] = UNGRADABLE, reason
                    elif not_run and grade.manual_score is None:
                        # the course's failure on this cell: flagged for the
                        # instructor, and not shown as a grade until then
                        row["status"], row["reason"] = UNGRADABLE, not_run
                    elif grade.needs_manual_grade:
                        row["status"] = MANUAL
                    else:
                        row["score"] = grade.score
                    if report and cell.name in report.get("cells", {}):
                        failed = [
                            c
                            for c in report["cells"][cell.name]["checks"]
                            if c["outcome"] != "passed"
                        ]
                        row["failed_checks"] = " | ".join(c["message"] for c in failed)
                        row["_failed_names"] = [c["check"] for c in failed]
                rows.append(row)
    return rows


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
