"""Class 7: a blank notebook whose answers are objects equal to everything (the visible checks pass) tries to break the hidden graders' collection: links and files named conftest.py, pytest.ini, test_zz.py and __init__.py in its folder, and writes through ../../../graders/. If the graders failed open, nbgrader's own result (full marks from the neutralised visible checks) would stand.

expect: graded
total: 0
"""

import copy

from _attack import PASS_EVERYTHING, cell_of

CODE = f"""
import os
for _name in ("conftest.py", "test_zz.py", "__init__.py"):
    open(_name, "w").write({PASS_EVERYTHING!r})
open("pytest.ini", "w").write("[pytest]\\naddopts = -p no:dlcourse --co\\n")
for _t in ("../../../graders/02_layers/conftest.py", "../../../graders/02_layers/test_softmax.py"):
    try:
        open(_t, "w").write("raise SystemExit(0)\\n")
    except OSError as _e:
        print("NOT WRITTEN", _t, type(_e).__name__)
    try:
        os.symlink(_t, os.path.basename(_t))
    except OSError:
        pass


class _Everything:
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False
    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    def __getattr__(self, name):
        return self
    def __call__(self, *a, **k):
        return self
    def __iter__(self):
        return iter([self, self])
    def __len__(self):
        return 2
    def __float__(self):
        return 0.0
    def __getitem__(self, key):
        return self
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __call__
"""


def make(release, reference):
    nb = copy.deepcopy(release)
    everything = "identity = relu = sigmoid = tanh = _Everything()\n"
    cell_of(nb, "activations").source = CODE + "\n" + everything
    cell_of(nb, "softmax").source = "softmax = _Everything()\n"
    return {"02_layers.ipynb": nb}
