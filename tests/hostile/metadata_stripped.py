"""The reference with every cell's nbgrader metadata stripped (pasted into a fresh notebook).

expect: manual   # every cell "needs manual grading" (a third status; not graded, not ungradable)
total: 0
reason: is not defined
measured: through the batch (2026-11-26): total 0, all "needs manual grading", with the graders' sentences. nbgrader finds none of its grade cells: all 13 cells are "needs manual grading", autograded total 0; the hidden graders ran and report e.g. "softmax is not defined: the answer cell 'softmax' must define it (was the cell deleted ...)".
"""


def make(release, reference):
    for cell in reference.cells:
        cell.metadata.pop("nbgrader", None)
    reference.metadata.pop("nbgrader", None)
    return {"02_layers.ipynb": reference}
