"""An endless busy loop at top level of the softmax answer cell, after the definitions (rest = reference).

expect: graded
total: 20
reason: time limit|endless loop
measured: through the batch (2026-11-26, Execute.timeout=60): 20/22 in 190 s, only test_softmax lost, with "did not finish within the time limit while running the notebook's code". With the corpus tool (Execute.timeout=15): nbgrader interrupts after 15 s (CellTimeoutError output) and goes on; the hidden graders' per-call limit stops the loop again: test_softmax 0/2 ("did not finish within the time limit while running the notebook's code (an endless loop, or much slower than needed)"), all else full.
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(reference, "softmax").source += "\n\nwhile True:\n    pass\n"
    return {"02_layers.ipynb": reference}
