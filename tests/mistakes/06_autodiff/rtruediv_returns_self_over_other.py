r"""__rtruediv__ computes self / other instead of other / self.

cell: value
loses: test_arithmetic
symptom: __rtruediv__: the value of -?[\d.]+ / v
"""


def _rtruediv(self, other):
    return self / other


Value.__rtruediv__ = _rtruediv
