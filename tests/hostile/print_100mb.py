"""100 MB of printed output from the softmax answer cell (rest = reference).

expect: graded
total: full
measured: 22/22, but the autograded notebook is 104,904,464 bytes: LimitOutput caps the number of lines (1000), not bytes, and the output is 100 lines of 1 MB.
fixed: outputs are capped at 200 kB per cell (CapOutputBytes); before, the autograded notebook kept 104,904,464 bytes and the feedback page 105,081,088
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(
        reference, "softmax"
    ).source += "\n\nfor _i in range(100):\n    print('x' * (1024 * 1024 - 1))\n"
    return {"02_layers.ipynb": reference}
