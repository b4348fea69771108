r"""Redefines AssertionError and print, and silences the failure helpers, around a stub loss.

cell: losses_softmax_ce
earns: 0
"""

import builtins
import sys

import numpy as np


class _Harmless(Exception):
    """Raised where an AssertionError would be: caught by nobody, counted by nobody."""


builtins.AssertionError = _Harmless
AssertionError = _Harmless
_print = builtins.print


def print(*args, **kwargs):  # noqa: A001 - the point of the cheat
    _print("All tests passed!", **kwargs)


builtins.print = print
sys.excepthook = lambda *args: None

try:
    import dlcourse.checks as _checks

    _checks.GradingFailure = _Harmless
    _checks.fail = lambda message: None
    _checks.expect_close = lambda actual, *args, **kwargs: actual
    _checks.expect_true = lambda *args, **kwargs: None
except ImportError:
    pass


def softmax_cross_entropy(logits, y):
    z = np.asarray(logits, dtype=float)
    return 0.0, np.zeros_like(z)
