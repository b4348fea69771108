r"""The textbook sigmoid 1 / (1 + exp(-z)), which overflows for large negative z.

cell: activations
loses: test_activations
symptom: sigmoid\(-1000\) raised a warning
"""


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))
