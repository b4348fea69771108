r"""__sub__ written as self + (-other): two nodes, against the one-node-per-operation contract.

cell: value
loses: test_arithmetic
symptom: __sub__: the result of v - w does not hold its operands in _prev
"""


def _sub(self, other):
    return self + (-other)


Value.__sub__ = _sub
