"""Gradescope's autograder format (``results.json``) from a grade report.

Each hidden check becomes one Gradescope test worth its share of the graded
cell's points (points x weight / total weight of the cell's checks), with the
check's sentence as its output, so courses that collect on Gradescope can run
the same graders there (``dlcourse gradescope NOTEBOOK``).
"""

from __future__ import annotations

from dlcourse.reports.store import ungradable_reason


def gradescope_results(report: dict, visibility: str = "visible") -> dict:
    """``report``: the hidden graders' report. Returns the results.json dict."""
    reason = ungradable_reason(report)
    tests = []
    total = 0.0
    for grade_id, cell in report.get("cells", {}).items():
        checks = cell.get("checks", [])
        weight = sum(c["weight"] for c in checks) or 1.0
        for check in checks:
            share = cell["points"] * check["weight"] / weight
            earned = share if check["outcome"] == "passed" and not reason else 0.0
            total += earned
            tests.append(
                {
                    "name": f"{grade_id}: {check['check']}",
                    # unrounded, so the shares add up to the cell's points
                    "score": earned,
                    "max_score": share,
                    "output": reason or check.get("message", ""),
                    "visibility": visibility,
                }
            )
    results = {"score": round(total, 4), "tests": tests, "visibility": visibility}
    if reason:
        results["output"] = f"This submission could not be graded: {reason}"
    return results
