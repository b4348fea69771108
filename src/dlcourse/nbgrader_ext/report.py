"""The per-check report written into a graded cell, in words a student can use."""

from __future__ import annotations


def format_cell_report(grade_id: str, result: dict, score: float, points: float) -> str:
    """``result``: one entry of the grade report's ``cells`` (checks with
    outcome, weight and message). Lists every check; failures get their
    sentence. Never includes grader code, inputs or tracebacks."""
    checks = result.get("checks", [])
    passed = sum(1 for c in checks if c["outcome"] == "passed")
    lines = [
        f"Hidden checks for {grade_id}: {score:g} / {points:g} points "
        f"({passed} of {len(checks)} checks passed)"
    ]
    for check in checks:
        mark = "ok    " if check["outcome"] == "passed" else "FAILED"
        line = f"  {mark} {check['check']}"
        if check["outcome"] != "passed" and check.get("message"):
            line += f"\n         -> {check['message']}"
        lines.append(line)
    return "\n".join(lines) + "\n"
