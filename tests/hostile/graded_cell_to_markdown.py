"""The reference with the test_linear graded code cell turned into markdown.

expect: graded
total: full
measured: through the batch (2026-11-26): 22/22. nbgrader restores test_linear as a code cell (same warning as answer_cell_to_markdown); 22/22.
"""

import nbformat


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    i = reference.cells.index(_cell(reference, "test_linear"))
    old = reference.cells[i]
    reference.cells[i] = nbformat.v4.new_markdown_cell(old.source, metadata=old.metadata)
    return {"02_layers.ipynb": reference}
