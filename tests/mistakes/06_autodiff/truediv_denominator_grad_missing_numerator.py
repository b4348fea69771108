r"""The derivative of a / b with respect to b written as -1 / b**2 (forgets the numerator a).

cell: value
loses: test_arithmetic
symptom: __truediv__: d\(v / w\)/dw at
"""


def _truediv(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data / other.data, (self, other), "/")

    def _backward():
        self.grad += out.grad / other.data
        other.grad -= out.grad / other.data**2

    out._backward = _backward
    return out


Value.__truediv__ = _truediv
