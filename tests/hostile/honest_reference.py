"""Control: the honest reference solution (also the victim of attack_other_student).

expect: graded
total: full
measured: 22/22 in every batch it was in.
"""


def make(release, reference):
    return {"02_layers.ipynb": reference}
