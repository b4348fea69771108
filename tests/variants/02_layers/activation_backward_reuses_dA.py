r"""ActivationLayer.backward multiplies the incoming gradient in place and returns it (allowed: backward may reuse dA).

cell: activation_layers
"""


class ActivationLayer:
    """Elementwise activation A = fn(Z); has no parameters."""

    def __init__(self, fn, fn_grad):
        self.fn = fn
        self.fn_grad = fn_grad
        self.Z = None

    def forward(self, Z):
        self.Z = Z
        return self.fn(Z)

    def backward(self, dA):
        dA *= self.fn_grad(self.Z)
        return dA

    def step(self, lr):
        pass


class ReLU(ActivationLayer):
    def __init__(self):
        super().__init__(relu, relu_grad)


class Sigmoid(ActivationLayer):
    def __init__(self):
        super().__init__(sigmoid, sigmoid_grad)


class Tanh(ActivationLayer):
    def __init__(self):
        super().__init__(tanh, tanh_grad)


class Identity(ActivationLayer):
    def __init__(self):
        super().__init__(identity, identity_grad)
