r"""A forgotten transpose: dW computed as dY.T @ X.

cell: linear_layer
loses: test_linear
symptom: dW stored by backward \(X: \(\d+, 4\), W: \(4, 3\)\) has shape \(3, 4\); expected \(4, 3\)
"""


def _backward(self, dY):
    self.dW = dY.T @ self.X
    self.db = dY.sum(axis=0)
    return dY @ self.W.T


Linear.backward = _backward
