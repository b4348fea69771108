r"""Neuron.__call__ leaves out the bias.

cell: nn
loses: test_training
symptom: the outputs of MLP\(3, \[4, 2\]\)
"""


def _neuron_call(self, x):
    act = Value(0.0)
    for wi, xi in zip(self.w, x):
        act = act + wi * xi
    return act.tanh() if self.nonlin else act


Neuron.__call__ = _neuron_call
