r"""Negation returns a fresh Value of -data that is not connected to the graph.

cell: value
loses: test_arithmetic
symptom: __neg__: the result of -v does not hold its operands in _prev
"""


def _neg(self):
    return Value(-self.data)


Value.__neg__ = _neg
