r"""An update that moves W but forgets the bias.

cell: linear_layer
loses: test_linear_update
symptom: b after step\(.*\) is wrong at index
"""


def _step(self, lr):
    self.W -= lr * self.dW


Linear.step = _step
