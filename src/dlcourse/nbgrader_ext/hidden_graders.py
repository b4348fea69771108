"""nbgrader preprocessor: run the hidden graders and write scores into the cells.

Placed in ``Autograde.autograde_preprocessors`` right after ``Execute``. For
each notebook it writes the executed notebook to a temporary file, runs
``pytest graders/<assignment> --submission FILE`` in a separate, trusted
process (the student's code runs in sandboxes started by that process, never
in it), and replaces every graded cell's outputs with

1. a stdout stream: the per-check report (what passed, and for each failure
   one sentence naming the function, the quantity, the error, the tolerance);
2. an ``execute_result`` whose text is the score as a plain float in
   [0, points], which nbgrader's ``SaveAutoGrades`` reads as partial credit
   (exact), with an HTML rendering of it rounded for the feedback page.

Nothing is ever written to a cell's stderr (nbgrader scores a cell with any
stderr output 0).

It fails closed. When the graders themselves could not grade (see
:func:`dlcourse.grading.graders_problem`: they did not finish, pytest
stopped, a grader file did not import, no check ran) or a graded cell of the
notebook has no hidden result, it raises :class:`HiddenGradersError`: stock
nbgrader then logs the error, removes this submission's autograded notebook
and records no score for it, and the batch reports the submission as "could
not be graded" with the error's sentence. Keeping nbgrader's own result
instead would score the visible checks, which the student controls. Only a
notebook the graders could not read (the student's doing) is scored, 0 in
every graded cell, with the reason.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Int, Unicode

from dlcourse.grading import DEFAULT_MEMORY_BYTES, GRADERS_FAILED, run_hidden_graders
from dlcourse.nbgrader_ext.report import format_cell_report, format_score

# resources key: grade_ids whose hidden checks did not all run
NEEDS_REVIEW = "dlcourse_needs_review"
# starts the autograde log's line naming them (the batch looks for it)
GRADER_ERROR = "GRADER ERROR"


class HiddenGradersError(RuntimeError):
    """The hidden graders could not grade this notebook (the course's
    failure). The message is one line starting with GRADERS_FAILED, which
    the batch finds in nbgrader's log and reports as the reason."""


def _graded_code_cells(nb) -> list[str]:
    """grade_ids of the cells the hidden graders must score."""
    ids = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            ids.append(str(meta.get("grade_id")))
    return ids


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

    memory_bytes = Int(
        DEFAULT_MEMORY_BYTES,
        help="Address-space limit (RLIMIT_AS, bytes) of the graders' own process; 0: none. "
        "torch reserves a few GiB of virtual memory, so keep this generous.",
    ).tag(config=True)

    judge_real_run = Bool(
        True,
        help="Checks of what the whole notebook produced judge nbgrader's own run first "
        "and run the graders' isolated notebook only for the cells that run fails "
        "(off: always the isolated run).",
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
            if _graded_code_cells(nb):
                # its graded cells would keep the visible checks' result
                self.fail(
                    f"the notebook {notebook} has graded cells but only {assignment}.ipynb "
                    "is graded by the hidden graders"
                )
            self.log.warning(
                "Notebook %s is not graded by hidden graders (only %s.ipynb is)",
                notebook,
                assignment,
            )
            return nb, resources
        report = self.run_graders(nb, root, graders, resources)
        try:
            review = self.apply(nb, report)
            # read by SaveAutoGradesForReview, after the cells are scored
            resources[NEEDS_REVIEW] = review
            if review:
                self.log_grader_errors(report, info.get("student"), review)
        except HiddenGradersError as exc:
            # the graders' output, indented so that no line of it (failure
            # messages quote the student's code) reads as nbgrader's own
            output = "\n".join("    | " + line for line in report.get("log", "").splitlines())
            self.log.error(
                "Hidden graders %s could not grade %s: %s\n%s",
                graders,
                info.get("student"),
                exc,
                output,
            )
            raise
        finally:
            # kept for the instructor whether or not it could score the notebook
            self.save_report(root, info, report)
        return nb, resources

    def log_grader_errors(self, report: dict, student, review: list[str]) -> None:
        """Tell the instructor, in the autograde log, which checks could not
        run and why (the graders' tracebacks): those cells are flagged for
        grading by hand, never silently scored."""
        lines = []
        for grade_id in review:
            for check in report["cells"][grade_id].get("grader_errors", []):
                trace = str(check.get("traceback") or check.get("message", ""))
                lines.append(f"{grade_id}: {check.get('check')}: {check.get('message')}")
                lines.extend("    | " + line for line in trace.splitlines()[-40:])
        self.log.error(
            "%s: the hidden graders could not run some checks of %s (cells %s are flagged "
            "for manual grading):\n%s",
            GRADER_ERROR,
            student,
            ", ".join(review),
            "\n".join(lines),
        )

    def fail(self, problem: str, report: dict | None = None) -> None:
        """Raise HiddenGradersError: this notebook cannot be graded. The
        sentence (one line) also becomes the saved report's ``error``."""
        sentence = " ".join(str(problem).split())[:600]
        if not sentence.startswith(GRADERS_FAILED):
            sentence = f"{GRADERS_FAILED}: {sentence}"
        if report is not None:
            report["error"] = sentence
        raise HiddenGradersError(sentence + " (the instructor has been told)")

    def save_report(self, root: Path, info: dict, report: dict) -> None:
        """Keep the grade report for the instructor's exports, outside the
        student's folders: ``reports/<assignment>/<student>/<notebook>.json``."""
        from dlcourse.reports.store import write_report

        try:
            write_report(root, info["assignment"], info["student"], info["notebook"], report)
        except OSError as exc:
            self.log.error("Could not save the grade report: %s", exc)

    def run_graders(self, nb, root: Path, graders: Path, resources) -> dict:
        """The grade report of ``nb`` (see dlcourse.grading.run_hidden_graders)."""
        with tempfile.TemporaryDirectory(prefix="dlcourse-nb-") as tmp:
            submission = Path(tmp) / "submission.ipynb"
            nbformat.write(nb, str(submission))
            report = run_hidden_graders(
                submission,
                graders.name,
                root,
                self.timeout,
                graders_dir=self.graders_dir,
                memory_bytes=self.memory_bytes or None,
                real_run_files=self.judged_run_files(resources, Path(tmp) / "produced"),
            )
        return report

    def judged_run_files(self, resources, target: Path) -> Path | None:
        """:meth:`real_run_files`, unless files were submitted beside the
        notebook: nbgrader's run could read them, and a file it wrote may be
        one of them copied or converted (weights trained elsewhere, saved
        again under the name the graders measure), which the isolated run,
        in an empty folder, would never have. Then None: the isolated run
        judges what the notebook produced."""
        from dlcourse.nbgrader_ext.sandboxed_kernel import SUBMITTED

        if resources.get(SUBMITTED):
            self.log.info(
                "files were submitted beside the notebook (%s): the isolated run judges "
                "what it produces",
                ", ".join(map(repr, resources[SUBMITTED][:5])),
            )
            return None
        return self.real_run_files(resources, target)

    def real_run_files(self, resources, target: Path) -> Path | None:
        """A folder holding copies of the files nbgrader's run of this
        notebook wrote (SandboxedExecute lists them; nothing submitted beside
        the notebook is among them), so that the graders judge that run
        before running the notebook again; None when there is no such run."""
        from dlcourse.nbgrader_ext.sandboxed_kernel import PRODUCED
        from dlcourse.sandbox.harvest import harvest

        produced = resources.get(PRODUCED)
        folder = resources.get("metadata", {}).get("path")
        if not self.judge_real_run or produced is None or not folder:
            return None
        target.mkdir()
        copied = harvest(
            folder, target, skip=tuple(n for n in os.listdir(folder) if n.endswith(".ipynb"))
        )
        for rel in set(copied.copied) - set(produced):
            (target / rel).unlink()
        return target

    def apply(self, nb, report: dict) -> list[str]:
        """Write each graded cell's hidden result into it; returns the
        grade_ids of the cells where a check could not run (they need the
        instructor). Raises HiddenGradersError when the report cannot score
        every graded cell."""
        if report.get("error"):
            self.fail(report["error"], report)
        cells = report.get("cells")
        if not isinstance(cells, dict) or not report.get("tests"):
            self.fail("no hidden check ran", report)
        reason = report.get("submission_error")
        if not reason:
            missing = [g for g in _graded_code_cells(nb) if _fraction(cells.get(g)) is None]
            if missing:
                # nbgrader's sanitizing left only the gradebook's graded cells
                # (an unknown grade_id fails its metadata check), so a missing
                # one is the graders' gap. Checked before any cell is changed.
                self.fail(f"no hidden result for the graded cells {', '.join(missing)}", report)
        review = []
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            grade_id = meta.get("grade_id")
            points = float(meta.get("points", 0))
            if reason:
                # the student's notebook could not be read: 0, with the reason
                score, text = 0.0, f"Not graded: {reason}.\n"
            else:
                result = cells[grade_id]
                score = min(max(float(result["score"]), 0.0), points)
                text = format_cell_report(grade_id, result, score, points)
                if result.get("grader_errors"):
                    review.append(grade_id)
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text=text),
                nbformat.v4.new_output(
                    "execute_result",
                    data={
                        # read by nbgrader as the cell's partial credit: exact
                        "text/plain": repr(float(round(score, 4))),
                        # what the feedback page shows instead (3.69, not 3.6923)
                        "text/html": f"<pre>{format_score(score)}</pre>",
                    },
                    execution_count=cell.get("execution_count"),
                ),
            ]
        return review


def _fraction(result) -> float | None:
    """The fraction of a cell's hidden checks passed, None when there is no
    usable result (a missing cell, no check, a score that is not a number)."""
    if not isinstance(result, dict) or result.get("fraction") is None:
        return None
    try:
        float(result["score"])
    except (KeyError, TypeError, ValueError):
        return None
    return float(result["fraction"])
