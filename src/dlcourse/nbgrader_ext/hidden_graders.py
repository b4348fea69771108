"""nbgrader preprocessor: run the hidden graders and write scores into the cells.

Placed in ``Autograde.autograde_preprocessors`` right after ``Execute``. For
each notebook it writes the executed notebook to a temporary file, runs
``pytest graders/<assignment> --submission FILE`` in a separate, trusted
process (the student's code runs in sandboxes started by that process, never
in it), and replaces every graded cell's outputs with

1. a stdout stream: the per-check report (what passed, and for each failure
   one sentence naming the function, the quantity, the error, the tolerance);
2. an ``execute_result`` whose text is the score as a plain float in
   [0, points], which nbgrader's ``SaveAutoGrades`` reads as partial credit.

Nothing is ever written to a cell's stderr (nbgrader scores a cell with any
stderr output 0).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Unicode

from dlcourse.grading import run_hidden_graders
from dlcourse.nbgrader_ext.report import format_cell_report


class HiddenGraders(NbGraderPreprocessor):
    """Scores graded cells with the hidden pytest graders of the assignment."""

    enabled = Bool(True, help="Run the hidden graders (off: nbgrader's own scoring).").tag(
        config=True
    )

    graders_dir = Unicode(
        "graders",
        help="Folder of hidden graders (one subfolder per assignment), relative to the course root.",
    ).tag(config=True)

    course_root = Unicode(
        "",
        help="Course folder holding source/ and graders/ (default: CourseDirectory.root or the current folder).",
    ).tag(config=True)

    timeout = Float(
        900.0,
        help="Seconds the hidden graders may take for one notebook before it counts as ungradable.",
    ).tag(config=True)

    def _root(self) -> Path:
        if self.course_root:
            return Path(self.course_root).resolve()
        root = getattr(getattr(self, "parent", None), "coursedir", None)
        return Path(getattr(root, "root", None) or os.getcwd()).resolve()

    def preprocess(self, nb, resources):
        if not self.enabled:
            return nb, resources
        info = resources.get("nbgrader", {})
        assignment = info.get("assignment")
        notebook = info.get("notebook")
        root = self._root()
        graders = root / self.graders_dir / str(assignment)
        if not graders.is_dir():
            self.log.warning(
                "No hidden graders for %s in %s: scores come from the visible checks",
                assignment,
                graders,
            )
            return nb, resources
        if notebook != assignment:
            self.log.warning(
                "Notebook %s is not graded by hidden graders (only %s.ipynb is)",
                notebook,
                assignment,
            )
            return nb, resources
        report = self.run_graders(nb, root, graders, resources)
        self.apply(nb, report)
        self.save_report(root, info, report)
        return nb, resources

    def save_report(self, root: Path, info: dict, report: dict) -> None:
        """Keep the grade report for the instructor's exports, outside the
        student's folders: ``reports/<assignment>/<student>/<notebook>.json``."""
        from dlcourse.reports.store import write_report

        try:
            write_report(root, info["assignment"], info["student"], info["notebook"], report)
        except OSError as exc:
            self.log.error("Could not save the grade report: %s", exc)

    def run_graders(self, nb, root: Path, graders: Path, resources) -> dict:
        with tempfile.TemporaryDirectory(prefix="dlcourse-nb-") as tmp:
            submission = Path(tmp) / "submission.ipynb"
            nbformat.write(nb, str(submission))
            report = run_hidden_graders(
                submission, graders.name, root, self.timeout, graders_dir=self.graders_dir
            )
        if report.get("error"):
            self.log.error(
                "Hidden graders for %s failed: %s\n%s",
                graders,
                report["error"],
                report.get("log", ""),
            )
        return report

    def apply(self, nb, report: dict) -> None:
        cells = report.get("cells", {})
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            grade_id = meta.get("grade_id")
            points = float(meta.get("points", 0))
            result = cells.get(grade_id)
            if report.get("error") or report.get("submission_error"):
                reason = report.get("error") or report.get("submission_error")
                score, text = 0.0, f"Not graded: {reason}.\n"
            elif result is None or result.get("fraction") is None:
                self.log.warning(
                    "Graded cell %s has no hidden checks; keeping nbgrader's own result", grade_id
                )
                continue
            else:
                score = min(max(float(result["score"]), 0.0), points)
                text = format_cell_report(grade_id, result, score, points)
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text=text),
                nbformat.v4.new_output(
                    "execute_result",
                    data={"text/plain": repr(float(round(score, 4)))},
                    execution_count=cell.get("execution_count"),
                ),
            ]
