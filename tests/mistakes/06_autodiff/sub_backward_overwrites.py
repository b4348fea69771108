r"""__sub__'s backward closure assigns (=) instead of accumulating (+=) into the operands' grad.

cell: value
loses: test_arithmetic
symptom: __sub__: d\(v - v\)/dv
"""


def _sub(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data - other.data, (self, other), "-")

    def _backward():
        self.grad = out.grad
        other.grad = -out.grad

    out._backward = _backward
    return out


Value.__sub__ = _sub
