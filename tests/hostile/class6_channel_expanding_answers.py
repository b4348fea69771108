"""Class 6: the blank notebook's softmax answers with values that are small on the wire and huge once parsed (a list of 20 million zeros, 100,000 nested lists, a 1,000,000-digit integer); the graders' process must refuse them before allocating, and the cell is the student's failure, never a grader error.

expect: graded
total: 0
"""

import copy

from _attack import cell_of

CODE = """
import numpy as np
_calls = [0]

def softmax(z):
    _calls[0] += 1
    kind = _calls[0] % 3
    if kind == 0:
        return [0] * 20_000_000
    if kind == 1:
        nested = []
        for _ in range(100_000):
            nested = [nested]
        return nested
    import sys
    sys.set_int_max_str_digits(0)
    return 10 ** 1_000_000
"""


def make(release, reference):
    nb = copy.deepcopy(release)
    cell_of(nb, "softmax").source = CODE
    return {"02_layers.ipynb": nb}
