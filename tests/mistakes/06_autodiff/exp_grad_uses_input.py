r"""exp's backward multiplies by the input x instead of by e**x (out.data).

cell: value
loses: test_functions
symptom: exp: d exp\(v\)/dv at v
"""


def _exp(self):
    out = Value(math.exp(self.data), (self,), "exp")

    def _backward():
        self.grad += self.data * out.grad

    out._backward = _backward
    return out


Value.exp = _exp
