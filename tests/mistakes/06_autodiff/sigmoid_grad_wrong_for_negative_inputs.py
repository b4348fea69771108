r"""sigmoid's stable branch for x < 0 is right, but its derivative there uses e (1 - e) with e = exp(x) instead of s (1 - s).

cell: value
loses: test_functions
symptom: sigmoid: d sigmoid\(v\)/dv at v = -
"""


def _sigmoid(self):
    x = self.data
    if x >= 0:
        s = 1.0 / (1.0 + math.exp(-x))
        d = s * (1.0 - s)
    else:
        e = math.exp(x)
        s = e / (1.0 + e)
        d = e * (1.0 - e)
    out = Value(s, (self,), "sigmoid")

    def _backward():
        self.grad += d * out.grad

    out._backward = _backward
    return out


Value.sigmoid = _sigmoid
