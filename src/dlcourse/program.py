"""What the sandbox runs to grade one graded cell.

Each graded cell is graded in a namespace where its own answer cells hold
the student's code and every other answer cell holds the student's
definitions *followed by* the reference solution; the setup cells'
definitions are restored at the end, so no answer cell can replace a helper
the graders rely on. A mistake therefore costs
points only in the cell it is made in (a broken ``softmax`` does not also
sink the cross-entropy), while the student's own helpers stay defined.
"""

from __future__ import annotations

from dlcourse.sandbox import Cell
from dlcourse.submission import (
    Notebook,
    definitions_only,
    strip_magics,
    strip_solution_markers,
    student_helpers,
)

REFERENCE_SUFFIX = " (reference)"


def program_for(grade_id: str, reference: Notebook, student: Notebook | None) -> list[Cell]:
    """Cells to run, in notebook order, before grading ``grade_id``.

    ``reference``: the instructor's notebook (defines the layout and the
    setup cells); ``student``: the submission, or None to grade the
    reference itself.
    """
    own = set(reference.graded[grade_id].answers)
    cells: list[Cell] = []
    for role, key in reference.order:
        if role == "setup":
            cells.append(Cell(f"setup{REFERENCE_SUFFIX}", strip_magics(reference.setup[key])))
            continue
        if key in reference.runs and key not in own:
            continue  # the notebook's experiment: judged from its run, never re-run here
        ref_code = strip_magics(strip_solution_markers(reference.answers[key]))
        if key in own:
            code = ref_code if student is None else strip_magics(student.answers.get(key, ""))
            cells.append(Cell(key, code))
            continue
        if student is not None and key in student.answers:
            helpers = student_helpers(strip_magics(student.answers[key]), ref_code)
            if helpers:
                cells.append(Cell(key, helpers, fatal=False))
        cells.append(Cell(key + REFERENCE_SUFFIX, ref_code))
    # Locked setup code is the instructor's: graders may call its helpers as
    # trusted tools (data makers, program evaluators), so a student's answer
    # cell must not replace them. Its definitions are restored last.
    for role, key in reference.order:
        if role == "setup":
            restored = definitions_only(strip_magics(reference.setup[key]))
            cells.append(Cell(f"setup{REFERENCE_SUFFIX}", restored))
    return cells
