"""The reference, plus code that overwrites another student's (honest_reference) notebook in submitted/ and autograded/, by ../../<other>/ relative to cwd and by absolute path.

expect: graded
total: full
measured: every write prints "WROTE" but lands in the sandbox's throwaway layer: submitted/honest_reference and autograded/honest_reference are untouched (mtimes, contents) and honest_reference still gets 22/22. Note: the attacker is graded before the victim (alphabetical order); the victim's files written after its own grading were not tested.
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


PROBE = """

import os as _os
_bad = b'{"PWNED_BY_ATTACKER": 1}'
_targets = ["../../honest_reference/02_layers/02_layers.ipynb",
            "../../../submitted/honest_reference/02_layers/02_layers.ipynb",
            "../../../autograded/honest_reference/02_layers/02_layers.ipynb"]
_targets += [_os.path.abspath(_t) for _t in _targets]
for _t in _targets:
    try:
        _os.makedirs(_os.path.dirname(_t), exist_ok=True)
        with open(_t, "wb") as _fh:
            _fh.write(_bad)
        print("WROTE", _t)
    except Exception as _e:
        print("NOT WRITTEN", _t, repr(_e))
"""


def make(release, reference):
    _cell(reference, "activations").source += PROBE
    return {"02_layers.ipynb": reference}
