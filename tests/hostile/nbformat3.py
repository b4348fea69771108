"""The honest reference saved in nbformat 3 (old Jupyter / converted).

expect: graded
total: full
measured: nbgrader upgrades it to v4 on reading; 22/22.
"""

import nbformat


def make(release, reference):
    v3 = nbformat.convert(reference, 3)
    return {"02_layers.ipynb": nbformat.writes(v3, version=3).encode()}
