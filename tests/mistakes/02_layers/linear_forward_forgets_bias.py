r"""A forward pass that leaves out the bias: Y = X @ W.

cell: linear_layer
loses: test_linear
symptom: Linear\(4, 3\)\.forward\(X\) for X of shape .* is wrong at index
"""


def _forward(self, X):
    self.X = X
    return X @ self.W


Linear.forward = _forward
