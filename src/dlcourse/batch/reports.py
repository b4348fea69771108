"""The batch's reports: ``reports/<assignment>/batch.json`` (per student:
status, reason, notes, seconds, total and per-cell scores) and ``batch.csv``
(per student and graded cell), from the gradebook and the batch's results.
They tell "earned 0" from "could not be graded", with the reason in words."""

from __future__ import annotations

import json
from pathlib import Path


def write_reports(
    root: Path, assignment: str, summary: dict, results: dict, state, db_url: str
) -> dict:
    """Complete ``summary`` with ``students`` and ``ungradable`` from
    ``results`` (student -> StudentResult; "skipped" ones take their status
    from ``state``, a :class:`~dlcourse.batch.state.BatchState`) and the
    gradebook at ``db_url``; write batch.json and batch.csv; return it."""
    from dlcourse.reports.cell_export import cell_rows, to_csv

    rows = cell_rows(root, assignment, db_url=db_url)
    per_student = {}
    for student, result in sorted(results.items()):
        mine = [r for r in rows if r["student"] == student]
        status = result.status
        if status == "skipped":
            previous = state.data.get(student, {})
            status = previous.get("status", "graded")
        per_student[student] = {
            "status": status,
            "graded_now": result.status != "skipped",
            "reason": result.reason if result.status != "skipped" else "",
            "notes": result.notes,
            "seconds": round(result.seconds, 1),
            "total": sum(float(r["score"]) for r in mine if r["score"] not in ("", None)),
            "cells": {
                r["cell"]: {
                    k: r[k] for k in ("score", "max_score", "status", "reason", "failed_checks")
                }
                for r in mine
            },
        }
    summary["students"] = per_student
    summary["ungradable"] = sorted(
        s for s, v in per_student.items() if v["status"] == "could not be graded"
    )
    out = root / "reports" / assignment
    out.mkdir(parents=True, exist_ok=True)
    (out / "batch.json").write_text(json.dumps(summary, indent=1))
    batch_rows = [r for r in rows if r["student"] in per_student]
    for r in batch_rows:
        if (
            per_student[r["student"]]["status"] == "could not be graded"
            and r["status"] != "could not be graded"
        ):
            r["status"], r["reason"], r["score"] = (
                "could not be graded",
                per_student[r["student"]]["reason"],
                "",
            )
    (out / "batch.csv").write_text(to_csv(batch_rows))
    return summary
