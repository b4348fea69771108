"""Control: the blank release handed in unchanged.

reason: NotImplementedError
expect: graded
total: 0
measured: 0/22, every failed check names NotImplementedError.
"""


def make(release, reference):
    return {"02_layers.ipynb": release}
