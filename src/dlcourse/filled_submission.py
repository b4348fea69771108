"""Making submissions from the release: the reference solution filled in, a
known mistake planted, or the release left blank.

Used by the tests (full marks for the reference, zero for the blank release,
points lost for each catalogued mistake), by the demo, and by the batch
pre-flight check.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from dlcourse.submission import strip_solution_markers


def filled_submission(
    release: str | Path,
    source: str | Path,
    replace: dict[str, str] | None = None,
    append: dict[str, str] | None = None,
):
    """The release notebook with every answer cell holding the reference
    solution (markers removed), as a student who solved it would submit.

    ``replace``: grade_id -> code that replaces that answer cell entirely;
    ``append``: grade_id -> code added at the end of that answer cell (how a
    catalogued mistake redefines one function). Returns a NotebookNode.
    """
    release_nb = nbformat.read(str(release), as_version=4)
    source_nb = nbformat.read(str(source), as_version=4)
    solutions = {}
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            solutions[meta["grade_id"]] = strip_solution_markers(cell.source)
    nb = copy.deepcopy(release_nb)
    replace = replace or {}
    append = append or {}
    unknown = (set(replace) | set(append)) - set(solutions)
    if unknown:
        raise KeyError(f"no answer cell named {sorted(unknown)}")
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if not meta.get("solution"):
            continue
        code = replace.get(grade_id, solutions[grade_id])
        if grade_id in append:
            code = code.rstrip("\n") + "\n\n\n" + append[grade_id].strip("\n") + "\n"
        cell.source = code
    return nb
