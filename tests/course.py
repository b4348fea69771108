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


def solution_lines(assignment: str) -> set[str]:
    """Lines (over 12 characters) between BEGIN and END SOLUTION in the source
    notebook: what no feedback page may show unless the student wrote it."""
    import nbformat

    nb = nbformat.read(str(source_notebook(assignment)), as_version=4)
    lines, inside = set(), False
    for cell in nb.cells:
        for line in cell.source.splitlines():
            if "BEGIN SOLUTION" in line:
                inside = True
            elif "END SOLUTION" in line:
                inside = False
            elif inside and len(line.strip()) > 12:
                lines.add(line.strip())
    return lines


def grader_lines(assignment: str) -> set[str]:
    """Code lines (over 25 characters, no comments or imports) of the hidden
    graders: what no output or feedback page may show."""
    return {
        line.strip()
        for path in (ROOT / "graders" / assignment).glob("*.py")
        for line in path.read_text().splitlines()
        if len(line.strip()) > 25 and not line.strip().startswith(("#", '"""', "import", "from"))
    }


def scratch_course(root: Path, assignment: str, graders: dict[str, str]) -> Path:
    """A course at ``root`` with ``assignment``'s source, the course's
    nbgrader_config.py and the given grader files (name -> text)."""
    import shutil

    shutil.copytree(ROOT / "source" / assignment, root / "source" / assignment)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    (root / "graders" / assignment).mkdir(parents=True)
    for name, text in graders.items():
        (root / "graders" / assignment / name).write_text(text)
    return root


def submit_reference(root: Path, assignment: str, student: str) -> None:
    """``student`` hands in the reference solution, filled into the release."""
    import nbformat

    from dlcourse.filled_submission import filled_submission

    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True)
    nb = filled_submission(release_notebook(assignment), source_notebook(assignment))
    nbformat.write(nb, str(folder / f"{assignment}.ipynb"))


def nbgrader_cell(code: str, grade_id: str, kind: str):
    """A code cell with nbgrader's metadata; ``kind``: "answer", "graded" (1
    point), "setup" or "display" (locked; "display": run only in a whole run)."""
    import nbformat

    cell = nbformat.v4.new_code_cell(code)
    meta = {"grade_id": grade_id, "locked": kind != "answer", "solution": kind == "answer"}
    meta["grade"] = kind == "graded"
    if kind == "graded":
        meta["points"] = 1
    cell.metadata["nbgrader"] = meta
    if kind == "display":
        cell.metadata["dlcourse"] = {"role": "display"}
    return cell
