r"""Linear.backward adds to dW and db (+=) instead of replacing them, as the contract says.

cell: linear_layer
loses: test_linear
symptom: dW stored by backward .* is wrong.*does not add
"""


def _backward(self, dY):
    self.dW += self.X.T @ dY
    self.db += dY.sum(axis=0)
    return dY @ self.W.T


Linear.backward = _backward
