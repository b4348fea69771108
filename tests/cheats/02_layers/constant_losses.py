"""Losses that return constants: batch-invariant and "large when confidently
wrong" without computing anything.

cell: losses_bce
earns: 0
"""

import numpy as np


def binary_cross_entropy(p, y, eps=1e-12):
    return 10.0, np.zeros_like(np.asarray(p, dtype=float))
