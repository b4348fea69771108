r"""The textbook sigmoid 1 / (1 + exp(-z)): exp overflows for large negative logits.

cell: logistic_gradient
loses: test_logistic_gradient
symptom: sigmoid\(-1000\) raised a warning
"""


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))
