"""A memory bomb at top level of the softmax answer cell: keeps appending 256 MB blocks of touched memory (rest = reference).

expect: graded
total: 20
reason: MemoryError
measured: kernel hits the 8 GB address-space limit (MemoryError) after the 15 s cell timeout; the hidden graders re-run the cell, MemoryError again: test_softmax 0/2, every other cell full.
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(
        reference, "softmax"
    ).source += "\n\n_hog = []\nwhile True:\n    _hog.append(b'x' * (256 * 1024 * 1024))\n"
    return {"02_layers.ipynb": reference}
