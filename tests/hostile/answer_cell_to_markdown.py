"""The reference with the softmax answer cell turned into a markdown cell (its code is never run).

expect: graded
total: full
measured: nbgrader warns "Attribute 'cell_type' for cell softmax has changed! (should be: code, got: markdown)" and restores the code cell (OverwriteCells), so the code runs: 22/22.
"""

import nbformat


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    i = reference.cells.index(_cell(reference, "softmax"))
    old = reference.cells[i]
    new = nbformat.v4.new_markdown_cell(old.source, metadata=old.metadata)
    reference.cells[i] = new
    return {"02_layers.ipynb": reference}
