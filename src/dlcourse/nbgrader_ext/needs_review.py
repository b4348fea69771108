"""nbgrader's SaveAutoGrades, flagging the cells whose hidden checks did not
all run for grading by hand.

A grader that raises on an answer (a bug in the course, a machine that
failed) is the course's failure: the cell keeps the score of the checks
that did run, provisionally, and the gradebook marks it
``needs_manual_grade`` so that formgrader lists it for the instructor.
:class:`~dlcourse.nbgrader_ext.hidden_graders.HiddenGraders` names those
cells in ``resources``; stock SaveAutoGrades would mark them fully
auto-graded.
"""

from __future__ import annotations

from nbgrader.preprocessors import SaveAutoGrades

from dlcourse.nbgrader_ext.hidden_graders import NEEDS_REVIEW


class SaveAutoGradesForReview(SaveAutoGrades):
    """SaveAutoGrades, then ``needs_manual_grade`` for the cells listed under
    ``resources[NEEDS_REVIEW]`` (a list of grade_ids)."""

    def _add_score(self, cell, resources) -> None:
        super()._add_score(cell, resources)
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        if grade_id not in resources.get(NEEDS_REVIEW, ()):
            return
        grade = self.gradebook.find_grade(
            grade_id, self.notebook_id, self.assignment_id, self.student_id
        )
        # an instructor's score given earlier stands; the flag asks for a look
        grade.needs_manual_grade = True
        self.gradebook.db.commit()
