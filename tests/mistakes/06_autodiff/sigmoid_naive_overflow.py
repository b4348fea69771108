r"""sigmoid computed as 1 / (1 + exp(-x)), which overflows for x = -1000.

cell: value
loses: test_functions
symptom: OverflowError
"""


def _sigmoid(self):
    s = 1.0 / (1.0 + math.exp(-self.data))
    out = Value(s, (self,), "sigmoid")

    def _backward():
        self.grad += s * (1.0 - s) * out.grad

    out._backward = _backward
    return out


Value.sigmoid = _sigmoid
