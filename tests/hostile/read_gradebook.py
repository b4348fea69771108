"""The reference, plus code in the first answer cell that reads gradebook.db (relative ../../../ and absolute) and prints it.

expect: graded
total: full
measured: "GRADEBOOK NOT READ ... FileNotFoundError" for ../../../gradebook.db, its absolute path and ../../gradebook.db; 22/22.
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


PROBE = """

import os as _os
for _p in ("../../../gradebook.db", _os.path.abspath("../../../gradebook.db"), "../../gradebook.db"):
    try:
        with open(_p, "rb") as _fh:
            print("GRADEBOOK READ", _p, _fh.read(600))
    except Exception as _e:
        print("GRADEBOOK NOT READ", _p, repr(_e))
"""


def make(release, reference):
    _cell(reference, "activations").source += PROBE
    return {"02_layers.ipynb": reference}
