r"""relu zeroes the negatives of the caller's array (z[z < 0] = 0) and returns it.

cell: activations
loses: test_activations
symptom: relu\(z\) changed its argument z in place
"""


def relu(z):
    z[z < 0] = 0.0
    return z
