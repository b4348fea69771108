"""An empty (0-byte) notebook file.

reason: not a readable notebook|could not autograde
expect: ungradable
total: any
measured: nbgrader: JSONDecodeError "Expecting value: line 1 column 1 (char 0)", notebook dropped, batch continues; could not be graded.
"""


def make(release, reference):
    return {"02_layers.ipynb": b""}
