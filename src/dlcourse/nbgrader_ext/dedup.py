"""nbgrader preprocessor: a DeduplicateIds that never aborts the batch.

Stock ``DeduplicateIds`` empties the nbgrader metadata of a duplicated cell
(``{}``), which later preprocessors reject, ending the whole autograde run. A
student who copies a graded cell must lose nothing but that copy: this one
keeps the last occurrence (as nbgrader does), removes the metadata key of the
others entirely, and records what it did in the notebook metadata so the
report can say so.
"""

from __future__ import annotations

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor


class DeduplicateIdsSafely(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        seen: set[str] = set()
        duplicates: list[str] = []
        for cell in reversed(nb.cells):
            meta = cell.get("metadata", {})
            if "nbgrader" not in meta:
                continue
            if not isinstance(meta["nbgrader"], dict) or not (
                utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell)
            ):
                continue
            grade_id = meta["nbgrader"].get("grade_id")
            if grade_id is None:
                del meta["nbgrader"]
                continue
            if grade_id in seen:
                self.log.warning(
                    "Cell with id '%s' exists multiple times; using the last one", grade_id
                )
                del meta["nbgrader"]
                duplicates.append(grade_id)
            else:
                seen.add(grade_id)
        if duplicates:
            nb.metadata.setdefault("dlcourse", {})["duplicated_cells"] = sorted(set(duplicates))
        return nb, resources
