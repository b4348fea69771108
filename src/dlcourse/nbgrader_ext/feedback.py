"""nbgrader preprocessor for feedback: nothing hidden reaches the student.

Removes ``### BEGIN HIDDEN TESTS`` regions from cell sources and reduces every
error output to its exception name and message, so tracebacks that pass
through grader or solution code are not shown.
"""

from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor

HIDDEN = re.compile(
    r"^[ \t]*###\s*BEGIN HIDDEN TESTS.*?###\s*END HIDDEN TESTS[^\n]*\n?", re.S | re.M
)


class StripHiddenFeedback(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if isinstance(cell.get("source"), str) and "HIDDEN TESTS" in cell.source:
            cell.source = HIDDEN.sub("", cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [
                    f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                ]
        return cell, resources
