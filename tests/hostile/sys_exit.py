"""sys.exit() at top level of the softmax answer cell, after the definitions (rest = reference).

expect: graded
total: 20
reason: SystemExit
measured: IPython absorbs SystemExit in the kernel; the hidden graders re-run the cell, which raises SystemExit: test_softmax 0/2 ("cell 'softmax' raised SystemExit"), all else full.
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    c = _cell(reference, "softmax")
    c.source += "\n\nimport sys\nsys.exit()\n"
    return {"02_layers.ipynb": reference}
