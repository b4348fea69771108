r"""Gradient ascent: the update adds the gradient, W += lr * dW.

cell: linear_layer
loses: test_linear_update
symptom: W after step\(.*\) is wrong at index.*moves against the gradient
"""


def _step(self, lr):
    self.W += lr * self.dW
    self.b += lr * self.db


Linear.step = _step
