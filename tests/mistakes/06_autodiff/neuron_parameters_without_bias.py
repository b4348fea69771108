r"""Neuron.parameters() lists the weights but not the bias.

cell: nn
loses: test_training
symptom: MLP\(2, \[3, 2, 1\]\)\.parameters\(\) has 14 entries
"""


def _parameters(self):
    return list(self.w)


Neuron.parameters = _parameters
