r"""The tanh derivative written with the input: 1 - x**2 instead of 1 - tanh(x)**2.

cell: value
loses: test_functions
symptom: tanh: d tanh\(v\)/dv at v = .* the derivative of tanh
"""


def _tanh(self):
    t = math.tanh(self.data)
    out = Value(t, (self,), "tanh")

    def _backward():
        self.grad += (1.0 - self.data**2) * out.grad

    out._backward = _backward
    return out


Value.tanh = _tanh
