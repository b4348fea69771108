r"""A forgotten transpose: dW computed as dY.T @ X.

cell: linear_layer
loses: test_linear
symptom: dW stored by backward has shape \(4, 3\); expected \(3, 4\)|dW stored by backward has shape
"""


def _backward(self, dY):
    self.dW = dY.T @ self.X
    self.db = dY.sum(axis=0)
    return dY @ self.W.T


Linear.backward = _backward
