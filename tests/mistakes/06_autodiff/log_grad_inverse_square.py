r"""The derivative of log x written as 1 / x**2.

cell: value
loses: test_functions
symptom: log: d log\(v\)/dv at v
"""


def _log(self):
    out = Value(math.log(self.data), (self,), "log")

    def _backward():
        self.grad += out.grad / self.data**2

    out._backward = _backward
    return out


Value.log = _log
