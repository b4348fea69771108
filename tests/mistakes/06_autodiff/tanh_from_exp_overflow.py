r"""tanh computed as (e^2x - 1) / (e^2x + 1), which overflows for large x.

cell: value
loses: test_functions
symptom: OverflowError
"""


def _tanh(self):
    e = math.exp(2.0 * self.data)
    t = (e - 1.0) / (e + 1.0)
    out = Value(t, (self,), "tanh")

    def _backward():
        self.grad += (1.0 - t * t) * out.grad

    out._backward = _backward
    return out


Value.tanh = _tanh
