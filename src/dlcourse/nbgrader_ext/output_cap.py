"""nbgrader preprocessor: cap the bytes of output a cell may keep.

nbgrader's LimitOutput counts lines, so a hundred lines of a megabyte each
(or one line of 100 MB) pass and bloat the autograded notebook, the
gradebook's copy and the feedback page. This keeps the first ``max_bytes``
of each cell's text outputs and says how much was cut.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer


class CapOutputBytes(NbGraderPreprocessor):
    max_bytes = Integer(200_000, help="Most bytes of text output kept per cell.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if "outputs" not in cell:
            return cell, resources
        budget = self.max_bytes
        kept = []
        for output in cell.outputs:
            if output.get("output_type") == "stream":
                text = output.get("text", "")
                if budget <= 0:
                    continue  # already cut above: drop the rest of the stream
                if len(text) > budget:
                    output["text"] = (
                        text[:budget]
                        + f"\n... [{len(text) - budget:,} more characters of output were cut]\n"
                    )
                budget -= len(text)
            kept.append(output)
        cell.outputs = kept
        return cell, resources
