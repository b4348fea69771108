r"""Operations written through shared helpers (one node each): number-on-the-left forms build the node directly, sigmoid from tanh, tanh from expm1(-2|x|).

cell: value
"""


class Value:
    """A scalar in a computation graph: data, grad, and how to pass gradients to its operands."""

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op  # the operation that produced this node, for printing

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    # ---- given ---------------------------------------------------------------
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        assert isinstance(exponent, (int, float)), "only powers by a number"
        out = Value(self.data**exponent, (self,), f"**{exponent}")

        def _backward():
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), "ReLU")

        def _backward():
            self.grad += (1.0 if out.data > 0 else 0.0) * out.grad

        out._backward = _backward
        return out

    def __radd__(self, other):  # other + self
        return self + other

    def __rmul__(self, other):  # other * self
        return self * other

    # ---- Part 1: arithmetic ----------------------------------------------------
    @staticmethod
    def _as_value(x):
        return x if isinstance(x, Value) else Value(x)

    def __neg__(self):
        out = Value(-self.data, (self,), "neg")

        def _backward():
            self.grad -= out.grad

        out._backward = _backward
        return out

    def __sub__(self, other):
        return Value._difference(self, Value._as_value(other))

    def __rsub__(self, other):
        return Value._difference(Value._as_value(other), self)

    @staticmethod
    def _difference(a, b):
        out = Value(a.data - b.data, (a, b), "-")

        def _backward():
            a.grad += 1.0 * out.grad
            b.grad += -1.0 * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other):
        return Value._quotient(self, Value._as_value(other))

    def __rtruediv__(self, other):
        return Value._quotient(Value._as_value(other), self)

    @staticmethod
    def _quotient(a, b):
        out = Value(a.data / b.data, (a, b), "/")

        def _backward():
            a.grad += out.grad / b.data
            b.grad += -out.grad * out.data / b.data

        out._backward = _backward
        return out

    # ---- Part 2: functions ------------------------------------------------------
    def _unary(self, value, derivative, op):
        out = Value(value, (self,), op)

        def _backward():
            self.grad += derivative * out.grad

        out._backward = _backward
        return out

    def exp(self):
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self):
        return self._unary(math.log(self.data), 1.0 / self.data, "log")

    def tanh(self):
        # tanh x = sign(x) (1 - e^{-2|x|}) / (1 + e^{-2|x|}): only non-positive exponents
        e = math.expm1(-2.0 * abs(self.data))  # e^{-2|x|} - 1, exact near 0
        t = math.copysign(-e / (2.0 + e), self.data)
        return self._unary(t, 1.0 - t * t, "tanh")

    def sigmoid(self):
        # sigmoid x = (1 + tanh(x / 2)) / 2, finite everywhere
        s = 0.5 * (1.0 + math.tanh(0.5 * self.data))
        return self._unary(s, s * (1.0 - s), "sigmoid")

    # ---- Part 3: backpropagation --------------------------------------------
    def backward(self):
        """Set self.grad = 1 and run every node's _backward once, in reverse topological order."""
        order, visited = [], set()

        def visit(node):
            if node not in visited:
                visited.add(node)
                for child in node._prev:
                    visit(child)
                order.append(node)

        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
