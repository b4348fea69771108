r"""The sigmoid derivative s (1 - s) evaluated at the input x instead of at s = sigmoid(x).

cell: value
loses: test_functions
symptom: sigmoid: d sigmoid\(v\)/dv at v
"""


def _sigmoid(self):
    x = self.data
    if x >= 0:
        s = 1.0 / (1.0 + math.exp(-x))
    else:
        e = math.exp(x)
        s = e / (1.0 + e)
    out = Value(s, (self,), "sigmoid")

    def _backward():
        self.grad += x * (1.0 - x) * out.grad

    out._backward = _backward
    return out


Value.sigmoid = _sigmoid
