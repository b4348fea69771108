r"""__rsub__ computes self - other instead of other - self.

cell: value
loses: test_arithmetic
symptom: __rsub__: the value of -?[\d.]+ - v
"""


def _rsub(self, other):
    return self - other


Value.__rsub__ = _rsub
