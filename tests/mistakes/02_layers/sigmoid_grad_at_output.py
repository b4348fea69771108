r"""The sigmoid derivative evaluated at sigmoid(z) instead of at z.

cell: activations
loses: test_activations
symptom: sigmoid_grad\(z\) is wrong.*evaluated at sigmoid\(z\)
"""


def sigmoid_grad(z):
    s = sigmoid(sigmoid(z))
    return s * (1.0 - s)
