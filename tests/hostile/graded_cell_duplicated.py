"""The reference with test_linear and the softmax answer cell copied to the end.

expect: graded
total: full
measured: DeduplicateIdsSafely keeps the last copy ("exists multiple times; using the last one"); 22/22.
"""

import copy


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    reference.cells.append(copy.deepcopy(_cell(reference, "test_linear")))
    reference.cells.append(copy.deepcopy(_cell(reference, "softmax")))
    return {"02_layers.ipynb": reference}
