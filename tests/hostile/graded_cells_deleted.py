"""The reference with every autograded (test_*) cell deleted.

expect: manual   # every cell "needs manual grading"
total: 0
measured: through the batch (2026-11-26): total 0, every graded cell "needs manual grading". nbgrader flags each missing grade cell for manual grading; all 13 cells "needs manual grading", autograded total 0; batch continues.
"""


def make(release, reference):
    reference.cells = [
        c
        for c in reference.cells
        if not (c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade"))
    ]
    return {"02_layers.ipynb": reference}
