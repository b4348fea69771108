"""nbgrader configuration of the course (read by every nbgrader command run
from this folder; see README.md)."""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader import __file__ as _nbgrader_init
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
)

from dlcourse.nbgrader_ext.dedup import DeduplicateIdsSafely
from dlcourse.nbgrader_ext.feedback import StripHiddenFeedback
from dlcourse.nbgrader_ext.hidden_graders import HiddenGraders
from dlcourse.nbgrader_ext.needs_review import SaveAutoGradesForReview
from dlcourse.nbgrader_ext.offline_math import FEEDBACK_FILTERS, TEMPLATE, TEMPLATES_DIR
from dlcourse.nbgrader_ext.output_cap import CapOutputBytes
from dlcourse.nbgrader_ext.sandboxed_kernel import SandboxedExecute
from dlcourse.nbgrader_ext.sanitize import FILTERS as SANITIZING_FILTERS
from dlcourse.nbgrader_ext.sanitize import SanitizeOutputs
from dlcourse.nbgrader_ext.submitted_files import install as refuse_unsafe_submissions

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "dl-first-principles"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")


# A submission holding links, FIFOs, hard links or oversized files is refused
# (with the reason in the log) before nbgrader copies any of it.
refuse_unsafe_submissions()

# Autograde: stock sanitizing, with a DeduplicateIds that does not abort the batch.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIdsSafely,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
# ... and the hidden graders right after the notebook has been executed.
c.Autograde.autograde_preprocessors = [
    SandboxedExecute,
    HiddenGraders,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    CapOutputBytes,
    # SaveAutoGrades, also flagging cells whose hidden checks could not run
    SaveAutoGradesForReview,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.HiddenGraders.graders_dir = "graders"

# Student notebooks run in a confined kernel: no network, the course folder
# hidden except the notebook's own folder, and these resource limits.
c.SandboxedKernelManager.course_root = c.CourseDirectory.root
c.SandboxedKernelManager.limits = {
    "cpu_seconds": 1800,
    "memory_bytes": 8 * 1024**3,
    "processes": 128,
    "file_bytes": 256 * 1024**2,
    "open_files": 1024,
}

# Per-cell time limit while nbgrader executes a notebook. The longest honest
# cell is 05_fashion_mnist's final training: 30 s here (10 epochs, one
# thread, measured with other work running); every other cell takes seconds.
# 120 s leaves 4x for a busy grading machine and stops a runaway cell within
# two minutes (a cell that kills or wedges the kernel is skipped, see
# SandboxedExecute).
c.Execute.timeout = 120
# a busy grading machine can take a while to start a confined kernel
c.Execute.startup_timeout = 180
c.Execute.interrupt_on_timeout = True

# Feedback: hidden tests and tracebacks are stripped before rendering.
c.GenerateFeedback.preprocessors = [GetGrades, StripHiddenFeedback, CSSHTMLHeaderPreprocessor]
# Student HTML is inert in every page nbconvert renders from a submission: the
# feedback and the formgrader's submission view (both an HTMLExporter built from
# this file). Markdown and HTML are cleaned by nh3, scripts are dropped; see
# dlcourse/nbgrader_ext/sanitize.py.
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = SANITIZING_FILTERS
c.HTMLExporter.preprocessors = [SanitizeOutputs]
# The feedback page is opened by the student, on their own machine, possibly
# offline: MathJax is written into the page (no CDN), behind a
# Content-Security-Policy that lets only MathJax run, and scores read 3.69 / 4
# (not 3.6923, 4.0). Template "dlcourse_feedback" is nbgrader's "feedback" with
# its MathJax macro replaced; see dlcourse/nbgrader_ext/offline_math.py. Set
# for the exporter GenerateFeedback makes (its child), so the formgrader's
# pages keep their own template and filters.
c.GenerateFeedback.HTMLExporter.template_name = TEMPLATE
c.GenerateFeedback.HTMLExporter.extra_template_basedirs = [
    TEMPLATES_DIR,
    # where nbgrader's own "feedback" template lives (GenerateFeedback's default)
    os.path.join(os.path.dirname(_nbgrader_init), "server_extensions", "formgrader", "templates"),
]
c.GenerateFeedback.HTMLExporter.filters = {**SANITIZING_FILTERS, **FEEDBACK_FILTERS}

# Students see a stub that fails clearly until they write their code.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
