"""Paths of the course and readers of grade reports, shared by the tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def source_notebook(assignment: str) -> Path:
    return ROOT / "source" / assignment / f"{assignment}.ipynb"


def release_notebook(assignment: str) -> Path:
    return ROOT / "release" / assignment / f"{assignment}.ipynb"


def scores(report: dict) -> dict[str, float]:
    return {gid: cell["score"] for gid, cell in report["cells"].items()}


def messages(report: dict, grade_id: str) -> list[str]:
    return [c["message"] for c in report["cells"][grade_id]["checks"] if c["outcome"] != "passed"]
