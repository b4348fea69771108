"""The honest reference plus an extra scratch notebook (a copy of the blank release) beside it.

expect: graded
total: full
measured: the extra notebook is skipped; 22/22.
"""


def make(release, reference):
    return {"02_layers.ipynb": reference, "scratch.ipynb": release}
