"""The per-check report written into a graded cell, in words a student can use."""

from __future__ import annotations

import math

# what a student reads where a grader could not run (its exception and
# traceback go to the instructor only)
NOT_RUN = (
    "the course's graders could not run this check (not a mistake of yours); "
    "your instructor has been told and will grade this cell by hand"
)


def format_score(value, digits: int = 2) -> str:
    """A score as a person reads it: rounded to ``digits`` decimals, trailing
    zeros dropped (3.6923 -> "3.69", 4.0 -> "4", 3.5 -> "3.5", -0.001 -> "0").

    For text only: files a program reads (the gradebook, the graders' JSON
    report, the execute_result nbgrader reads as partial credit, batch.json,
    the CSV exports) keep the exact value."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return str(number)
    text = f"{round(number, digits):.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_cell_report(grade_id: str, result: dict, score: float, points: float) -> str:
    """``result``: one entry of the grade report's ``cells`` (checks with
    outcome, weight and message). Lists every check; failures get their
    sentence. Never includes grader code, inputs or tracebacks."""
    checks = result.get("checks", [])
    passed = sum(1 for c in checks if c["outcome"] == "passed")
    not_run = sum(1 for c in checks if c["outcome"] == "error")
    counted = f"{passed} of {len(checks) - not_run} checks passed"
    if not_run:
        counted += f"; {not_run} could not be run"
    score_text = f"{format_score(score)} / {format_score(points)} points"
    if not_run:
        score_text = f"provisionally {score_text}"
    lines = [f"Hidden checks for {grade_id}: {score_text} ({counted})"]
    for check in checks:
        if check["outcome"] == "error":
            lines.append(f"  NOT RUN {check['check']}\n         -> {NOT_RUN}")
            continue
        mark = "ok    " if check["outcome"] == "passed" else "FAILED"
        line = f"  {mark} {check['check']}"
        if check["outcome"] != "passed" and check.get("message"):
            line += f"\n         -> {check['message']}"
        lines.append(line)
    return "\n".join(lines) + "\n"
